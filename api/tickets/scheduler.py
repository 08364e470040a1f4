"""The ticket scheduler: overdue marking and notices, admin alerts, and the retention job.

It runs inside each API process (started by the app lifespan when ``settings.run_scheduler``); a lease row in
``scheduler_leases``, taken with a guarded UPDATE, makes sure only one process works at a time. Each step is
also idempotent on its own (guarded updates on the ticket, outbox dedupe keys), so an expired lease or a
crash mid-tick never sends a notice twice.

``run_tick(session, now=…)`` is the unit tests call directly; ``Scheduler`` is the loop around it.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import bindparam, func, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.centers.models import Center
from api.db import utcnow
from api.outbox.service import enqueue
from api.staff.models import Staff
from api.tickets import texts
from api.tickets.models import (UNALERTED_PREDICATE, UNANSWERED_PREDICATE, SchedulerLease, Ticket, TicketEvent,
                                TicketMessage)
from api.tickets.service import NOT_RESOLVED, _add_event

log = logging.getLogger(__name__)

TICK_LEASE = "tickets.tick"
RETENTION_LEASE = "tickets.retention"
DEFAULT_INTERVAL_SECONDS = 30.0
DEFAULT_RETENTION_DAYS = 3 * 365
TICK_BATCH = 200
ANONYMISED_TEXT = "(보존 기간이 지나 삭제된 내용입니다)"


# --- the lease --------------------------------------------------------------------------------------------

async def acquire_lease(session: AsyncSession, *, name: str, holder: str, now: datetime, ttl: timedelta,
                        reentrant: bool = True) -> bool:
    """Take (or, when ``reentrant``, renew) the named lease until ``now + ttl``; False if another holder has an
    unexpired lease. A guarded UPDATE, so of two processes racing for an expired lease exactly one wins.
    Flushes only: commit right away so other processes see it."""
    free = SchedulerLease.lease_until <= now
    if reentrant:
        free = free | (SchedulerLease.holder == holder)
    result = await session.execute(
        update(SchedulerLease).where(SchedulerLease.name == name, free)
        .values(holder=holder, lease_until=now + ttl, last_run_at=now)
        .execution_options(synchronize_session=False))
    if result.rowcount == 1:
        return True
    if await session.scalar(select(SchedulerLease.name).where(SchedulerLease.name == name)) is not None:
        return False
    try:
        async with session.begin_nested():
            session.add(SchedulerLease(name=name, holder=holder, lease_until=now + ttl, last_run_at=now))
    except IntegrityError:
        return False
    return True


async def release_lease(session: AsyncSession, *, name: str, holder: str, now: datetime) -> None:
    await session.execute(update(SchedulerLease).where(SchedulerLease.name == name, SchedulerLease.holder == holder)
                          .values(lease_until=now).execution_options(synchronize_session=False))


# --- one tick ---------------------------------------------------------------------------------------------

@dataclass
class TickReport:
    overdue_marked: int = 0
    centre_notices: int = 0
    escalated: int = 0
    admin_alerts: int = 0


async def run_tick(session: AsyncSession, *, now: datetime | None = None, batch: int = TICK_BATCH) -> TickReport:
    """Mark tickets past their first-response due time without an answer as overdue and tell their centre's
    staff group (once); alert the admins (Telegram DM, once) about tickets past their resolution due time.
    Flushes; the caller commits."""
    now = (now or utcnow()).astimezone(timezone.utc)
    report = TickReport()
    centers = {c.id: c for c in (await session.scalars(select(Center))).all()}

    overdue_ids = (await session.scalars(
        select(Ticket.id).where(text(UNANSWERED_PREDICATE), Ticket.first_response_due <= now)
        .order_by(Ticket.first_response_due).limit(batch))).all()
    for ticket_id in overdue_ids:
        marked = await session.execute(
            update(Ticket).where(Ticket.id == ticket_id, Ticket.overdue_at.is_(None), NOT_RESOLVED,
                                 Ticket.first_responded_at.is_(None))
            .values(overdue_at=now).execution_options(synchronize_session=False))
        if marked.rowcount != 1:
            continue
        ticket = await session.scalar(select(Ticket).where(Ticket.id == ticket_id)
                                      .execution_options(populate_existing=True))
        report.overdue_marked += 1
        _add_event(session, ticket, "overdue", at=now, actor_type="system",
                   data={"first_response_due": ticket.first_response_due.isoformat()})
        center = centers[ticket.center_id]
        if center.telegram_chat_id is not None:
            holder = await _staff_name(session, ticket.assignee_id)
            await enqueue(session, chat_id=center.telegram_chat_id, kind="overdue_notice", ticket_id=ticket.id,
                          dedupe_key=f"overdue:{ticket.id}:{int(ticket.first_response_due.timestamp())}",
                          buttons=texts.claim_button(ticket.id) if ticket.assignee_id is None else None,
                          text=texts.staff_overdue(number=ticket.number, assignee=holder,
                                                   first_response_due=ticket.first_response_due))
            report.centre_notices += 1

    late_ids = (await session.scalars(
        select(Ticket.id).where(text(UNALERTED_PREDICATE), Ticket.resolution_due <= now)
        .order_by(Ticket.resolution_due).limit(batch))).all()
    admins = None
    for ticket_id in late_ids:
        marked = await session.execute(
            update(Ticket).where(Ticket.id == ticket_id, Ticket.admin_alerted_at.is_(None), NOT_RESOLVED)
            .values(admin_alerted_at=now, overdue_at=func.coalesce(Ticket.overdue_at, now))
            .execution_options(synchronize_session=False))
        if marked.rowcount != 1:
            continue
        ticket = await session.scalar(select(Ticket).where(Ticket.id == ticket_id)
                                      .execution_options(populate_existing=True))
        if admins is None:
            admins = (await session.scalars(select(Staff).where(Staff.role == "admin", Staff.is_active.is_(True),
                                                                Staff.telegram_user_id.is_not(None))
                                            .order_by(Staff.id))).all()
        report.escalated += 1
        _add_event(session, ticket, "escalated", at=now, actor_type="system",
                   data={"resolution_due": ticket.resolution_due.isoformat(),
                         "admins_notified": [a.id for a in admins]})
        center = centers[ticket.center_id]
        holder = await _staff_name(session, ticket.assignee_id)
        body = texts.admin_alert(number=ticket.number, center_name=center.name, assignee=holder,
                                 resolution_due=ticket.resolution_due,
                                 first_responded=ticket.first_responded_at is not None)
        stamp = int(ticket.resolution_due.timestamp())
        for admin in admins:
            await enqueue(session, chat_id=admin.telegram_user_id, kind="admin_alert", ticket_id=ticket.id,
                          dedupe_key=f"admin-alert:{ticket.id}:{admin.id}:{stamp}", text=body)
            report.admin_alerts += 1
    await session.flush()
    return report


async def _staff_name(session: AsyncSession, staff_id: int | None) -> str | None:
    if staff_id is None:
        return None
    return await session.scalar(select(Staff.display_name).where(Staff.id == staff_id))


# --- retention --------------------------------------------------------------------------------------------

# The keys of ``ticket_events.data`` that hold staff free text, which may name people or carry phone numbers:
# the resolve note (``resolved``) and the transfer and reopen reasons (``transferred``, ``reopened``). Anywhere
# in an anonymised ticket's events (nested too) their values become ``ANONYMISED_TEXT``. Every other key is a
# code, an id, a date, a count or a flag and stays for the statistics. An event that gains a free-text field
# must add its key here.
EVENT_FREE_TEXT_KEYS = frozenset({"note", "reason"})


def redact_event_data(data: Any) -> Any:
    """``data`` with the value of every free-text key (``EVENT_FREE_TEXT_KEYS``, at any depth) replaced by
    ``ANONYMISED_TEXT``; empty values (None, "") stay as they are, and so does everything else."""
    if isinstance(data, dict):
        return {key: ANONYMISED_TEXT if key in EVENT_FREE_TEXT_KEYS and value not in (None, "")
                else redact_event_data(value) for key, value in data.items()}
    if isinstance(data, list):
        return [redact_event_data(value) for value in data]
    return data


async def anonymise_old_tickets(session: AsyncSession, *, now: datetime | None = None,
                                older_than_days: int = DEFAULT_RETENTION_DAYS, batch: int = 500) -> int:
    """Remove the personal data of tickets resolved more than ``older_than_days`` ago: the question and the
    conversation, the address below the 시군구, the contact name, phone and business number, the rating
    comment, the outbox copies of messages, and the staff free text in the audit trail (``EVENT_FREE_TEXT_KEYS``
    of the events' data; the ``ticket_events`` triggers allow that edit, and only that one, once the ticket is
    anonymised). What remains (centre, region, dates, rating, the events with their codes, ids and dates) keeps
    the statistics; an ``anonymised`` event records the run. Returns how many tickets were anonymised in this
    batch."""
    now = (now or utcnow()).astimezone(timezone.utc)
    cutoff = now - timedelta(days=older_than_days)
    ids = (await session.scalars(
        select(Ticket.id).where(Ticket.status == "resolved", Ticket.resolved_at < cutoff,
                                Ticket.anonymised_at.is_(None)).order_by(Ticket.id).limit(batch))).all()
    if not ids:
        return 0
    from api.outbox.models import OutboxMessage

    await session.execute(
        update(Ticket).where(Ticket.id.in_(ids))
        .values(text=ANONYMISED_TEXT, address="", company_name=None, business_number=None, contact_name=None,
                phone=None, rating_comment=None, anonymised_at=now)
        .execution_options(synchronize_session=False))
    await session.execute(update(TicketMessage).where(TicketMessage.ticket_id.in_(ids))
                          .values(body=ANONYMISED_TEXT, attachment=None)
                          .execution_options(synchronize_session=False))
    await session.execute(update(OutboxMessage).where(OutboxMessage.ticket_id.in_(ids),
                                                      OutboxMessage.status != "pending")
                          .values(text=ANONYMISED_TEXT, buttons=None)
                          .execution_options(synchronize_session=False))
    # After the tickets are marked: the triggers let an event's data change only once its ticket is anonymised.
    events = (await session.execute(select(TicketEvent.id, TicketEvent.data)
                                    .where(TicketEvent.ticket_id.in_(ids)))).all()
    redacted = [{"event_id": event_id, "clean": clean} for event_id, data in events
                if (clean := redact_event_data(data)) != data]
    if redacted:
        await session.execute(update(TicketEvent.__table__).where(TicketEvent.id == bindparam("event_id"))
                              .values(data=bindparam("clean")), redacted)
    for ticket_id in ids:
        session.add(TicketEvent(ticket_id=ticket_id, at=now, kind="anonymised", actor_type="system",
                                data={"older_than_days": older_than_days}))
    await session.flush()
    return len(ids)


async def forget_stale_personal_data(session: AsyncSession, *, now: datetime | None = None,
                                     older_than_days: int = DEFAULT_RETENTION_DAYS) -> dict[str, int]:
    """The personal data kept outside tickets, once untouched for the retention period: questions in the ask
    log (text and chat), conversation states, owner chats' display names, and companies' names, business
    numbers and addresses (their region and centre stay for the statistics) when none of their tickets still
    keeps personal data. Returns how many rows of each kind were cleared."""
    from api.companies.models import Company, OwnerChat
    from api.conversations.models import Conversation
    from api.kb.models import AskLog

    now = (now or utcnow()).astimezone(timezone.utc)
    cutoff = now - timedelta(days=older_than_days)
    live_ticket = select(Ticket.id).where(Ticket.anonymised_at.is_(None))
    counts = {}
    result = await session.execute(
        update(AskLog).where(AskLog.created_at < cutoff, AskLog.text != ANONYMISED_TEXT)
        .values(text=ANONYMISED_TEXT, chat_id=None).execution_options(synchronize_session=False))
    counts["ask_logs"] = result.rowcount
    result = await session.execute(
        Conversation.__table__.delete().where(Conversation.updated_at < cutoff))
    counts["conversations"] = result.rowcount
    result = await session.execute(
        update(OwnerChat).where(OwnerChat.updated_at < cutoff, OwnerChat.display_name != "",
                                ~live_ticket.where(Ticket.chat_id == OwnerChat.chat_id).exists())
        .values(display_name="").execution_options(synchronize_session=False))
    counts["owner_chats"] = result.rowcount
    result = await session.execute(
        update(Company).where(Company.updated_at < cutoff,
                              (Company.name != "") | (Company.address != "") | Company.business_number.is_not(None),
                              ~live_ticket.where(Ticket.company_id == Company.id).exists())
        .values(name="", address="", business_number=None).execution_options(synchronize_session=False))
    counts["companies"] = result.rowcount
    await session.flush()
    return counts


# --- the loop ---------------------------------------------------------------------------------------------

class Scheduler:
    """Runs ``run_tick`` every ``interval`` seconds (and the retention job daily) in whichever process holds
    the lease."""

    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession], *, interval: float = DEFAULT_INTERVAL_SECONDS,
                 retention_days: int = DEFAULT_RETENTION_DAYS, holder: str | None = None) -> None:
        self.sessionmaker = sessionmaker
        self.interval = interval
        self.retention_days = retention_days
        self.holder = holder or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.lease_ttl = timedelta(seconds=max(3 * interval, 60))

    async def run_once(self, *, now: datetime | None = None) -> TickReport | None:
        """One round: None when another process holds the lease."""
        now = (now or utcnow()).astimezone(timezone.utc)
        async with self.sessionmaker() as session:
            got = await acquire_lease(session, name=TICK_LEASE, holder=self.holder, now=now, ttl=self.lease_ttl)
            await session.commit()
        if not got:
            return None
        async with self.sessionmaker() as session:
            report = await run_tick(session, now=now)
            await session.commit()
        async with self.sessionmaker() as session:
            due = await acquire_lease(session, name=RETENTION_LEASE, holder=self.holder, now=now,
                                      ttl=timedelta(days=1), reentrant=False)
            await session.commit()
        if due:
            async with self.sessionmaker() as session:
                while await anonymise_old_tickets(session, now=now, older_than_days=self.retention_days):
                    await session.commit()
                await forget_stale_personal_data(session, now=now, older_than_days=self.retention_days)
                await session.commit()
        return report

    async def run_forever(self) -> None:
        while True:
            try:
                report = await self.run_once()
                if report and (report.overdue_marked or report.escalated):
                    log.info("scheduler: %s", report)
            except asyncio.CancelledError:
                raise
            except Exception:  # a database hiccup must not kill the loop; the next tick retries
                log.exception("scheduler tick failed")
            await asyncio.sleep(self.interval)

    async def stop(self, *, now: datetime | None = None) -> None:
        """Give the lease up so another process can take over at once."""
        try:
            async with self.sessionmaker() as session:
                await release_lease(session, name=TICK_LEASE, holder=self.holder, now=now or utcnow())
                await session.commit()
        except Exception:
            log.warning("could not release the scheduler lease", exc_info=True)


def start_scheduler(sessionmaker: async_sessionmaker[AsyncSession], settings) -> tuple[Scheduler, asyncio.Task]:
    """Start the loop as a background task of the running event loop (the app lifespan calls this)."""
    scheduler = Scheduler(sessionmaker, retention_days=getattr(settings, "retention_days", DEFAULT_RETENTION_DAYS))
    return scheduler, asyncio.create_task(scheduler.run_forever(), name="ticket-scheduler")


async def stop_scheduler(scheduler: Scheduler, task: asyncio.Task) -> None:
    task.cancel()
    try:
        await task
    except asyncio.CancelledError:
        pass
    await scheduler.stop()
