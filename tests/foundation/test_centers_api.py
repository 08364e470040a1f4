from __future__ import annotations

import pytest


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
