"""What every ticket operation shares: input cleaning and limits, ticket numbers, due times and overdue rules,
the centre's business calendar, scoping of a ticket to a staff member, and the audit event.

Plain functions; the ones taking an ``AsyncSession`` only flush, the caller commits.
"""

from __future__ import annotations

import hashlib
import unicodedata
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo
from typing import Any

from sqlalchemy import and_, literal_column, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from api.centers.models import Center, CenterClosure
from api.db import utcnow
from api.errors import Unprocessable
from api.sla import BusinessCalendar, SlaPolicy, compute_due
from api.staff.models import Staff
from api.tickets.errors import TicketNotFound
from api.tickets.models import Ticket, TicketEvent

SEOUL = ZoneInfo("Asia/Seoul")
MAX_TEXT_CHARS = 4000
MAX_REPLY_CHARS = 3500  # leaves room for the framing within Telegram's 4,096 characters
MAX_REASON_CHARS = 500
MAX_COMMENT_CHARS = 1000
MAX_COMPANY_NAME_CHARS = 200
MAX_CONTACT_NAME_CHARS = 100
MAX_QUERY_CHARS = 100
MAX_ATTACHMENT_JSON_CHARS = 2000
DUPLICATE_WINDOW = timedelta(minutes=10)
NUMBER_PREFIX = "SF"

# Spelled exactly as the partial indexes' predicate (api.tickets.models.ACTIVE_PREDICATE), inline rather
# than as a bound parameter, so that PostgreSQL can match the query to those indexes.
NOT_RESOLVED = Ticket.status != literal_column("'resolved'")

_ALLOWED_CONTROLS = {"\n", "\t"}


def clean_text(value: str | None) -> str:
    """NFC, CRLF → LF, control characters (incl. NUL, which PostgreSQL refuses) and lone surrogates (which
    cannot be stored as UTF-8) removed, outer space stripped."""
    if not value:
        return ""
    value = "".join(ch for ch in value if ch in _ALLOWED_CONTROLS or ch == "\r"
                    or unicodedata.category(ch) not in ("Cc", "Cs"))
    return unicodedata.normalize("NFC", value).replace("\r\n", "\n").replace("\r", "\n").strip()


def bounded(value: str | None, *, limit: int, code: str, what: str, required: bool = False) -> str | None:
    cleaned = clean_text(value)
    if not cleaned:
        if required:
            raise Unprocessable(f"{what}을(를) 입력해 주세요.", code=f"empty_{code}")
        return None
    if len(cleaned) > limit:
        raise Unprocessable(f"{what}은(는) {limit:,}자 이내로 입력해 주세요. (지금 {len(cleaned):,}자)",
                            code=f"{code}_too_long")
    return cleaned


def text_hash(text_value: str) -> str:
    """The duplicate-suppression key: NFKC, case- and whitespace-insensitive."""
    canonical = " ".join(unicodedata.normalize("NFKC", text_value).casefold().split())
    return hashlib.sha256(canonical.encode()).hexdigest()


def ticket_number(ticket_id: int, created_at: datetime) -> str:
    """``SF-2026-000123``: the year (Seoul) of receipt and the id, unique without any counter to race on."""
    return f"{NUMBER_PREFIX}-{created_at.astimezone(SEOUL).year}-{ticket_id:06d}"


def as_utc(now: datetime | None) -> datetime:
    """The operation's time (default: now), in UTC like everything stored."""
    return (now or utcnow()).astimezone(timezone.utc)


def due_times(created_at: datetime, calendar: BusinessCalendar, policy: SlaPolicy) -> tuple[datetime, datetime]:
    """``(first_response_due, resolution_due)`` in UTC (see ``api.sla.compute_due``)."""
    first, resolution = compute_due(created_at, calendar, policy)
    return first.astimezone(timezone.utc), resolution.astimezone(timezone.utc)


def policy_from_settings(settings) -> SlaPolicy:
    return SlaPolicy(first_response_hours=settings.first_response_hours, resolution_days=settings.resolution_days)


def is_overdue(ticket: Ticket, now: datetime) -> bool:
    if ticket.status == "resolved":
        return False
    return (ticket.first_responded_at is None and ticket.first_response_due <= now) or ticket.resolution_due <= now


def overdue_condition(now: datetime):
    return and_(NOT_RESOLVED, or_(and_(Ticket.first_responded_at.is_(None), Ticket.first_response_due <= now),
                                  Ticket.resolution_due <= now))


async def center_calendar(session: AsyncSession, center: Center, *, around: datetime) -> BusinessCalendar:
    """The centre's business calendar: its hours, public holidays and its extra closures (from a month back)."""
    start: date = around.astimezone(SEOUL).date() - timedelta(days=31)
    closures = (await session.scalars(select(CenterClosure.day).where(CenterClosure.center_id == center.id,
                                                                      CenterClosure.day >= start))).all()
    return BusinessCalendar(opens=center.opens, closes=center.closes, closures=closures)


def add_event(session: AsyncSession, ticket: Ticket, kind: str, *, at: datetime, actor_type: str,
               actor_id: int | None = None, data: dict[str, Any] | None = None) -> TicketEvent:
    event = TicketEvent(ticket_id=ticket.id, at=at, kind=kind, actor_type=actor_type, actor_id=actor_id,
                        data=data or {})
    session.add(event)
    return event


def staff_data(via: str, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    data = dict(extra or {})
    if via != "api":
        data["via"] = via
    return data


async def ticket_for_staff(session: AsyncSession, staff: Staff, ticket_id: int, *, lock: bool = False) -> Ticket:
    """The ticket if ``staff`` may see it (404 otherwise), re-read from the database; row-locked on PostgreSQL
    when ``lock`` (SQLite ignores FOR UPDATE; its writes are serialised and guarded updates do the rest)."""
    stmt = select(Ticket).where(Ticket.id == ticket_id).execution_options(populate_existing=True)
    if not staff.is_admin:
        stmt = stmt.where(Ticket.center_id == staff.center_id)
    if lock:
        stmt = stmt.with_for_update()
    ticket = await session.scalar(stmt)
    if ticket is None:
        raise TicketNotFound()
    return ticket


async def reload(session: AsyncSession, ticket_id: int) -> Ticket:
    return await session.scalar(select(Ticket).where(Ticket.id == ticket_id)
                                .execution_options(populate_existing=True))


async def record_undelivered(session: AsyncSession, *, ticket_id: int, channel: str, kind: str, error: str,
                             at: datetime) -> None:
    """A message about the ticket that its channel refused for good (the owner blocked the channel, withdrew
    consent, …): recorded on the ticket, so staff know the owner did not get it. Flushes."""
    ticket = await session.get(Ticket, ticket_id)
    if ticket is not None:
        add_event(session, ticket, "undelivered", at=at, actor_type="system",
                  data={"channel": channel, "message": kind, "error": error[:500]})
        await session.flush()
