"""Staff actions (claim, reply, transfer, resolve, reopen), the owner's side (follow-ups, ratings, status) and
the audit trail they leave."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy import select

from api.errors import Unprocessable
from api.kb import entries as kb_entries
from api.kb.models import KbSuggestion
from api.tickets import owner_actions
from api.tickets.errors import NoOpenTicket, TicketNotFound, TicketNotResolved
from api.tickets.models import Ticket, TicketEvent, TicketMessage
from tests.tickets.conftest import kst, outbox_rows, set_staff_group


async def events_of(db, ticket_id: int) -> list[TicketEvent]:
    return list((await db.scalars(select(TicketEvent).where(TicketEvent.ticket_id == ticket_id)
                                  .order_by(TicketEvent.id))).all())


async def test_claim_then_another_agent_gets_409(new_ticket, make_staff, client, db):
    t = await new_ticket()
    kim, kim_h = await make_staff("agent", "seoul")
    kim_id, kim_name = kim.id, kim.display_name  # an error response rolls back and expires loaded objects
    _, lee_h = await make_staff("agent", "seoul")
    r = await client.post(f"/api/v1/tickets/{t['id']}/claim", headers=kim_h)
    assert r.status_code == 200 and r.json()["status"] == "assigned"
    assert r.json()["assignee"]["id"] == kim_id
    again = await client.post(f"/api/v1/tickets/{t['id']}/claim", headers=kim_h)
    assert again.status_code == 200  # claiming one's own ticket again changes nothing
    lost = await client.post(f"/api/v1/tickets/{t['id']}/claim", headers=lee_h)
    assert lost.status_code == 409 and lost.json()["error"] == "already_claimed"
    assert kim_name in lost.json()["detail"]
    assert [(e.kind, e.actor_type, e.actor_id) for e in await events_of(db, t["id"])] == [
        ("created", "bot", None), ("claimed", "staff", kim_id)]


async def test_admin_can_claim_any_centres_ticket(new_ticket, make_staff, client):
    t = await new_ticket(center="jeju")
    admin, headers = await make_staff("admin", None)
    r = await client.post(f"/api/v1/tickets/{t['id']}/claim", headers=headers)
    assert r.status_code == 200 and r.json()["assignee"]["id"] == admin.id


async def test_reply_is_stored_answered_and_queued_for_the_owner(new_ticket, make_staff, client, db, clock):
    clock.now = kst(2026, 11, 24, 9, 30)
    t = await new_ticket(chat_id=4242)
    kim, headers = await make_staff("agent", "seoul")
    clock.now = kst(2026, 11, 24, 10, 15)
    r = await client.post(f"/api/v1/tickets/{t['id']}/replies", headers=headers,
                          json={"body": "  신청은 스마트공장 사업관리시스템에서 하시면 됩니다.  "})
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["message"]["body"] == "신청은 스마트공장 사업관리시스템에서 하시면 됩니다."
    assert body["message"]["author"]["id"] == kim.id and body["message"]["direction"] == "staff"
    # Replying to an unassigned ticket assigns it; the first response time is recorded.
    assert body["ticket"]["assignee"]["id"] == kim.id and body["ticket"]["status"] == "assigned"
    assert body["ticket"]["first_responded_at"].startswith("2026-11-24T01:15:00")
    rows = await outbox_rows(db, chat_id=4242)
    assert len(rows) == 1 and rows[0].kind == "staff_reply" and rows[0].ticket_id == t["id"]
    assert rows[0].text.startswith(f"[{t['center']['name']} 답변] 접수번호 {t['number']}")
    assert rows[0].text.endswith("신청은 스마트공장 사업관리시스템에서 하시면 됩니다.")
    # A second reply does not move the first response time.
    clock.now = kst(2026, 11, 24, 11)
    r2 = await client.post(f"/api/v1/tickets/{t['id']}/replies", headers=headers, json={"body": "추가 안내입니다."})
    assert r2.json()["ticket"]["first_responded_at"] == body["ticket"]["first_responded_at"]
    assert len(await outbox_rows(db, chat_id=4242)) == 2
    kinds = [e.kind for e in await events_of(db, t["id"])]
    assert kinds == ["created", "claimed", "replied", "replied"]
    detail = (await client.get(f"/api/v1/tickets/{t['id']}", headers=headers)).json()
    assert [m["direction"] for m in detail["messages"]] == ["owner", "staff", "staff"]
    assert [e["kind"] for e in detail["events"]] == kinds and detail["events"][1]["actor"]["id"] == kim.id


@pytest.mark.parametrize("body,error", [({"body": "   "}, "empty_reply"), ({"body": "가" * 3501}, "reply_too_long")])
async def test_bad_replies_are_422_and_nothing_is_queued(body, error, new_ticket, make_staff, client, db):
    t = await new_ticket(chat_id=31)
    _, headers = await make_staff("agent", "seoul")
    r = await client.post(f"/api/v1/tickets/{t['id']}/replies", headers=headers, json=body)
    assert r.status_code == 422 and r.json()["error"] == error
    assert await outbox_rows(db, chat_id=31) == []
    assert (await db.get(Ticket, t["id"])).first_responded_at is None


async def test_transfer_moves_the_ticket_and_tells_the_new_centre(new_ticket, make_staff, client, db, clock):
    await set_staff_group(db, "gyeonggi-daejin", -200)
    clock.now = kst(2026, 11, 24, 9)
    t = await new_ticket(center="gyeonggi", chat_id=808)
    suwon, suwon_h = await make_staff("agent", "gyeonggi")
    _, daejin_h = await make_staff("agent", "gyeonggi-daejin")
    assert (await client.post(f"/api/v1/tickets/{t['id']}/claim", headers=suwon_h)).status_code == 200
    clock.now = kst(2026, 11, 24, 17)
    r = await client.post(f"/api/v1/tickets/{t['id']}/transfer", headers=suwon_h,
                          json={"center": "gyeonggi-daejin", "reason": "공장이 포천에 있다고 하심"})
    assert r.status_code == 200, r.text
    moved = r.json()
    assert moved["center"]["code"] == "gyeonggi-daejin" and moved["assignee"] is None and moved["status"] == "open"
    # Recomputed on the new centre's calendar from the transfer time: 17:00 + 4h → next day 12:00.
    assert moved["first_response_due"].startswith("2026-11-25T03:00:00")
    event = (await events_of(db, t["id"]))[-1]
    assert event.kind == "transferred" and event.actor_id == suwon.id
    assert event.data["from"] == "gyeonggi" and event.data["to"] == "gyeonggi-daejin"
    assert event.data["reason"] == "공장이 포천에 있다고 하심" and event.data["previous_assignee_id"] == suwon.id
    notices = await outbox_rows(db, chat_id=-200)
    assert len(notices) == 1 and "이관" in notices[0].text and "포천" in notices[0].text
    assert notices[0].buttons[0][0]["data"] == f"claim:{t['id']}"
    owner = await outbox_rows(db, chat_id=808)
    assert len(owner) == 1 and owner[0].kind == "ticket_update" and "경기대진" in owner[0].text.replace(" ", "")
    # The old centre no longer sees it; the new one does.
    assert (await client.get(f"/api/v1/tickets/{t['id']}", headers=suwon_h)).status_code == 404
    assert (await client.get(f"/api/v1/tickets/{t['id']}", headers=daejin_h)).status_code == 200


@pytest.mark.parametrize("body,status,error", [
    ({"center": "seoul", "reason": "같은 센터"}, 422, "same_center"),
    ({"center": "atlantis", "reason": "없는 센터"}, 404, "unknown_center"),
    ({"center": "busan", "reason": "  "}, 422, "empty_reason"),
    ({"center": "busan"}, 422, "validation_error"),
])
async def test_bad_transfers(body, status, error, new_ticket, make_staff, client, db):
    t = await new_ticket()
    _, headers = await make_staff("agent", "seoul")
    r = await client.post(f"/api/v1/tickets/{t['id']}/transfer", headers=headers, json=body)
    assert r.status_code == status and r.json()["error"] == error
    assert (await db.get(Ticket, t["id"])).center_id == (await db.scalar(
        sa.text("SELECT id FROM centers WHERE code='seoul'")))


async def test_resolve_asks_for_a_rating_and_reopen_puts_it_back(new_ticket, make_staff, client, db, clock):
    clock.now = kst(2026, 11, 24, 9)
    t = await new_ticket(chat_id=99)
    kim, headers = await make_staff("agent", "seoul")
    clock.now = kst(2026, 11, 24, 10)
    r = await client.post(f"/api/v1/tickets/{t['id']}/resolve", headers=headers, json={"note": "전화로 안내함"})
    assert r.status_code == 200 and r.json()["status"] == "resolved"
    assert r.json()["assignee"]["id"] == kim.id  # resolving an unassigned ticket credits the resolver
    request = (await outbox_rows(db, chat_id=99))[-1]
    assert request.kind == "rating_request" and t["number"] in request.text
    assert request.buttons == [[{"text": f"{n}점", "data": f"rate:{t['id']}:{n}"} for n in range(1, 6)]]
    twice = await client.post(f"/api/v1/tickets/{t['id']}/resolve", headers=headers)
    assert twice.status_code == 409 and twice.json()["error"] == "ticket_resolved"
    reply = await client.post(f"/api/v1/tickets/{t['id']}/replies", headers=headers, json={"body": "x"})
    assert reply.status_code == 409
    clock.now = kst(2026, 11, 27, 10)  # Friday
    reopened = await client.post(f"/api/v1/tickets/{t['id']}/reopen", headers=headers,
                                 json={"reason": "추가 질문이 있으심"})
    assert reopened.status_code == 200 and reopened.json()["status"] == "assigned"
    assert reopened.json()["resolved_at"] is None
    assert reopened.json()["resolution_due"].startswith("2026-12-02T09:00:00")  # Wed 18:00 KST
    not_resolved = await client.post(f"/api/v1/tickets/{t['id']}/reopen", headers=headers)
    assert not_resolved.status_code == 409 and not_resolved.json()["error"] == "ticket_not_resolved"
    kinds = [(e.kind, e.data.get("note") or e.data.get("reason")) for e in await events_of(db, t["id"])]
    assert kinds == [("created", None), ("resolved", "전화로 안내함"), ("reopened", "추가 질문이 있으심")]


async def test_owner_follow_up_goes_to_the_open_ticket(new_ticket, db):
    await set_staff_group(db, "seoul", -300)
    t = await new_ticket(chat_id=5150)
    ticket, message = await owner_actions.append_owner_message(
        db, chat_id=5150, text="사진도 보내드릴게요", attachment={"type": "photo", "file_id": "AgAD"})
    assert ticket.id == t["id"]
    messages = (await db.scalars(select(TicketMessage).where(TicketMessage.ticket_id == t["id"])
                                 .order_by(TicketMessage.id))).all()
    assert [(m.direction, m.body) for m in messages][-1] == ("owner", "사진도 보내드릴게요")
    assert messages[-1].attachment == {"type": "photo", "file_id": "AgAD"}
    assert (await events_of(db, t["id"]))[-1].kind == "owner_message"
    notice = (await outbox_rows(db, chat_id=-300))[-1]
    assert "추가 메시지" in notice.text and t["number"] in notice.text
    with pytest.raises(Unprocessable):
        await owner_actions.append_owner_message(db, chat_id=5150, text=" ")
    with pytest.raises(NoOpenTicket):
        await owner_actions.append_owner_message(db, chat_id=6160, text="안녕하세요")
    with pytest.raises(NoOpenTicket):  # a ticket of another chat is not this chat's to follow up
        await owner_actions.append_owner_message(db, chat_id=6160, ticket_id=t["id"], text="남의 문의")


async def test_follow_up_after_resolution_is_not_appended(new_ticket, make_staff, client, db):
    t = await new_ticket(chat_id=7)
    _, headers = await make_staff("agent", "seoul")
    await client.post(f"/api/v1/tickets/{t['id']}/resolve", headers=headers)
    with pytest.raises(NoOpenTicket):
        await owner_actions.append_owner_message(db, chat_id=7, text="하나 더요")


async def test_rating_only_for_a_resolved_ticket_of_that_chat(new_ticket, make_staff, client, db):
    t = await new_ticket(chat_id=11)
    _, headers = await make_staff("agent", "seoul")
    with pytest.raises(TicketNotResolved):
        await owner_actions.rate_ticket(db, chat_id=11, ticket_id=t["id"], rating=5)
    await client.post(f"/api/v1/tickets/{t['id']}/resolve", headers=headers)
    with pytest.raises(Unprocessable):
        await owner_actions.rate_ticket(db, chat_id=11, ticket_id=t["id"], rating=6)
    with pytest.raises(TicketNotFound):
        await owner_actions.rate_ticket(db, chat_id=12, ticket_id=t["id"], rating=4)
    assert (await owner_actions.rate_ticket(db, chat_id=11, ticket_id=t["id"], rating=4)).rating == 4
    commented = await owner_actions.rate_ticket(db, chat_id=11, ticket_id=t["id"], rating=None,
                                                comment="빠른 답변 감사합니다")
    assert commented.rating == 4 and commented.rating_comment == "빠른 답변 감사합니다"
    row = await db.get(Ticket, t["id"])
    assert row.rating == 4 and row.rated_at is not None
    assert [e.data for e in await events_of(db, t["id"]) if e.kind == "rated"] == [
        {"rating": 4, "comment": False}, {"rating": None, "comment": True}]


async def test_events_cannot_be_edited_or_deleted(new_ticket, db):
    t = await new_ticket()
    for statement in ("UPDATE ticket_events SET kind = 'forged'", "DELETE FROM ticket_events"):
        with pytest.raises(sa.exc.DBAPIError, match="append-only"):
            async with db.begin_nested():
                await db.execute(sa.text(statement))
    assert [e.kind for e in await events_of(db, t["id"])] == ["created"]


async def test_resolving_citing_a_kb_entry_suggests_the_question_for_it(new_ticket, make_staff, client, db):
    entry, _ = await kb_entries.create_entry(
        db, entry_id="cited-entry", topic="support-ratio", title="정부지원 비율은 얼마인가요?",
        paraphrases=["국비 비율 얼마임"], answer="총사업비의 50% 이내를 정부가 지원해요.", author=None, publish=True,
        source_title="공고", source_url="https://www.mss.go.kr/")
    await db.commit()
    t = await new_ticket(chat_id=4242, text="우리 같은 소기업은 나라에서 얼마까지 대주나요")
    _, headers = await make_staff("agent", "seoul")
    unknown = await client.post(f"/api/v1/tickets/{t['id']}/resolve", headers=headers,
                                json={"entry_id": "no-such-entry"})
    assert unknown.status_code == 422 and unknown.json()["error"] == "unknown_entry"
    assert (await db.get(Ticket, t["id"], populate_existing=True)).status == "open"
    r = await client.post(f"/api/v1/tickets/{t['id']}/resolve", headers=headers, json={"entry_id": "cited-entry"})
    assert r.status_code == 200 and r.json()["status"] == "resolved"
    resolved = [e for e in await events_of(db, t["id"]) if e.kind == "resolved"]
    assert resolved[0].data["entry_id"] == "cited-entry"
    row = await db.scalar(select(KbSuggestion).where(KbSuggestion.ticket_id == t["id"]))
    assert (row.entry_id, row.source, row.text) == ("cited-entry", "staff", "우리 같은 소기업은 나라에서 얼마까지 대주나요")
