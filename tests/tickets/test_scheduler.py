"""The scheduler: overdue marking and centre notices (once), admin alerts past the resolution due time (once),
the cross-process lease, and the retention job."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from sqlalchemy import select, update

from api.db import make_engine, make_sessionmaker, utcnow
from api.outbox.models import OutboxMessage
from api.staff.service import create_staff
from api.tickets import owner_actions as tickets_owner_actions
from api.tickets import staff_actions as tickets_staff_actions
from api.tickets.models import Ticket, TicketEvent, TicketMessage
from api.tickets.models import SchedulerLease
from api.retention import anonymise_old_tickets
from api.tickets.scheduler import TICK_LEASE, Scheduler, acquire_lease, run_tick, start_scheduler, stop_scheduler
from tests.tickets.conftest import kst, outbox_rows, set_staff_group


async def make(db, *, center="seoul", chat_id=1, at=None, **fields):
    created = await tickets_owner_actions.create_ticket(db, chat_id=chat_id, text=f"문의 {chat_id}", now=at,
                                          address={"seoul": "서울 금천구", "busan": "부산 사하구"}[center], **fields)
    return created.ticket


async def kinds(db, ticket_id):
    return [e.kind for e in (await db.scalars(select(TicketEvent).where(TicketEvent.ticket_id == ticket_id)
                                               .order_by(TicketEvent.id))).all()]


async def test_overdue_tickets_are_marked_and_the_centre_told_once(db):
    await set_staff_group(db, "seoul", -500)
    monday_9 = kst(2026, 11, 23, 9)
    late = await make(db, chat_id=1, at=monday_9)              # due Mon 13:00
    answered = await make(db, chat_id=2, at=monday_9)
    later = await make(db, chat_id=3, at=kst(2026, 11, 23, 12))  # due Mon 16:00
    agent = await create_staff(db, username="a1", password="password-123", role="agent", center_code="seoul")
    await tickets_staff_actions.reply_to_ticket(db, staff=agent, ticket_id=answered.id, body="답변", now=kst(2026, 11, 23, 10))

    report = await run_tick(db, now=kst(2026, 11, 23, 12, 59))
    assert report.overdue_marked == 0
    report = await run_tick(db, now=kst(2026, 11, 23, 13, 1))
    assert (report.overdue_marked, report.centre_notices) == (1, 1)
    await db.refresh(late)
    assert late.overdue_at == kst(2026, 11, 23, 13, 1)
    notices = [m for m in await outbox_rows(db, chat_id=-500) if m.kind == "overdue_notice"]
    assert len(notices) == 1 and late.number in notices[0].text and "미배정" in notices[0].text
    assert notices[0].buttons == [[{"text": "담당하기", "data": f"claim:{late.id}"}]]
    assert (await kinds(db, late.id))[-1] == "overdue"

    again = await run_tick(db, now=kst(2026, 11, 23, 13, 30))
    assert again.overdue_marked == 0 and again.centre_notices == 0
    assert len([m for m in await outbox_rows(db, chat_id=-500) if m.kind == "overdue_notice"]) == 1
    report = await run_tick(db, now=kst(2026, 11, 23, 17))
    assert report.overdue_marked == 1  # `later`; the answered one is never overdue for its first response
    await db.refresh(answered)
    await db.refresh(later)
    assert answered.overdue_at is None and later.overdue_at == kst(2026, 11, 23, 17)


async def test_past_resolution_due_alerts_admins_once(db):
    created = kst(2026, 11, 23, 9)
    ticket = await make(db, chat_id=9, at=created)  # resolution due Thu 26 18:00
    admin = await create_staff(db, username="boss", password="password-123", role="admin")
    admin.telegram_user_id = 777
    await create_staff(db, username="quiet", password="password-123", role="admin")  # no Telegram: no DM
    await db.flush()
    report = await run_tick(db, now=kst(2026, 11, 26, 17, 59))
    assert report.escalated == 0
    report = await run_tick(db, now=kst(2026, 11, 26, 18, 1))
    assert (report.escalated, report.admin_alerts) == (1, 1)
    alerts = await outbox_rows(db, kind="admin_alert")
    assert [(a.chat_id, a.ticket_id) for a in alerts] == [(777, ticket.id)]
    assert ticket.number in alerts[0].text and "해결 기한 초과" in alerts[0].text
    again = await run_tick(db, now=kst(2026, 11, 27, 9))
    assert again.escalated == 0 and len(await outbox_rows(db, kind="admin_alert")) == 1
    await db.refresh(ticket)
    assert ticket.admin_alerted_at == kst(2026, 11, 26, 18, 1) and ticket.overdue_at is not None
    assert (await kinds(db, ticket.id))[-2:] == ["overdue", "escalated"]


async def test_resolved_tickets_are_left_alone(db):
    ticket = await make(db, chat_id=4, at=kst(2026, 11, 23, 9))
    agent = await create_staff(db, username="a2", password="password-123", role="agent", center_code="seoul")
    await tickets_staff_actions.resolve_ticket(db, staff=agent, ticket_id=ticket.id, now=kst(2026, 11, 23, 10))
    report = await run_tick(db, now=kst(2026, 12, 31, 10))
    assert report.overdue_marked == 0 and report.escalated == 0


async def test_a_transferred_ticket_can_become_overdue_again_for_its_new_centre(db):
    await set_staff_group(db, "busan", -600)
    ticket = await make(db, chat_id=5, at=kst(2026, 11, 23, 9))
    await run_tick(db, now=kst(2026, 11, 23, 14))
    admin = await create_staff(db, username="adm", password="password-123", role="admin")
    await tickets_staff_actions.transfer_ticket(db, staff=admin, ticket_id=ticket.id, center_code="busan", reason="부산 공장",
                                  now=kst(2026, 11, 23, 15))
    await db.refresh(ticket)
    assert ticket.overdue_at is None
    report = await run_tick(db, now=kst(2026, 11, 24, 11, 1))  # new due: Tue 10:00
    assert report.overdue_marked == 1 and report.centre_notices == 1
    assert [m.kind for m in await outbox_rows(db, chat_id=-600)] == ["staff_notice", "overdue_notice"]


async def test_only_one_holder_gets_the_lease_until_it_expires(db):
    now = kst(2026, 11, 24, 10)
    ttl = timedelta(seconds=90)
    assert await acquire_lease(db, name="job", holder="a", now=now, ttl=ttl)
    assert not await acquire_lease(db, name="job", holder="b", now=now + timedelta(seconds=30), ttl=ttl)
    assert await acquire_lease(db, name="job", holder="a", now=now + timedelta(seconds=30), ttl=ttl)  # renewal
    assert not await acquire_lease(db, name="job", holder="b", now=now + timedelta(seconds=119), ttl=ttl)
    assert await acquire_lease(db, name="job", holder="b", now=now + timedelta(seconds=121), ttl=ttl)
    assert not await acquire_lease(db, name="job", holder="a", now=now + timedelta(seconds=122), ttl=ttl)
    # Non-reentrant (the daily retention job): even the holder waits for the lease to run out.
    assert await acquire_lease(db, name="daily", holder="a", now=now, ttl=timedelta(days=1), reentrant=False)
    assert not await acquire_lease(db, name="daily", holder="a", now=now + timedelta(hours=1),
                                   ttl=timedelta(days=1), reentrant=False)


async def test_two_processes_one_tick(fresh_database_url):
    """Two schedulers (as in two API processes) on one database: only the lease holder works."""
    engines = [make_engine(fresh_database_url) for _ in range(2)]
    try:
        first, second = (Scheduler(make_sessionmaker(e), holder=f"proc-{i}") for i, e in enumerate(engines))
        sm = make_sessionmaker(engines[0])
        async with sm() as session:
            await tickets_owner_actions.create_ticket(session, chat_id=1, text="q", address="서울 금천구", now=kst(2026, 11, 23, 9))
            await session.commit()
        now = kst(2026, 11, 23, 15)
        results = [await first.run_once(now=now), await second.run_once(now=now)]
        assert results[0] is not None and results[0].overdue_marked == 1
        assert results[1] is None
        assert await first.run_once(now=now + timedelta(seconds=30)) is not None  # the holder renews
        assert await second.run_once(now=now + timedelta(minutes=5)) is not None  # the lease ran out
        await second.stop(now=now + timedelta(minutes=5))
        assert await first.run_once(now=now + timedelta(minutes=5, seconds=1)) is not None  # released
        async with sm() as session:
            events = (await session.scalars(select(TicketEvent.kind).where(TicketEvent.kind == "overdue"))).all()
            assert events == ["overdue"]
    finally:
        for e in engines:
            await e.dispose()


async def test_retention_anonymises_old_resolved_tickets(db):
    agent = await create_staff(db, username="ret", password="password-123", role="agent", center_code="seoul")
    old = await make(db, chat_id=70, at=kst(2022, 3, 2, 10), phone="010-1234-5678", contact_name="홍길동",
                     business_number="124-81-00998", company_name="옛날회사")
    await tickets_staff_actions.reply_to_ticket(db, staff=agent, ticket_id=old.id, body="홍길동님 답변", now=kst(2022, 3, 2, 11))
    await tickets_staff_actions.resolve_ticket(db, staff=agent, ticket_id=old.id, now=kst(2022, 3, 2, 12))
    recent = await make(db, chat_id=71, at=kst(2026, 1, 5, 10), phone="010-9999-8888")
    await tickets_staff_actions.resolve_ticket(db, staff=agent, ticket_id=recent.id, now=kst(2026, 1, 5, 12))
    still_open = await make(db, chat_id=72, at=kst(2022, 3, 2, 10), phone="010-7777-6666")
    await db.execute(update(OutboxMessage).values(status="sent"))  # delivered long ago

    assert await anonymise_old_tickets(db, now=kst(2026, 11, 24, 10)) == 1
    assert await anonymise_old_tickets(db, now=kst(2026, 11, 24, 10)) == 0  # nothing left to do
    for t in (old, recent, still_open):
        await db.refresh(t)
    assert old.anonymised_at is not None
    assert (old.phone, old.contact_name, old.business_number, old.company_name, old.address) == (
        None, None, None, None, "")
    assert "삭제" in old.text and old.region_sido  # the region stays for statistics
    bodies = (await db.scalars(select(TicketMessage.body).where(TicketMessage.ticket_id == old.id))).all()
    assert bodies and all("홍길동" not in b for b in bodies)
    sent = (await db.scalars(select(OutboxMessage.text).where(OutboxMessage.ticket_id == old.id))).all()
    assert sent and all("홍길동" not in b for b in sent)
    assert recent.phone == "010-9999-8888" and still_open.phone == "010-7777-6666"
    assert (await kinds(db, old.id))[-1] == "anonymised"


async def test_the_background_loop_ticks_and_stops_cleanly(fresh_database_url):
    engine = make_engine(fresh_database_url)
    sm = make_sessionmaker(engine)
    try:
        async with sm() as session:
            await tickets_owner_actions.create_ticket(session, chat_id=1, text="q", address="서울 금천구", now=kst(2020, 1, 6, 9))
            await session.commit()
        scheduler, task = start_scheduler(sm, settings=None)
        for _ in range(200):  # wait for the first tick (not a timing assertion: up to 20 s on a busy machine)
            async with sm() as session:
                if await session.scalar(select(Ticket.overdue_at)) is not None:
                    break
            await asyncio.sleep(0.1)
        await stop_scheduler(scheduler, task)
        assert task.cancelled()
        async with sm() as session:
            assert await session.scalar(select(Ticket.overdue_at)) is not None
            lease = await session.get(SchedulerLease, TICK_LEASE)
            assert lease.holder == scheduler.holder and lease.lease_until <= utcnow()  # released on stop
    finally:
        await engine.dispose()
