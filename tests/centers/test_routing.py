"""The 19 centres as data, and address -> centre routing (``api.centers.routing.resolve``)."""

from __future__ import annotations

import dataclasses
import json
import re
from importlib.resources import files

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from api.centers import evaluate
from api.centers.data import (CENTER_CODES, CENTERS, CENTERS_BY_CODE, CONTACT_FIELDS, CenterInfo, code_for, get_center,
                              valid_codes_text)
from api.centers.routing import DAEJIN_SIGUNGU, Region, Resolution, Route, centers_for, resolve

REGIONS = json.loads((files("api.centers") / "regions.json").read_text(encoding="utf-8"))


def routed(address: str) -> Route:
    result = resolve(address)
    assert result.route is not None, f"{address!r} did not route: {result}"
    assert result.candidates == []
    return result.route


def candidates(address: str) -> dict[str, Region]:
    result = resolve(address)
    assert result.route is None, f"{address!r} routed to {result.route} instead of being ambiguous"
    assert len(result.candidates) >= 2, f"{address!r}: {result}"
    return {c.center_code: c.region for c in result.candidates}


# --- the centres as data -----------------------------------------------------------------------------

def test_nineteen_centres_in_the_agreed_order():
    assert CENTER_CODES == (
        "seoul", "busan", "daegu", "gwangju", "incheon", "daejeon", "ulsan", "sejong", "gyeonggi", "gangwon",
        "chungbuk", "chungnam", "jeonbuk", "jeonnam", "gyeongbuk", "gyeongnam", "jeju", "gyeonggi-daejin",
        "pohang",
    )
    assert len(set(CENTER_CODES)) == 19


@pytest.mark.parametrize("code, name, host", [
    pytest.param("seoul", "서울 스마트제조혁신센터", "서울테크노파크", id="seoul"),
    pytest.param("sejong", "세종 스마트제조혁신센터", "세종테크노파크 (2019년 세종지역산업기획단)", id="sejong"),
    pytest.param("gyeonggi-daejin", "경기대진 스마트제조혁신센터", "경기대진테크노파크", id="gyeonggi-daejin"),
    pytest.param("pohang", "포항 스마트제조혁신센터", "포항테크노파크", id="pohang"),
    pytest.param("jeonbuk", "전북 스마트제조혁신센터", "전북테크노파크", id="jeonbuk"),
])
def test_centre_names_and_hosts(code, name, host):
    center = get_center(code)
    assert (center.name, center.host) == (name, host)


def test_every_centre_is_complete():
    for center in CENTERS:
        assert center.name == f"{center.region} 스마트제조혁신센터"
        assert "테크노파크" in center.host
        assert center.phone is None or re.fullmatch(r"(0\d{1,2}-\d{3,4}-\d{4}|1\d{3}-\d{4})(~\d)?(, \d{4})?",
                                                    center.phone), center.phone
        assert center.website is None or center.website.startswith(("http://", "https://"))
        assert CENTERS_BY_CODE[center.code] is center
        # Every contact that is filled says where it comes from (a link to a public page).
        filled = {f for f in CONTACT_FIELDS if getattr(center, f)}
        assert set(center.sources) == filled, center.code
        assert all(re.match(r"https?://\S+\.\S+", center.sources[f]) for f in filled), center.code
    assert sum(1 for c in CENTERS if c.phone) == 19


def test_centre_records_are_frozen_and_unknown_codes_raise():
    with pytest.raises(dataclasses.FrozenInstanceError):
        CENTERS[0].phone = "02-000-0000"  # type: ignore[misc]
    with pytest.raises(KeyError):
        get_center("mars")
    assert isinstance(CENTERS, tuple) and all(isinstance(c, CenterInfo) for c in CENTERS)


@pytest.mark.parametrize("name, code", [
    ("gyeonggi", "gyeonggi"), ("경기", "gyeonggi"), ("경기대진", "gyeonggi-daejin"), ("포항", "pohang"),
    ("GYEONGGI-DAEJIN", "gyeonggi-daejin"), (" 포항 스마트제조혁신센터 ", "pohang"), ("경기대진 테크노파크", "gyeonggi-daejin"),
    ("세종테크노파크", "sejong"), ("충북TP", "chungbuk"), ("경북센터", "gyeongbuk"), ("경기북부", None), ("mars", None), ("", None),
])
def test_centres_are_found_by_code_or_korean_name(name, code):
    assert code_for(name) == code


def test_valid_codes_text_names_every_centre():
    text = valid_codes_text()
    assert text.startswith("seoul(서울), busan(부산)") and "gyeonggi-daejin(경기대진)" in text and "pohang(포항)" in text
    assert text.count("(") == 19


# --- every centre gets addresses ---------------------------------------------------------------------

@pytest.mark.parametrize("address, code, sido, sigungu", [
    pytest.param("서울특별시 금천구 가산디지털1로 168", "seoul", "서울특별시", "금천구", id="seoul-road-address"),
    pytest.param("서울 성동구 성수동2가", "seoul", "서울특별시", "성동구", id="seoul-seongsu"),
    pytest.param("부산광역시 강서구 녹산산업중로 333", "busan", "부산광역시", "강서구", id="busan-road-address"),
    pytest.param("부산 사상구 학장동", "busan", "부산광역시", "사상구", id="busan-sasang"),
    pytest.param("대구광역시 달서구 성서공단로 11", "daegu", "대구광역시", "달서구", id="daegu-road-address"),
    pytest.param("대구 달성군 구지면", "daegu", "대구광역시", "달성군", id="daegu-dalseong"),
    pytest.param("광주광역시 광산구 하남산단6번로 107", "gwangju", "광주광역시", "광산구", id="gwangju-road-address"),
    pytest.param("광주 북구 본촌동", "gwangju", "광주광역시", "북구", id="gwangju-buk"),
    pytest.param("인천광역시 남동구 남동대로 215", "incheon", "인천광역시", "남동구", id="incheon-road-address"),
    pytest.param("인천 부평구 청천동", "incheon", "인천광역시", "부평구", id="incheon-bupyeong"),
    pytest.param("대전광역시 유성구 테크노2로 187", "daejeon", "대전광역시", "유성구", id="daejeon-road-address"),
    pytest.param("대전 대덕구 문평동", "daejeon", "대전광역시", "대덕구", id="daejeon-daedeok"),
    pytest.param("울산광역시 울주군 온산읍", "ulsan", "울산광역시", "울주군", id="ulsan-onsan"),
    pytest.param("울산 북구 매곡동", "ulsan", "울산광역시", "북구", id="ulsan-buk"),
    pytest.param("세종특별자치시 조치원읍 군청로 93", "sejong", "세종특별자치시", None, id="sejong-road-address"),
    pytest.param("세종 전의면", "sejong", "세종특별자치시", None, id="sejong-jeonui"),
    pytest.param("경기도 안산시 단원구 산단로 163", "gyeonggi", "경기도", "안산시", id="gyeonggi-road-address"),
    pytest.param("경기 화성시 향남읍", "gyeonggi", "경기도", "화성시", id="gyeonggi-hwaseong"),
    pytest.param("강원특별자치도 원주시 문막읍", "gangwon", "강원특별자치도", "원주시", id="gangwon-munmak"),
    pytest.param("강원 춘천시", "gangwon", "강원특별자치도", "춘천시", id="gangwon-chuncheon"),
    pytest.param("충청북도 청주시 흥덕구 오송읍", "chungbuk", "충청북도", "청주시", id="chungbuk-osong"),
    pytest.param("충북 음성군 대소면", "chungbuk", "충청북도", "음성군", id="chungbuk-eumseong"),
    pytest.param("충청남도 천안시 서북구 직산읍", "chungnam", "충청남도", "천안시", id="chungnam-cheonan"),
    pytest.param("충남 당진시 석문면", "chungnam", "충청남도", "당진시", id="chungnam-dangjin"),
    pytest.param("전북특별자치도 군산시 오식도동", "jeonbuk", "전북특별자치도", "군산시", id="jeonbuk-gunsan"),
    pytest.param("전북 완주군 봉동읍", "jeonbuk", "전북특별자치도", "완주군", id="jeonbuk-wanju"),
    pytest.param("전라남도 영암군 삼호읍", "jeonnam", "전라남도", "영암군", id="jeonnam-yeongam"),
    pytest.param("전남 여수시 화치동", "jeonnam", "전라남도", "여수시", id="jeonnam-yeosu"),
    pytest.param("경상북도 구미시 공단동", "gyeongbuk", "경상북도", "구미시", id="gyeongbuk-gumi"),
    pytest.param("경북 경산시 진량읍", "gyeongbuk", "경상북도", "경산시", id="gyeongbuk-gyeongsan"),
    pytest.param("경상남도 창원시 성산구 웅남로 1", "gyeongnam", "경상남도", "창원시", id="gyeongnam-changwon"),
    pytest.param("경남 김해시 주촌면", "gyeongnam", "경상남도", "김해시", id="gyeongnam-gimhae"),
    pytest.param("제주특별자치도 제주시 첨단로 213-3", "jeju", "제주특별자치도", "제주시", id="jeju-road-address"),
    pytest.param("제주 서귀포시 대정읍", "jeju", "제주특별자치도", "서귀포시", id="jeju-seogwipo"),
    pytest.param("경기도 포천시 자작로 155", "gyeonggi-daejin", "경기도", "포천시", id="daejin-pocheon"),
    pytest.param("경기 파주시 월롱면", "gyeonggi-daejin", "경기도", "파주시", id="daejin-paju"),
    pytest.param("경상북도 포항시 남구 지곡로 394", "pohang", "경상북도", "포항시", id="pohang-road-address"),
    pytest.param("포항시 북구 흥해읍", "pohang", "경상북도", "포항시", id="pohang-heunghae"),
])
def test_every_centre_has_addresses(address, code, sido, sigungu):
    assert routed(address) == Route(code, Region(sido, sigungu))


def test_the_address_table_above_covers_every_centre():
    marks = test_every_centre_has_addresses.pytestmark
    rows = [p.values for m in marks if m.name == "parametrize" for p in m.args[1]]
    per_centre = {code: sum(1 for row in rows if row[1] == code) for code in CENTER_CODES}
    assert all(n >= 2 for n in per_centre.values()), per_centre


# --- region naming convention -------------------------------------------------------------------------

@pytest.mark.parametrize("address, region", [
    pytest.param("경북 포항시 남구 오천읍", Region("경상북도", "포항시"), id="pohang-gu-folded-into-city"),
    pytest.param("수원시 권선구", Region("경기도", "수원시"), id="suwon-gu-folded-into-city"),
    pytest.param("고양시 일산동구", Region("경기도", "고양시"), id="goyang-gu-folded-into-city"),
    pytest.param("서울 금천구 가산동", Region("서울특별시", "금천구"), id="autonomous-gu-kept"),
    pytest.param("세종시 소정면", Region("세종특별자치시", None), id="sejong-has-no-sigungu"),
    pytest.param("부산시", Region("부산광역시", None), id="province-only"),
    pytest.param("포천", Region("경기도", "포천시"), id="official-suffix-added"),
    pytest.param("진천", Region("충청북도", "진천군"), id="county-suffix-added"),
])
def test_region_convention(address, region):
    assert routed(address).region == region


def test_every_official_sigungu_routes_with_its_province():
    for sido, names in REGIONS["sigungu"].items():
        legacy = REGIONS["legacy_sigungu"].get(sido, {})
        for name in names:
            route = routed(f"{sido} {name}")
            # "인천 서구" written before the 2026-07 split may now be 검단구: the 구 stays open.
            expected = Region(sido, None) if len(legacy.get(name, [])) > 1 else Region(sido, name)
            assert route.region == expected, (sido, name, route)
            assert (route.center_code,) == centers_for(Region(sido, name))


def test_gyeonggi_is_split_between_the_two_centres_by_the_ten_northern_units():
    assert DAEJIN_SIGUNGU == {"고양시", "남양주시", "파주시", "의정부시", "양주시", "구리시", "포천시", "동두천시",
                              "가평군", "연천군"}
    gyeonggi = REGIONS["sigungu"]["경기도"]
    assert DAEJIN_SIGUNGU <= set(gyeonggi)
    for name in gyeonggi:
        expected = "gyeonggi-daejin" if name in DAEJIN_SIGUNGU else "gyeonggi"
        assert routed(f"경기 {name}").center_code == expected, name


# --- ambiguous names are never guessed ------------------------------------------------------------------

@pytest.mark.parametrize("address, expected", [
    pytest.param("고성", {"gangwon": Region("강원특별자치도", "고성군"), "gyeongnam": Region("경상남도", "고성군")},
                 id="goseong"),
    pytest.param("고성군", {"gangwon": Region("강원특별자치도", "고성군"), "gyeongnam": Region("경상남도", "고성군")},
                 id="goseong-gun"),
    pytest.param("광주", {"gwangju": Region("광주광역시", None), "gyeonggi": Region("경기도", "광주시")},
                 id="gwangju-bare"),
    pytest.param("광주시", {"gwangju": Region("광주광역시", None), "gyeonggi": Region("경기도", "광주시")},
                 id="gwangju-si"),
    pytest.param("강서구", {"seoul": Region("서울특별시", "강서구"), "busan": Region("부산광역시", "강서구")},
                 id="gangseo-gu"),
    pytest.param("경기", {"gyeonggi": Region("경기도", None), "gyeonggi-daejin": Region("경기도", None)},
                 id="gyeonggi-without-city"),
    pytest.param("경북", {"gyeongbuk": Region("경상북도", None), "pohang": Region("경상북도", None)},
                 id="gyeongbuk-without-city"),
    pytest.param("내촌면", {"gyeonggi-daejin": Region("경기도", "포천시"), "gangwon": Region("강원특별자치도", "홍천군")},
                 id="naechon-myeon-pocheon-or-hongcheon"),
    pytest.param("송도동", {"incheon": Region("인천광역시", "연수구"), "pohang": Region("경상북도", "포항시")},
                 id="songdo-dong-incheon-or-pohang"),
    pytest.param("공장은 김해, 본사는 서울", {"gyeongnam": Region("경상남도", "김해시"), "seoul": Region("서울특별시", None)},
                 id="two-places-named"),
])
def test_ambiguous_names_give_candidates(address, expected):
    assert candidates(address) == expected


@pytest.mark.parametrize("address, codes", [
    pytest.param("중구", {"seoul", "busan", "daegu", "incheon", "daejeon", "ulsan"}, id="jung-gu"),
    pytest.param("동구", {"busan", "daegu", "gwangju", "incheon", "daejeon", "ulsan"}, id="dong-gu"),
    pytest.param("남구", {"busan", "daegu", "gwangju", "incheon", "ulsan", "pohang"}, id="nam-gu"),
    pytest.param("북구", {"busan", "daegu", "gwangju", "ulsan", "pohang"}, id="buk-gu"),
    pytest.param("서구", {"busan", "daegu", "gwangju", "incheon", "daejeon"}, id="seo-gu"),
    pytest.param("신평동", {"busan", "daegu", "gyeongbuk", "gyeonggi-daejin"}, id="sinpyeong-dong"),
])
def test_district_names_shared_by_many_cities(address, codes):
    assert set(candidates(address)) == codes


def test_candidates_follow_the_centre_order():
    result = resolve("중구")
    order = [CENTER_CODES.index(c.center_code) for c in result.candidates]
    assert order == sorted(order)


@pytest.mark.parametrize("address, code, sigungu", [
    pytest.param("강원 고성", "gangwon", "고성군", id="gangwon-goseong"),
    pytest.param("경남 고성군", "gyeongnam", "고성군", id="gyeongnam-goseong"),
    pytest.param("고성읍", "gyeongnam", "고성군", id="goseong-eup-only-in-gyeongnam"),
    pytest.param("경기 광주", "gyeonggi", "광주시", id="gyeonggi-gwangju"),
    pytest.param("경기도 광주시 오포읍", "gyeonggi", "광주시", id="gyeonggi-gwangju-opo"),
    pytest.param("광주 오포읍", "gyeonggi", "광주시", id="gwangju-with-a-gyeonggi-town"),
    pytest.param("광주광역시", "gwangju", None, id="gwangju-metropolitan"),
    pytest.param("광주시 광산구", "gwangju", "광산구", id="gwangju-si-gwangsan"),
    pytest.param("광주 북구", "gwangju", "북구", id="gwangju-buk-gu"),
    pytest.param("광주 광산", "gwangju", "광산구", id="gwangju-gwangsan-without-suffix"),
    pytest.param("서울 중구", "seoul", "중구", id="seoul-jung-gu"),
    pytest.param("대구 중구", "daegu", "중구", id="daegu-jung-gu"),
    pytest.param("부산 강서구", "busan", "강서구", id="busan-gangseo"),
    pytest.param("포항 남구", "pohang", "포항시", id="pohang-nam-gu"),
    pytest.param("남구 대송면", "pohang", "포항시", id="nam-gu-with-a-pohang-town"),
    pytest.param("포항 송도동", "pohang", "포항시", id="pohang-songdo"),
])
def test_context_disambiguates(address, code, sigungu):
    route = routed(address)
    assert (route.center_code, route.region.sigungu) == (code, sigungu)


# --- special rules: 군위군, 포항 vs the rest of 경북 ----------------------------------------------------------

@pytest.mark.parametrize("address", [
    pytest.param("대구 군위군", id="daegu-gunwi"),
    pytest.param("대구광역시 군위군 군위읍", id="daegu-gunwi-eup"),
    pytest.param("경북 군위군", id="old-province-gyeongbuk"),
    pytest.param("경상북도 군위군 효령면", id="old-province-full-name"),
    pytest.param("군위군 (경북)", id="old-province-after-the-county"),
    pytest.param("군위", id="bare-gunwi"),
    pytest.param("효령면", id="bare-town-in-gunwi"),
])
def test_gunwi_belongs_to_daegu(address):
    assert routed(address) == Route("daegu", Region("대구광역시", "군위군"))


@pytest.mark.parametrize("address, code", [
    pytest.param("포항", "pohang", id="pohang"),
    pytest.param("포항시", "pohang", id="pohang-si"),
    pytest.param("경북 포항시 북구 흥해읍", "pohang", id="pohang-buk-gu"),
    pytest.param("오천읍", "pohang", id="ocheon-eup"),
    pytest.param("경주", "gyeongbuk", id="gyeongju"),
    pytest.param("경북 경주시 외동읍", "gyeongbuk", id="gyeongju-oedong"),
    pytest.param("경상북도 경주시", "gyeongbuk", id="gyeongju-full-province"),
    pytest.param("경북 영천시", "gyeongbuk", id="yeongcheon"),
    pytest.param("칠곡 왜관읍", "gyeongbuk", id="chilgok-waegwan"),
])
def test_pohang_versus_the_rest_of_gyeongbuk(address, code):
    assert routed(address).center_code == code


@pytest.mark.parametrize("address, code", [
    pytest.param("고양시 덕양구", "gyeonggi-daejin", id="north-goyang"),
    pytest.param("일산", "gyeonggi-daejin", id="north-ilsan"),
    pytest.param("남양주 진접읍", "gyeonggi-daejin", id="north-namyangju"),
    pytest.param("파주", "gyeonggi-daejin", id="north-paju"),
    pytest.param("의정부", "gyeonggi-daejin", id="north-uijeongbu"),
    pytest.param("양주시 은현면", "gyeonggi-daejin", id="north-yangju"),
    pytest.param("구리시", "gyeonggi-daejin", id="north-guri"),
    pytest.param("포천시 내촌면", "gyeonggi-daejin", id="north-pocheon"),
    pytest.param("동두천", "gyeonggi-daejin", id="north-dongducheon"),
    pytest.param("가평", "gyeonggi-daejin", id="north-gapyeong"),
    pytest.param("연천군 전곡읍", "gyeonggi-daejin", id="north-yeoncheon"),
    pytest.param("수원시 권선구", "gyeonggi", id="south-suwon"),
    pytest.param("분당", "gyeonggi", id="south-bundang"),
    pytest.param("동탄", "gyeonggi", id="south-dongtan"),
    pytest.param("용인 수지", "gyeonggi", id="south-yongin-suji"),
    pytest.param("평택 포승읍", "gyeonggi", id="south-pyeongtaek"),
    pytest.param("김포", "gyeonggi", id="west-gimpo-is-not-northern"),
    pytest.param("양평군", "gyeonggi", id="east-yangpyeong-is-not-northern"),
    pytest.param("하남", "gyeonggi", id="hanam-si-not-the-miryang-town"),
    pytest.param("부천 원미구", "gyeonggi", id="south-bucheon"),
])
def test_northern_gyeonggi_versus_the_rest(address, code):
    assert routed(address).center_code == code


# --- new and old names, abbreviations ---------------------------------------------------------------------

@pytest.mark.parametrize("address, code, sido, sigungu", [
    pytest.param("강원도 원주시", "gangwon", "강원특별자치도", "원주시", id="gangwon-old-name"),
    pytest.param("강원특별자치도 원주시", "gangwon", "강원특별자치도", "원주시", id="gangwon-new-name"),
    pytest.param("전라북도 군산시", "jeonbuk", "전북특별자치도", "군산시", id="jeonbuk-old-name"),
    pytest.param("전북특별자치도 군산시", "jeonbuk", "전북특별자치도", "군산시", id="jeonbuk-new-name"),
    pytest.param("전북 군산", "jeonbuk", "전북특별자치도", "군산시", id="jeonbuk-abbreviation"),
    pytest.param("제주도 서귀포시", "jeju", "제주특별자치도", "서귀포시", id="jeju-old-name"),
    pytest.param("제주특별자치도", "jeju", "제주특별자치도", None, id="jeju-new-name"),
    pytest.param("세종시", "sejong", "세종특별자치시", None, id="sejong-short"),
    pytest.param("세종특별자치시", "sejong", "세종특별자치시", None, id="sejong-full"),
    pytest.param("서울시", "seoul", "서울특별시", None, id="seoul-si"),
    pytest.param("충남 아산", "chungnam", "충청남도", "아산시", id="chungnam-abbreviation"),
    pytest.param("충청북도 충주시", "chungbuk", "충청북도", "충주시", id="chungbuk-full"),
    pytest.param("경남 거제", "gyeongnam", "경상남도", "거제시", id="gyeongnam-abbreviation"),
    pytest.param("전남 순천", "jeonnam", "전라남도", "순천시", id="jeonnam-abbreviation"),
    pytest.param("인천 남구", "incheon", "인천광역시", "미추홀구", id="incheon-nam-gu-renamed-michuhol"),
    pytest.param("인천 서구 마전동", "incheon", "인천광역시", "검단구", id="incheon-geomdan-2026"),
    pytest.param("여주군", "gyeonggi", "경기도", "여주시", id="yeoju-gun-became-si"),
    pytest.param("청원군 오창읍", "chungbuk", "충청북도", "청주시", id="cheongwon-merged-into-cheongju"),
    pytest.param("당진군", "chungnam", "충청남도", "당진시", id="dangjin-gun-became-si"),
    pytest.param("마산", "gyeongnam", "경상남도", "창원시", id="masan-merged-into-changwon"),
])
def test_new_and_old_names(address, code, sido, sigungu):
    assert routed(address) == Route(code, Region(sido, sigungu))


# --- spacing, suffixes, surrounding words --------------------------------------------------------------------

@pytest.mark.parametrize("address, code", [
    pytest.param("경기포천시", "gyeonggi-daejin", id="no-space-province-city"),
    pytest.param("충북진천군덕산읍", "chungbuk", id="no-space-three-levels"),
    pytest.param("경북포항시남구", "pohang", id="no-space-city-gu"),
    pytest.param("서울금천구가산동", "seoul", id="no-space-seoul"),
    pytest.param("경기도포천시내촌면진목리", "gyeonggi-daejin", id="no-space-down-to-ri"),
    pytest.param("경기도 포천 시", "gyeonggi-daejin", id="detached-si"),
    pytest.param("부산 광역시 해운대구", "busan", id="detached-gwangyeoksi"),
    pytest.param("포천군", "gyeonggi-daejin", id="typo-gun-for-si"),
    pytest.param("김해군", "gyeongnam", id="typo-gun-for-si-gimhae"),
    pytest.param("진천시", "chungbuk", id="typo-si-for-gun"),
    pytest.param("포천시 내촌읍", "gyeonggi-daejin", id="typo-eup-for-myeon"),
    pytest.param("진천", "chungbuk", id="suffix-omitted-jincheon"),
    pytest.param("김해", "gyeongnam", id="suffix-omitted-gimhae"),
    pytest.param("포천에 있어요", "gyeonggi-daejin", id="trailing-sentence"),
    pytest.param("공장은 김해", "gyeongnam", id="leading-words"),
    pytest.param("저희 공장은 경기도 화성시에 있습니다", "gyeonggi", id="full-sentence"),
    pytest.param("김해공장", "gyeongnam", id="attached-gongjang"),
    pytest.param("포천시청 근처", "gyeonggi-daejin", id="city-hall"),
    pytest.param("공장은 양산에 있어요", "gyeongnam", id="everyday-word-place-in-an-answer"),
    pytest.param("주소: 경상북도 포항시 남구 대송면 (우: 37874)", "pohang", id="punctuation-and-postcode"),
])
def test_spacing_suffixes_and_surrounding_words(address, code):
    assert routed(address).center_code == code


# --- bare 읍면동 names ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("address, code, sigungu", [
    pytest.param("가산동", "seoul", "금천구", id="gasan-dong"),
    pytest.param("가산1동", "seoul", "금천구", id="numbered-administrative-dong"),
    pytest.param("역삼1동", "seoul", "강남구", id="yeoksam-1-dong"),
    pytest.param("관저동", "daejeon", "서구", id="gwanjeo-dong"),
    pytest.param("태인동", "jeonnam", "광양시", id="taein-dong"),
    pytest.param("탕정면", "chungnam", "아산시", id="tangjeong-myeon"),
    pytest.param("노원동", "daegu", "북구", id="nowon-dong-written-without-ga"),
    pytest.param("대송면", "pohang", "포항시", id="daesong-myeon"),
    pytest.param("진접", "gyeonggi-daejin", "남양주시", id="eup-without-eup"),
])
def test_bare_town_names(address, code, sigungu):
    route = routed(address)
    assert (route.center_code, route.region.sigungu) == (code, sigungu)


# --- industrial complexes -------------------------------------------------------------------------------------

@pytest.mark.parametrize("address, code, sigungu", [
    pytest.param("반월공단", "gyeonggi", "안산시", id="banwol-gongdan"),
    pytest.param("반월산단", "gyeonggi", "안산시", id="banwol-sandan"),
    pytest.param("반월 국가산업단지", "gyeonggi", "안산시", id="banwol-spaced"),
    pytest.param("시화산단", "gyeonggi", "시흥시", id="sihwa-sandan"),
    pytest.param("시화MTV", "gyeonggi", "시흥시", id="sihwa-mtv"),
    pytest.param("남동공단", "incheon", "남동구", id="namdong-gongdan"),
    pytest.param("남동인더스파크", "incheon", "남동구", id="namdong-induspark"),
    pytest.param("녹산산단", "busan", "강서구", id="noksan"),
    pytest.param("녹산 산단", "busan", "강서구", id="noksan-spaced"),
    pytest.param("구미국가산단", "gyeongbuk", "구미시", id="gumi-national"),
    pytest.param("구미 국가산단", "gyeongbuk", "구미시", id="gumi-national-spaced"),
    pytest.param("포항철강산업단지", "pohang", "포항시", id="pohang-steel"),
    pytest.param("블루밸리", "pohang", "포항시", id="pohang-blue-valley"),
    pytest.param("가산디지털단지", "seoul", "금천구", id="gasan-digital"),
    pytest.param("구로디지털단지", "seoul", "구로구", id="guro-digital"),
    pytest.param("G밸리", "seoul", None, id="g-valley"),
    pytest.param("창원국가산단", "gyeongnam", "창원시", id="changwon-national"),
    pytest.param("여수국가산단", "jeonnam", "여수시", id="yeosu-national"),
    pytest.param("울산미포", "ulsan", None, id="ulsan-mipo"),
    pytest.param("온산공단", "ulsan", "울주군", id="onsan"),
    pytest.param("오송", "chungbuk", "청주시", id="osong"),
    pytest.param("오창과학산업단지", "chungbuk", "청주시", id="ochang"),
    pytest.param("성서산단", "daegu", "달서구", id="seongseo"),
    pytest.param("대구테크노폴리스", "daegu", "달성군", id="daegu-technopolis"),
    pytest.param("대불산단", "jeonnam", "영암군", id="daebul"),
    pytest.param("평동산단", "gwangju", "광산구", id="pyeongdong"),
    pytest.param("하남산단", "gwangju", "광산구", id="hanam-complex-is-in-gwangju"),
    pytest.param("대덕연구단지", "daejeon", "유성구", id="daedeok-research"),
    pytest.param("석문산단", "chungnam", "당진시", id="seongmun"),
    pytest.param("대산석유화학단지", "chungnam", "서산시", id="daesan"),
    pytest.param("새만금산단", "jeonbuk", None, id="saemangeum"),
    pytest.param("판교테크노밸리", "gyeonggi", "성남시", id="pangyo"),
    pytest.param("골든루트산단", "gyeongnam", "김해시", id="golden-root"),
])
def test_industrial_complexes(address, code, sigungu):
    route = routed(address)
    assert (route.center_code, route.region.sigungu) == (code, sigungu)


# --- nothing routable -------------------------------------------------------------------------------------------

@pytest.mark.parametrize("address", [
    pytest.param("asdf", id="latin-garbage"),
    pytest.param("", id="empty"),
    pytest.param("   ", id="blank"),
    pytest.param("ㅋㅋㅋ", id="laughter-jamo"),
    pytest.param("미국 뉴욕", id="new-york"),
    pytest.param("!!!???", id="punctuation"),
    pytest.param("12345", id="digits-only"),
    pytest.param("서울대", id="prefix-of-a-longer-word"),
    pytest.param("고성능 설비", id="goseong-inside-a-word"),
    pytest.param("고양이 키우고 싶어", id="goyangi-is-a-cat"),
    pytest.param("양산 라인 증설 예산이 얼마나 되나요", id="everyday-words-in-a-sentence"),
    pytest.param("경기가 안 좋아서 지원 받고 싶어요", id="gyeonggi-as-economy"),
    pytest.param("설비 이동 문의 드립니다", id="two-letter-dong-in-a-sentence"),
])
def test_nothing_routable(address):
    result = resolve(address)
    assert result == Resolution(route=None, candidates=[])
    assert result.status == "unknown"


def test_status():
    assert resolve("포천").status == "routed"
    assert resolve("고성").status == "ambiguous"


@pytest.mark.parametrize("region, codes", [
    pytest.param(Region("경기도", "포천시"), ("gyeonggi-daejin",), id="daejin"),
    pytest.param(Region("경기도", "안산시"), ("gyeonggi",), id="gyeonggi"),
    pytest.param(Region("경기도"), ("gyeonggi", "gyeonggi-daejin"), id="gyeonggi-unknown-city"),
    pytest.param(Region("경상북도", "포항시"), ("pohang",), id="pohang"),
    pytest.param(Region("경상북도", "안동시"), ("gyeongbuk",), id="gyeongbuk"),
    pytest.param(Region("경상북도"), ("gyeongbuk", "pohang"), id="gyeongbuk-unknown-city"),
    pytest.param(Region("대구광역시", "군위군"), ("daegu",), id="gunwi"),
    pytest.param(Region("세종특별자치시"), ("sejong",), id="sejong"),
])
def test_centers_for(region, codes):
    assert centers_for(region) == codes


# --- invariants on arbitrary input --------------------------------------------------------------------------------

_FRAGMENTS = ["경기", "포천", "시", "광주", "고성", "중구", "남구", "가산동", "내촌면", "경북", "포항", "군위군",
              "반월공단", "에", "은", "공장", " ", ",", "서울", "세종", "asdf", "1", "양산", "동", "이동", "제주"]


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(max_size=40), st.lists(st.sampled_from(_FRAGMENTS), max_size=8).map("".join)))
def test_exactly_one_outcome_and_valid_centres(address):
    result = resolve(address)
    if result.route is not None:
        assert result.candidates == []
        routes = [result.route]
    else:
        assert len(result.candidates) != 1
        routes = result.candidates
    codes = [r.center_code for r in routes]
    assert len(codes) == len(set(codes))
    for route in routes:
        assert route.center_code in CENTERS_BY_CODE
        assert route.center_code in centers_for(route.region)


# --- the evaluation command (labelled addresses, e.g. ../shared/eval/routing_dev.jsonl, given as arguments) ---

def test_routing_evaluation_counts_right_wrong_ambiguous_and_unroutable(tmp_path, capsys):
    labelled = tmp_path / "addresses.jsonl"
    labelled.write_text("\n".join(json.dumps(d, ensure_ascii=False) for d in [
        {"address": "경북 포항시 남구 오천읍", "center": "pohang"},
        {"address": "경기 포천시", "center": "gyeonggi"},  # routes to gyeonggi-daejin: a wrong label
        {"address": "고성군", "center": "gangwon"},
        {"address": "ㅋㅋㅋ", "center": "seoul"},
    ]) + "\n", encoding="utf-8")
    assert evaluate.main([str(labelled)]) == 1
    out = capsys.readouterr().out
    assert f"| {labelled} | 4 | 1 | 1 | 1 | 1 |" in out
    assert "wrong: '경기 포천시' -> gyeonggi-daejin (expected gyeonggi)" in out
    labelled.write_text(json.dumps({"address": "서울 금천구 가산동", "center": "seoul"}) + "\n", encoding="utf-8")
    assert evaluate.main([str(labelled)]) == 0
