"""The ticket scheduler: overdue marking and notices, admin alerts, and the daily retention job (``api.retention``).

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

from sqlalchemy import func, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.centers.models import Center
from api.chats.service import Recipient
from api.db import utcnow
from api.privacy import DEFAULT_RETENTION_DAYS
from api.retention import run_retention
from api.outbox.service import enqueue
from api.staff.models import Staff
from api.tickets import texts
from api.tickets.models import (UNALERTED_PREDICATE, UNANSWERED_PREDICATE, SchedulerLease, Ticket)
from api.tickets.base import NOT_RESOLVED, add_event

log = logging.getLogger(__name__)

TICK_LEASE = "tickets.tick"
RETENTION_LEASE = "tickets.retention"
DEFAULT_INTERVAL_SECONDS = 30.0
TICK_BATCH = 200


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
        add_event(session, ticket, "overdue", at=now, actor_type="system",
                   data={"first_response_due": ticket.first_response_due.isoformat()})
        center = centers[ticket.center_id]
        if center.telegram_chat_id is not None:
            holder = await _staff_name(session, ticket.assignee_id)
            await enqueue(session, to=Recipient.telegram(center.telegram_chat_id), kind="overdue_notice",
                          ticket_id=ticket.id,
                          dedupe_key=f"overdue:{ticket.id}:{int(ticket.first_response_due.timestamp())}",
                          buttons=texts.claim_keyboard(ticket.id) if ticket.assignee_id is None else None,
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
        add_event(session, ticket, "escalated", at=now, actor_type="system",
                   data={"resolution_due": ticket.resolution_due.isoformat(),
                         "admins_notified": [a.id for a in admins]})
        center = centers[ticket.center_id]
        holder = await _staff_name(session, ticket.assignee_id)
        body = texts.admin_alert(number=ticket.number, center_name=center.name, assignee=holder,
                                 resolution_due=ticket.resolution_due,
                                 first_responded=ticket.first_responded_at is not None)
        stamp = int(ticket.resolution_due.timestamp())
        for admin in admins:
            await enqueue(session, to=Recipient.telegram(admin.telegram_user_id), kind="admin_alert", ticket_id=ticket.id,
                          dedupe_key=f"admin-alert:{ticket.id}:{admin.id}:{stamp}", text=body)
            report.admin_alerts += 1
    await session.flush()
    return report


async def _staff_name(session: AsyncSession, staff_id: int | None) -> str | None:
    if staff_id is None:
        return None
    return await session.scalar(select(Staff.display_name).where(Staff.id == staff_id))


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
            await run_retention(self.sessionmaker, now=now, older_than_days=self.retention_days)
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
