from __future__ import annotations

import pytest
from click.testing import CliRunner

from api.centers import service
from api.cli import main
from api.config import get_settings
from api.errors import NotFound
from api.staff.service import create_staff


async def test_lists_the_nineteen_centres(client):
    r = await client.get("/api/v1/centers")
    assert r.status_code == 200
    codes = [c["code"] for c in r.json()]
    assert codes == ["seoul", "busan", "daegu", "gwangju", "incheon", "daejeon", "ulsan", "sejong", "gyeonggi",
                     "gangwon", "chungbuk", "chungnam", "jeonbuk", "jeonnam", "gyeongbuk", "gyeongnam", "jeju",
                     "gyeonggi-daejin", "pohang"]
    assert all(c["name"] and c["host"] and c["business_hours"] for c in r.json())


@pytest.mark.parametrize("address,code,sido", [
    ("포천", "gyeonggi-daejin", "경기도"),
    ("경북 포항시 남구 오천읍", "pohang", "경상북도"),
    ("서울 금천구 가산동", "seoul", "서울특별시"),
    ("대구 군위군 군위읍", "daegu", "대구광역시"),
    ("강원도 원주시", "gangwon", "강원특별자치도"),
    ("전라북도 전주시", "jeonbuk", "전북특별자치도"),
])
async def test_resolve_names_the_centre(client, address, code, sido):
    r = await client.get("/api/v1/centers/resolve", params={"address": address})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["center"]["code"] == code
    assert body["region"]["sido"] == sido
    assert body["candidates"] == []


@pytest.mark.parametrize("address,expected", [
    ("고성", {"gangwon", "gyeongnam"}),
    ("광주", {"gwangju", "gyeonggi"}),
])
async def test_ambiguous_names_give_candidates(client, address, expected):
    r = await client.get("/api/v1/centers/resolve", params={"address": address})
    assert r.status_code == 200
    body = r.json()
    assert body["center"] is None and body["region"] is None
    assert {c["center"]["code"] for c in body["candidates"]} == expected


@pytest.mark.parametrize("address", ["asdf", "미국 뉴욕", "ㅋㅋㅋ"])
async def test_unroutable_address_is_a_korean_422(client, address):
    r = await client.get("/api/v1/centers/resolve", params={"address": address})
    assert r.status_code == 422
    assert r.json()["error"] == "unroutable_address"
    assert "센터" in r.json()["detail"]


async def test_missing_or_oversized_address_is_422(client):
    assert (await client.get("/api/v1/centers/resolve")).status_code == 422
    assert (await client.get("/api/v1/centers/resolve", params={"address": " "})).status_code == 422
    assert (await client.get("/api/v1/centers/resolve", params={"address": "가" * 400})).status_code == 422


async def test_centres_carry_their_known_contacts(client):
    centres = {c["code"]: c for c in (await client.get("/api/v1/centers")).json()}
    pohang = centres["pohang"]
    assert pohang["phone"] == "054-223-2243" and pohang["website"] == "http://www.ptp.or.kr/"
    assert pohang["address"] is None and pohang["office_hours"] is None
    assert pohang["contact"] == "포항 스마트제조혁신센터 연락처\n· 전화 054-223-2243\n· 누리집 http://www.ptp.or.kr/"
    r = await client.get("/api/v1/centers/resolve", params={"address": "경북 포항시 남구 오천읍"})
    assert r.json()["center"]["contact"] == pohang["contact"]


async def test_staff_are_created_with_a_korean_centre_name_and_unknown_names_list_the_codes(db):
    for name, code in (("경기", "gyeonggi"), ("경기대진", "gyeonggi-daejin"), ("포항", "pohang")):
        staff = await create_staff(db, username=f"agent-{code}", password="password-123", role="agent",
                                   center_code=name)
        assert (await service.get_center_by_code(db, code)).id == staff.center_id
    with pytest.raises(NotFound) as err:
        await create_staff(db, username="agent-x", password="password-123", role="agent", center_code="경기남부")
    assert err.value.code == "unknown_center"
    assert err.value.detail.startswith("'경기남부' 센터를 찾을 수 없습니다. 센터 코드나 지역 이름으로 입력해 주세요: seoul(서울), ")
    assert "gyeonggi-daejin(경기대진)" in err.value.detail


def test_cli_staff_add_accepts_a_korean_centre_name(fresh_database_url, monkeypatch):
    monkeypatch.setenv("HOTLINE_DATABASE_URL", fresh_database_url)
    get_settings.cache_clear()
    try:
        runner = CliRunner()
        ok = runner.invoke(main, ["staff", "add", "--username", "kim", "--password", "password-123", "--role", "agent",
                                  "--center", "경기"])
        assert ok.exit_code == 0, ok.output
        assert "created agent 'kim' (gyeonggi, 경기 스마트제조혁신센터)" in ok.output
        bad = runner.invoke(main, ["staff", "add", "--username", "lee", "--password", "password-123", "--role",
                                   "agent", "--center", "경기도"])
        assert bad.exit_code == 1
        assert "'경기도' 센터를 찾을 수 없습니다" in bad.output and "gyeonggi(경기)" in bad.output
    finally:
        get_settings.cache_clear()
