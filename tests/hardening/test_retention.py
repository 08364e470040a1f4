"""Retention: resolved tickets' personal data is anonymised after ``HOTLINE_RETENTION_DAYS`` (default 3 years) by
the scheduler's daily job (``api.retention``); the ticket skeleton, its statistics
and the append-only audit trail stay. The audit trail never carries the owner's data; the staff free text in it
(resolve notes, transfer and reopen reasons) is redacted with the ticket — the one edit its triggers allow."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

from sqlalchemy import func, select, update

from api.config import Settings
from api.db import make_engine, make_sessionmaker
from api.outbox.models import OutboxMessage
from api.staff.service import create_staff
from api.tickets import owner_actions as tickets_owner_actions
from api.tickets import staff_actions as tickets_staff_actions
from api.tickets.models import Ticket, TicketEvent, TicketMessage
from api.privacy import ANONYMISED_TEXT, DEFAULT_RETENTION_DAYS
from api.retention import anonymise_old_tickets, forget_stale_personal_data
from api.tickets.retention import EVENT_FREE_TEXT_KEYS, redact_event_data
from api.tickets.scheduler import Scheduler, start_scheduler, stop_scheduler

T0 = datetime(2022, 3, 2, 1, 0, tzinfo=timezone.utc)  # a Wednesday, 10:00 in Seoul
PERSONAL = {"contact_name": "홍길동", "phone": "010-2345-6789", "business_number": "124-81-00998",
            "company_name": "길동정밀"}
SECRETS_IN_TEXT = ("홍길동", "2345-6789", "23456789", "1248100998", "124-81-00998", "길동정밀", "금천구 가산디지털1로 77")


def test_the_period_is_a_setting_with_a_three_year_default(monkeypatch):
    assert Settings().retention_days == DEFAULT_RETENTION_DAYS == 1095
    monkeypatch.setenv("HOTLINE_RETENTION_DAYS", "30")
    settings = Settings()
    assert settings.retention_days == 30
    monkeypatch.setenv("HOTLINE_RETENTION_DAYS", "0")
    try:
        Settings()
    except ValueError:
        pass
    else:
        raise AssertionError("a retention period of 0 days must be refused")


async def _full_ticket(session, *, chat_id: int, at: datetime, agent, resolve_after: timedelta | None):
    """A ticket with every kind of personal data the hotline keeps: contact fields, the question, a follow-up,
    a staff reply naming the owner, a rating comment, and the outbox copies of the messages."""
    created = await tickets_owner_actions.create_ticket(session, chat_id=chat_id, address="서울 금천구 가산디지털1로 77", now=at,
                                          text=f"홍길동입니다. 010-2345-6789로 연락 주세요 ({chat_id})", **PERSONAL)
    ticket = created.ticket
    await tickets_owner_actions.append_owner_message(session, chat_id=chat_id, text="공장 주소는 금천구 가산디지털1로 77입니다",
                                       now=at + timedelta(minutes=5))
    await tickets_staff_actions.reply_to_ticket(session, staff=agent, ticket_id=ticket.id, now=at + timedelta(hours=1),
                                  body="홍길동 대표님, 길동정밀 건 확인했습니다")
    if resolve_after is not None:
        await tickets_staff_actions.resolve_ticket(session, staff=agent, ticket_id=ticket.id, now=at + resolve_after)
        await tickets_owner_actions.rate_ticket(session, chat_id=chat_id, ticket_id=ticket.id, rating=5,
                                  comment="홍길동: 010-2345-6789 친절했어요", now=at + resolve_after + timedelta(hours=1))
    return ticket


async def _texts_of(session, ticket_id: int) -> str:
    """Everything stored about one ticket, as one string to search."""
    ticket = await session.scalar(select(Ticket).where(Ticket.id == ticket_id)
                                  .execution_options(populate_existing=True))
    fields = [ticket.text, ticket.address, ticket.company_name, ticket.business_number, ticket.contact_name,
              ticket.phone, ticket.rating_comment]
    bodies = (await session.scalars(select(TicketMessage.body).where(TicketMessage.ticket_id == ticket_id))).all()
    sent = (await session.scalars(select(OutboxMessage.text).where(OutboxMessage.ticket_id == ticket_id))).all()
    return json.dumps([fields, bodies, sent], ensure_ascii=False)


async def _event_data(session, ticket_id: int) -> str:
    rows = (await session.scalars(select(TicketEvent).where(TicketEvent.ticket_id == ticket_id)
                                  .order_by(TicketEvent.id).execution_options(populate_existing=True))).all()
    return json.dumps([[e.kind, e.data] for e in rows], ensure_ascii=False, default=str)


async def test_old_resolved_tickets_lose_their_personal_data_and_keep_their_statistics(db):
    agent = await create_staff(db, username="ret-agent", password="password-123", role="agent", center_code="seoul")
    old = await _full_ticket(db, chat_id=501, at=T0, agent=agent, resolve_after=timedelta(days=1))
    recent = await _full_ticket(db, chat_id=502, at=T0 + timedelta(days=800), agent=agent,
                                resolve_after=timedelta(days=1))
    still_open = await _full_ticket(db, chat_id=503, at=T0, agent=agent, resolve_after=None)
    await db.execute(update(OutboxMessage).values(status="sent"))  # delivered long ago
    before = {t.id: (t.center_id, t.region_sido, t.region_sigungu, t.created_at, t.resolved_at, t.rating,
                     t.first_responded_at, t.number) for t in (old, recent, still_open)}
    events_before = await db.scalar(select(func.count()).select_from(TicketEvent))

    now = T0 + timedelta(days=1 + DEFAULT_RETENTION_DAYS, hours=2)
    assert await anonymise_old_tickets(db, now=now) == 1

    stored = await _texts_of(db, old.id)
    assert not [s for s in SECRETS_IN_TEXT if s in stored], stored
    await db.refresh(old)
    assert old.anonymised_at == now and old.text == ANONYMISED_TEXT
    assert (old.center_id, old.region_sido, old.region_sigungu, old.created_at, old.resolved_at, old.rating,
            old.first_responded_at, old.number) == before[old.id]  # the skeleton and the statistics stay
    assert await db.scalar(select(func.count()).select_from(TicketMessage)
                           .where(TicketMessage.ticket_id == old.id)) == 3  # the conversation's shape stays
    for kept in (recent, still_open):  # too recent, or never resolved: untouched
        assert "010-2345-6789" in await _texts_of(db, kept.id)
        await db.refresh(kept)
        assert kept.anonymised_at is None
    # The audit trail is append-only: one more event, none removed.
    assert await db.scalar(select(func.count()).select_from(TicketEvent)) == events_before + 1
    assert json.loads(await _event_data(db, old.id))[-1][0] == "anonymised"


async def test_the_audit_trail_never_carries_the_owners_personal_data(db):
    """Retention redacts only the staff free text of events (``EVENT_FREE_TEXT_KEYS``), so what the ticket
    service writes into them must not contain the owner's data in the first place — through the whole life of
    a ticket (and while it is still open, when nothing is redacted yet)."""
    agent = await create_staff(db, username="ev-agent", password="password-123", role="agent", center_code="seoul")
    ticket = await _full_ticket(db, chat_id=601, at=T0, agent=agent, resolve_after=timedelta(days=1))
    await tickets_staff_actions.reopen_ticket(db, staff=agent, ticket_id=ticket.id, now=T0 + timedelta(days=2))
    await tickets_staff_actions.transfer_ticket(db, staff=agent, ticket_id=ticket.id, center_code="busan", reason="관할 이관",
                                  now=T0 + timedelta(days=2, hours=1))
    events = await _event_data(db, ticket.id)
    assert {"created", "replied", "resolved", "rated", "reopened", "transferred", "owner_message"} <= {
        kind for kind, _ in json.loads(events)}
    assert not [s for s in SECRETS_IN_TEXT if s in events], events


STAFF_SECRETS = ("010-1234-5678", "01012345678", "김영희", "박철수")


async def _ticket_with_staff_notes(session, *, chat_id: int, at: datetime, admin) -> Ticket:
    """A ticket whose staff wrote personal data into every free-text field of the audit trail: a transfer
    reason, a resolve note, a reopen reason, and a second note (through the bot), then rated. Resolved for
    good two days after ``at``."""
    ticket = await _full_ticket(session, chat_id=chat_id, at=at, agent=admin, resolve_after=None)
    await tickets_staff_actions.transfer_ticket(session, staff=admin, ticket_id=ticket.id, center_code="busan",
                                  reason="김영희 과장 요청, 010-1234-5678로 통화함", now=at + timedelta(hours=2))
    await tickets_staff_actions.resolve_ticket(session, staff=admin, ticket_id=ticket.id, note="박철수 대표와 01012345678 통화 완료",
                                 now=at + timedelta(days=1))
    await tickets_staff_actions.reopen_ticket(session, staff=admin, ticket_id=ticket.id, reason="김영희 님 재문의 (010-1234-5678)",
                                now=at + timedelta(days=1, hours=1))
    await tickets_staff_actions.resolve_ticket(session, staff=admin, ticket_id=ticket.id, via="telegram",
                                 note="김영희 과장에게 다시 안내", now=at + timedelta(days=2))
    await tickets_owner_actions.rate_ticket(session, chat_id=chat_id, ticket_id=ticket.id, rating=4,
                              now=at + timedelta(days=2, hours=1))
    return ticket


def _strings(value) -> list[str]:
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return [value] if isinstance(value, str) else []


async def test_staff_free_text_in_the_audit_trail_is_redacted_with_the_ticket(db):
    admin = await create_staff(db, username="ret-notes", password="password-123", role="admin")
    old = await _ticket_with_staff_notes(db, chat_id=1001, at=T0, admin=admin)
    recent = await _ticket_with_staff_notes(db, chat_id=1002, at=T0 + timedelta(days=800), admin=admin)
    before = json.loads(await _event_data(db, old.id))
    assert all(s in json.dumps(before, ensure_ascii=False) for s in STAFF_SECRETS)  # the setup wrote them

    now = T0 + timedelta(days=2 + DEFAULT_RETENTION_DAYS, hours=2)
    assert await anonymise_old_tickets(db, now=now) == 1

    after = json.loads(await _event_data(db, old.id))
    stored = json.dumps(after, ensure_ascii=False)
    assert not [s for s in STAFF_SECRETS + SECRETS_IN_TEXT if s in stored], stored
    # The same events, in the same order, with the same keys; only the free-text values changed.
    assert [kind for kind, _ in after] == [kind for kind, _ in before] + ["anonymised"]
    for (kind, was), (_, now_is) in zip(before, after):
        assert now_is.keys() == was.keys(), kind
        for key, value in was.items():
            assert now_is[key] == (ANONYMISED_TEXT if key in EVENT_FREE_TEXT_KEYS else value), (kind, key)
    by_kind = {}
    for kind, data in after:
        by_kind.setdefault(kind, []).append(data)
    transferred, = by_kind["transferred"]
    assert (transferred["from"], transferred["to"], transferred["reason"]) == ("seoul", "busan", ANONYMISED_TEXT)
    assert transferred["first_response_due"] and "previous_assignee_id" in transferred
    assert [d["note"] for d in by_kind["resolved"]] == [ANONYMISED_TEXT, ANONYMISED_TEXT]
    assert by_kind["resolved"][1]["via"] == "telegram"
    reopened, = by_kind["reopened"]
    assert reopened["reason"] == ANONYMISED_TEXT and reopened["resolution_due"]
    assert by_kind["rated"] == [{"rating": 4, "comment": False}]
    # What is left is codes and dates: no string value in the trail is free text any more. (An event that gains
    # a free-text field must add its key to EVENT_FREE_TEXT_KEYS; this catches one that does not.)
    for value in _strings([data for _, data in after]):
        if value in (ANONYMISED_TEXT, "telegram", "seoul", "busan"):
            continue
        datetime.fromisoformat(value)  # a due time

    # The ticket not due yet keeps its notes; running the job again changes nothing.
    kept = await _event_data(db, recent.id)
    assert all(s in kept for s in STAFF_SECRETS), kept
    assert await anonymise_old_tickets(db, now=now) == 0
    assert json.loads(await _event_data(db, old.id)) == after


def test_the_redaction_rule_keeps_structure_and_non_personal_values():
    data = {"from": "seoul", "reason": "김영희 010-1234-5678", "note": None, "previous_assignee_id": 7,
            "first_response": True, "resolution_due": "2025-03-04T01:00:00+00:00",
            "nested": [{"note": "박철수", "message_id": 3}, "seoul"], "empty": {"reason": ""}}
    assert redact_event_data(data) == {
        "from": "seoul", "reason": ANONYMISED_TEXT, "note": None, "previous_assignee_id": 7,
        "first_response": True, "resolution_due": "2025-03-04T01:00:00+00:00",
        "nested": [{"note": ANONYMISED_TEXT, "message_id": 3}, "seoul"], "empty": {"reason": ""}}
    assert redact_event_data({}) == {} and redact_event_data(redact_event_data(data)) == redact_event_data(data)


async def test_reopened_tickets_count_from_their_last_resolution_and_batches_finish(db):
    agent = await create_staff(db, username="ret-b", password="password-123", role="agent", center_code="seoul")
    tickets = [await _full_ticket(db, chat_id=700 + i, at=T0, agent=agent, resolve_after=timedelta(days=1))
               for i in range(5)]
    reopened = tickets[0]
    await tickets_staff_actions.reopen_ticket(db, staff=agent, ticket_id=reopened.id, now=T0 + timedelta(days=400))
    await tickets_staff_actions.resolve_ticket(db, staff=agent, ticket_id=reopened.id, now=T0 + timedelta(days=401))
    now = T0 + timedelta(days=1 + DEFAULT_RETENTION_DAYS, hours=2)
    done = []
    while n := await anonymise_old_tickets(db, now=now, batch=2):
        done.append(n)
    assert done == [2, 2]  # four tickets, in batches of two; the reopened one is not due yet
    await db.refresh(reopened)
    assert reopened.anonymised_at is None
    later = T0 + timedelta(days=401 + DEFAULT_RETENTION_DAYS, hours=1)
    assert await anonymise_old_tickets(db, now=later) == 1
    assert await anonymise_old_tickets(db, now=later) == 0  # idempotent


async def test_the_scheduler_uses_the_configured_period(fresh_database_url):
    """``start_scheduler`` (the app lifespan's hook) takes the period from the settings; the daily job runs in
    the first round and then once a day (a lease)."""
    from tests.conftest import make_settings

    engine = make_engine(fresh_database_url)
    sm = make_sessionmaker(engine)
    try:
        async with sm() as session:
            agent = await create_staff(session, username="sch", password="password-123", role="agent",
                                       center_code="seoul")
            due = await _full_ticket(session, chat_id=801, at=T0, agent=agent, resolve_after=timedelta(days=1))
            not_yet = await _full_ticket(session, chat_id=802, at=T0 + timedelta(days=20), agent=agent,
                                         resolve_after=timedelta(days=1))  # resolved on day 21
            await session.commit()
        settings = make_settings(fresh_database_url, retention_days=30)
        scheduler, task = start_scheduler(sm, settings)
        await stop_scheduler(scheduler, task)  # cancelled before its first round: only its configuration is read
        assert scheduler.retention_days == 30

        first = T0 + timedelta(days=51) - timedelta(hours=6)
        rounds = Scheduler(sm, retention_days=30, holder="a")
        await rounds.run_once(now=first)
        async with sm() as session:
            anonymised = dict((await session.execute(select(Ticket.id, Ticket.anonymised_at))).all())
            assert anonymised[due.id] == first and anonymised[not_yet.id] is None
            assert "010-2345-6789" not in await _texts_of(session, due.id)
        # The second ticket is due twelve hours later, but the job runs once a day (a lease)...
        await rounds.run_once(now=first + timedelta(hours=12))
        async with sm() as session:
            assert (await session.scalar(select(Ticket.anonymised_at).where(Ticket.id == not_yet.id))) is None
        # ...so it goes the next day.
        await rounds.run_once(now=first + timedelta(days=1, minutes=1))
        async with sm() as session:
            assert (await session.scalar(select(Ticket.anonymised_at).where(Ticket.id == not_yet.id))) is not None
    finally:
        await engine.dispose()


async def test_staff_see_the_anonymised_ticket_through_the_api(db, client, make_staff):
    staff, headers = await make_staff("agent", "seoul")
    ticket = await _full_ticket(db, chat_id=901, at=T0, agent=staff, resolve_after=timedelta(days=1))
    await db.execute(update(OutboxMessage).values(status="sent"))
    assert await anonymise_old_tickets(db, now=T0 + timedelta(days=2 + DEFAULT_RETENTION_DAYS)) == 1
    await db.commit()
    r = await client.get(f"/api/v1/tickets/{ticket.id}", headers=headers)
    assert r.status_code == 200, r.text
    shown = r.json()
    shown.pop("company")  # the company record is not the ticket's: it outlives its tickets (see the report)
    text = json.dumps(shown, ensure_ascii=False)
    assert not [s for s in SECRETS_IN_TEXT if s in text], text
    assert shown["text"] == ANONYMISED_TEXT and shown["phone"] is None and shown["contact_name"] is None


async def test_personal_data_outside_tickets_is_forgotten_after_the_period(db):
    from api.companies.models import Company, OwnerChat
    from api.conversations.models import Conversation
    from api.kb.models import AskLog

    agent = await create_staff(db, username="ret-agent2", password="password-123", role="agent", center_code="seoul")
    old = await _full_ticket(db, chat_id=601, at=T0, agent=agent, resolve_after=timedelta(days=1))
    still_open = await _full_ticket(db, chat_id=602, at=T0, agent=agent, resolve_after=None)
    db.add_all([AskLog(created_at=T0, chat_id=601, text="홍길동 010-2345-6789 문의", outcome="escalate"),
                AskLog(created_at=T0 + timedelta(days=900), chat_id=601, text="최근 질문", outcome="answered"),
                Conversation(chat_id=601, state={"step": "address", "draft": "홍길동"}, updated_at=T0)])
    former_center = old.center_id
    former = Company(name="옛정밀", business_number="2208100010", address="서울 금천구 가산동 1", center_id=former_center)
    db.add(former)
    await db.flush()
    await db.execute(update(Company).values(updated_at=T0))
    await db.execute(update(OwnerChat).values(display_name="홍길동", updated_at=T0))
    now = T0 + timedelta(days=2 + DEFAULT_RETENTION_DAYS)
    assert await anonymise_old_tickets(db, now=now) == 1

    counts = await forget_stale_personal_data(db, now=now)

    assert counts["ask_logs"] == 1 and counts["conversations"] == 1
    logs = {row.text: row.chat_id for row in (await db.scalars(select(AskLog)
                                                                .execution_options(populate_existing=True))).all()}
    assert logs == {ANONYMISED_TEXT: None, "최근 질문": 601}
    assert await db.get(Conversation, 601) is None
    chats = {c.chat_id: c.display_name for c in (await db.scalars(
        select(OwnerChat).execution_options(populate_existing=True))).all()}
    assert chats[601] == "" and chats[602] == "홍길동"  # 602 still has an open ticket
    companies = {c.id: c for c in (await db.scalars(select(Company)
                                                     .execution_options(populate_existing=True))).all()}
    gone = companies[former.id]
    assert (gone.name, gone.address, gone.business_number) == ("", "", None)
    assert gone.center_id == former_center  # the statistics keep the centre
    assert old.company_id == still_open.company_id  # same business number: one company, with an open ticket
    assert companies[still_open.company_id].business_number == "1248100998"
    assert (await forget_stale_personal_data(db, now=now))["ask_logs"] == 0  # idempotent
