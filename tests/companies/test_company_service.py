from __future__ import annotations

from api.companies.models import Company, OwnerChat
from api.companies.service import Place, link_chat, upsert_company


async def _centre_id(db, code="seoul") -> int:
    from sqlalchemy import select

    from api.centers.models import Center

    return await db.scalar(select(Center.id).where(Center.code == code))


async def test_company_by_business_number_is_shared_by_chats(db):
    place = Place(address="서울 금천구 가산동", sido="서울특별시", sigungu="금천구", center_id=await _centre_id(db))
    a = await upsert_company(db, chat_id=1, place=place, name="가산정밀", business_number="1248100998")
    b = await upsert_company(db, chat_id=2, place=place, business_number="1248100998")
    assert a.id == b.id and b.name == "가산정밀"  # an omitted name does not erase the known one
    assert (await db.get(OwnerChat, 1)).company_id == a.id
    assert (await db.get(OwnerChat, 2)).company_id == a.id


async def test_company_follows_the_latest_address(db):
    seoul = Place(address="서울 금천구", sido="서울특별시", sigungu="금천구", center_id=await _centre_id(db))
    busan = Place(address="부산 사하구", sido="부산광역시", sigungu="사하구", center_id=await _centre_id(db, "busan"))
    c = await upsert_company(db, chat_id=3, place=seoul, name="이전회사")
    moved = await upsert_company(db, chat_id=3, place=busan)
    assert moved.id == c.id and moved.center_id == busan.center_id and moved.region_sigungu == "사하구"


async def test_a_different_number_on_the_same_chat_is_another_company(db):
    place = Place(address="서울 금천구", sido="서울특별시", sigungu="금천구", center_id=await _centre_id(db))
    first = await upsert_company(db, chat_id=4, place=place, business_number="1248100998")
    second = await upsert_company(db, chat_id=4, place=place, business_number="2208162517")
    assert first.id != second.id
    assert (await db.get(OwnerChat, 4)).company_id == second.id  # the chat now speaks for the second company
    assert (await db.get(Company, first.id)).business_number == "1248100998"


async def test_link_chat_keeps_display_name_and_company(db):
    place = Place(address="서울 금천구", sido="서울특별시", sigungu="금천구", center_id=await _centre_id(db))
    company = await upsert_company(db, chat_id=5, place=place)
    chat = await link_chat(db, chat_id=5, company_id=None, display_name="홍 대표")
    assert chat.company_id == company.id and chat.display_name == "홍 대표"
    fresh = await link_chat(db, chat_id=6, company_id=None)
    assert fresh.company_id is None and fresh.display_name == ""
