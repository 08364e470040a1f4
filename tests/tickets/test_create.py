"""Ticket creation by the bot: routing, validation, companies, duplicates, the receipt, the staff notice."""

from __future__ import annotations

import json
import re

import pytest
from sqlalchemy import select

from api.companies.models import Company, OwnerChat
from api.kb.models import AskLog
from api.tickets.models import Ticket, TicketEvent, TicketMessage
from tests.tickets.conftest import ADDRESS_FOR, count, kst, outbox_rows, set_staff_group


@pytest.mark.parametrize("code", sorted(ADDRESS_FOR))
async def test_each_address_lands_in_its_centres_queue(code, new_ticket, make_staff, client):
    ticket = await new_ticket(center=code)
    assert ticket["center"]["code"] == code
    assert re.fullmatch(r"SF-\d{4}-\d{6}", ticket["number"])
    assert ticket["status"] == "open" and ticket["assignee"] is None
    _, own = await make_staff("agent", code)
    listed = (await client.get("/api/v1/tickets", headers=own)).json()
    assert [t["id"] for t in listed["items"]] == [ticket["id"]]
    other_code = "jeju" if code != "jeju" else "seoul"
    _, other = await make_staff("agent", other_code)
    assert (await client.get("/api/v1/tickets", headers=other)).json()["items"] == []
    assert (await client.get(f"/api/v1/tickets/{ticket['id']}", headers=other)).status_code == 404


async def test_creation_stores_normalised_company_data_and_links_the_chat(new_ticket, db, clock):
    clock.now = kst(2026, 11, 24, 10)
    t = await new_ticket(center="gyeonggi-daejin", chat_id=555, company_name=" 대진정밀 ",
                         business_number="124-81-00998", phone="+82 10 1234 5678", contact_name="김철수",
                         display_name="김철수 대표")
    row = await db.get(Ticket, t["id"])
    assert row.business_number == "1248100998" and row.phone == "010-1234-5678"
    assert row.company_name == "대진정밀" and row.contact_name == "김철수"
    assert (row.region_sido, row.region_sigungu) == ("경기도", "포천시")
    assert row.number == f"SF-2026-{row.id:06d}"
    company = await db.get(Company, row.company_id)
    assert company.business_number == "1248100998" and company.name == "대진정밀"
    assert company.center_id == row.center_id and "포천" in company.address
    chat = await db.get(OwnerChat, 555)
    assert chat.company_id == company.id and chat.display_name == "김철수 대표"
    # The question is the first message of the conversation, and creation is an event by the bot.
    messages = (await db.scalars(select(TicketMessage).where(TicketMessage.ticket_id == row.id))).all()
    assert [(m.direction, m.body) for m in messages] == [("owner", row.text)]
    events = (await db.scalars(select(TicketEvent).where(TicketEvent.ticket_id == row.id))).all()
    assert [(e.kind, e.actor_type) for e in events] == [("created", "bot")]
    assert events[0].data["center"] == "gyeonggi-daejin"


async def test_same_business_number_from_another_chat_is_the_same_company(new_ticket, db):
    a = await new_ticket(chat_id=1, business_number="2208162517", company_name="가나다")
    b = await new_ticket(chat_id=2, business_number="220-81-62517")
    assert a["company_id"] == b["company_id"]
    assert (await db.get(Company, a["company_id"])).name == "가나다"
    assert (await db.get(OwnerChat, 2)).company_id == a["company_id"]


async def test_without_business_number_the_chats_company_is_reused(new_ticket, db):
    a = await new_ticket(chat_id=10, company_name="무번호상회")
    b = await new_ticket(chat_id=10, center="busan")
    assert a["company_id"] == b["company_id"]
    company = await db.get(Company, a["company_id"])
    assert company.business_number is None and company.name == "무번호상회"
    assert company.address == ADDRESS_FOR["busan"]  # the latest address is kept
    c = await new_ticket(chat_id=10, business_number="124-81-00998")
    assert c["company_id"] == a["company_id"]  # the number completes the chat's company
    assert (await db.get(Company, a["company_id"])).business_number == "1248100998"


async def test_duplicate_within_ten_minutes_is_the_same_ticket(create_ticket, clock, db):
    clock.now = kst(2026, 11, 24, 10, 0)
    first = await create_ticket(chat_id=42, text="바우처 신청 기간이  언제인가요?")
    assert first.status_code == 201
    clock.now = kst(2026, 11, 24, 10, 9)
    again = await create_ticket(chat_id=42, text="  바우처 신청 기간이 언제인가요? ")
    assert again.status_code == 200, again.text
    assert again.json()["id"] == first.json()["id"] and again.json()["duplicate"] is True
    assert "이미 접수된 문의" in again.json()["acknowledgement"]
    other_chat = await create_ticket(chat_id=43, text="바우처 신청 기간이 언제인가요?")
    assert other_chat.status_code == 201
    clock.now = kst(2026, 11, 24, 10, 11)
    later = await create_ticket(chat_id=42, text="바우처 신청 기간이 언제인가요?")
    assert later.status_code == 201 and later.json()["id"] != first.json()["id"]
    assert await count(db, Ticket) == 3


async def test_acknowledgement_names_number_centre_and_promise(new_ticket, clock):
    clock.now = kst(2026, 11, 24, 10, 0)  # Tuesday morning: 4 business hours → 14:00 today
    t = await new_ticket(center="busan")
    ack = t["acknowledgement"]
    assert t["number"] in ack and t["center"]["name"] in ack
    assert "오늘 오후 2시까지 답변드릴게요" in ack
    assert "평일 09:00~18:00" in ack


async def test_ask_log_is_linked_and_shown_to_staff(new_ticket, db, make_staff, client):
    log = AskLog(chat_id=77, channel="telegram", text="스마트공장 정산 서류 뭐 내요", outcome="escalate",
                 score=0.31, candidates=[{"entry_id": "settlement", "title": "정산 절차", "score": 0.31},
                                         {"entry_id": "company-share", "title": "기업 부담금", "score": 0.22}])
    db.add(log)
    await db.commit()
    t = await new_ticket(chat_id=77, ask_log_id=log.id)
    _, headers = await make_staff("agent", "seoul")
    detail = (await client.get(f"/api/v1/tickets/{t['id']}", headers=headers)).json()
    assert detail["ask_log"]["id"] == log.id and detail["ask_log"]["outcome"] == "escalate"
    assert [c["entry_id"] for c in detail["ask_log"]["candidates"]] == ["settlement", "company-share"]
    assert detail["ask_log"]["candidates"][0]["score"] == pytest.approx(0.31)


async def test_ask_log_of_another_chat_or_unknown_is_refused(create_ticket, db):
    log = AskLog(chat_id=1, channel="telegram", text="q", outcome="escalate", score=0.1, candidates=[])
    db.add(log)
    await db.commit()
    for ask_log_id in (log.id, log.id + 1000):
        r = await create_ticket(chat_id=2, ask_log_id=ask_log_id)
        assert r.status_code == 422 and r.json()["error"] == "unknown_ask_log"
    assert await count(db, Ticket) == 0


async def test_new_ticket_notifies_the_centres_staff_group(new_ticket, db):
    await set_staff_group(db, "daegu", -100123)
    log = AskLog(chat_id=5, channel="telegram", text="q", outcome="escalate", score=0.4,
                 candidates=[{"entry_id": "eligibility", "title": "지원 대상", "score": 0.4}])
    db.add(log)
    await db.commit()
    t = await new_ticket(center="daegu", chat_id=5, company_name="대구기계", ask_log_id=log.id)
    rows = await outbox_rows(db, chat_id=-100123)
    assert len(rows) == 1
    notice = rows[0]
    assert notice.kind == "staff_notice" and notice.ticket_id == t["id"] and notice.status == "pending"
    assert notice.buttons == [[{"text": "담당하기", "data": f"claim:{t['id']}"}]]
    assert t["number"] in notice.text and "대구기계" in notice.text and "지원 대상 (0.40)" in notice.text
    # A centre without a group gets no notice.
    await new_ticket(center="busan")
    assert len(await outbox_rows(db, kind="staff_notice")) == 1


@pytest.mark.parametrize("fields,error", [
    ({"address": ""}, "unroutable_address"),
    ({"address": "화성탐사기지 제1구역"}, "unroutable_address"),
    ({"address": "고성군"}, "ambiguous_address"),
    ({"business_number": "124-81-00999"}, "invalid_business_number"),
    ({"business_number": "12345"}, "invalid_business_number"),
    ({"phone": "12-34"}, "invalid_phone"),
    ({"text": "   "}, "empty_text"),
    ({"text": "가" * 4001}, "text_too_long"),
    ({"company_name": "회" * 201}, "company_name_too_long"),
])
async def test_bad_input_is_a_clear_422_and_nothing_is_stored(fields, error, create_ticket, db):
    r = await create_ticket(chat_id=900, **fields)
    assert r.status_code == 422, r.text
    assert r.json()["error"] == error
    assert r.json()["detail"] and not r.json()["detail"].isascii()  # a Korean message
    for model in (Ticket, Company, OwnerChat):
        assert await count(db, model) == 0


async def test_missing_address_is_a_validation_error(client, service_headers, db):
    r = await client.post("/api/v1/tickets", json={"chat_id": 1, "text": "질문"}, headers=service_headers)
    assert r.status_code == 422 and r.json()["error"] == "validation_error"
    assert any(e["loc"][-1] == "address" for e in r.json()["errors"])
    assert await count(db, Ticket) == 0


async def test_a_100kb_text_is_refused_and_nothing_stored(create_ticket, db):
    r = await create_ticket(text="가" * 34_000)  # ~100 kB of UTF-8
    assert r.status_code in (413, 422)
    assert r.json()["error"] in ("payload_too_large", "text_too_long") and r.json()["detail"]
    assert await count(db, Ticket) == 0


async def test_text_at_the_limit_is_accepted(create_ticket):
    r = await create_ticket(text="가" * 4000)
    assert r.status_code == 201


async def test_control_characters_are_stripped_not_a_500(new_ticket, db):
    t = await new_ticket(text="질문\x00입니다\x07", company_name="회사\x00")
    row = await db.get(Ticket, t["id"])
    assert row.text == "질문입니다" and row.company_name == "회사"


async def test_only_the_bot_creates_tickets(client, make_staff):
    body = {"chat_id": 1, "text": "질문", "address": "서울 금천구"}
    assert (await client.post("/api/v1/tickets", json=body)).status_code == 401
    _, agent = await make_staff("agent", "seoul")
    r = await client.post("/api/v1/tickets", json=body, headers=agent)
    assert r.status_code == 403


async def test_out_of_range_ids_are_422_not_500(client, service_headers, make_staff):
    r = await client.post("/api/v1/tickets", json={"chat_id": 2**70, "text": "q", "address": "서울 금천구"},
                          headers=service_headers)
    assert r.status_code == 422
    _, agent = await make_staff("agent", "seoul")
    assert (await client.get(f"/api/v1/tickets/{2**70}", headers=agent)).status_code == 422
    assert (await client.get("/api/v1/tickets/0", headers=agent)).status_code == 422


async def test_nul_and_lone_surrogates_never_reach_the_database(client, service_headers, make_staff, db):
    def post(url, body, headers):  # ASCII JSON, so that "\\ud800" escapes get through the client
        return client.post(url, content=json.dumps(body), headers={**headers, "content-type": "application/json"})

    r = await post("/api/v1/tickets", {"chat_id": 1, "address": "서울 금천구", "text": "질문\x00",
                                       "company_name": "회사\x00", "contact_name": "\x00"}, service_headers)
    assert r.status_code == 201, r.text
    row = await db.get(Ticket, r.json()["id"])
    assert row.text == "질문" and row.company_name == "회사" and row.contact_name is None
    surrogate = await post("/api/v1/tickets", {"chat_id": 1, "address": "서울 금천구", "text": "질문\ud800"},
                           service_headers)
    assert surrogate.status_code == 422 and surrogate.json()["error"] == "validation_error"
    _, agent = await make_staff("agent", "seoul")
    for params in ({"center": "\x00"}, {"q": "\x00"}):
        assert (await client.get("/api/v1/tickets", headers=agent, params=params)).status_code in (200, 404)
    transfer = await post(f"/api/v1/tickets/{row.id}/transfer", {"center": "bu\x00san", "reason": "사유\x00"}, agent)
    assert transfer.status_code == 200 and transfer.json()["center"]["code"] == "busan"  # NUL stripped
