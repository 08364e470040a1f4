"""The staff queue and the ticket page's data: a page of the tickets a staff member may see, and one ticket
with its conversation, audit trail and what the bot tried."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from api.centers.models import Center
from api.centers.service import get_center_by_code
from api.companies.models import Company
from api.errors import Forbidden, Unprocessable
from api.kb.models import AskLog
from api.staff.models import Staff
from api.tickets.base import (MAX_QUERY_CHARS, NOT_RESOLVED, NUMBER_PREFIX, as_utc, clean_text, overdue_condition,
                              ticket_for_staff)
from api.tickets.models import Ticket, TicketEvent, TicketMessage

QUEUE_STATUSES = ("active", "open", "assigned", "resolved", "all")
MAX_PAGE = 100
COUNT_CAP = 10_000


@dataclass
class QueueItem:
    ticket: Ticket
    center_code: str
    center_name: str
    assignee_name: str | None


@dataclass
class QueuePage:
    items: list[QueueItem]
    total: int  # at most COUNT_CAP
    limit: int
    offset: int
    total_capped: bool = False  # True: there are more than COUNT_CAP matching tickets


def _like_pattern(q: str) -> str:
    escaped = q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


_NUMBER_RE = re.compile(rf"{NUMBER_PREFIX}-\d{{4}}-\d{{6,}}")


def _search_condition(q: str):
    if _NUMBER_RE.fullmatch(q.upper()):  # a ticket number is unambiguous: one unique-index lookup
        return Ticket.number == q.upper()
    conditions = [Ticket.number == q.upper(), Ticket.company_name.ilike(_like_pattern(q), escape="\\"),
                  Ticket.text.ilike(_like_pattern(q), escape="\\")]
    digits = "".join(ch for ch in q if ch.isdigit())
    if len(digits) >= 3 and len(digits) == len(q.replace("-", "").replace(" ", "")):
        conditions.append(Ticket.business_number.like(f"%{digits}%"))
        if digits.isascii() and len(digits) <= 18:
            conditions.append(Ticket.id == int(digits))
    return or_(*conditions)


async def list_queue(session: AsyncSession, *, staff: Staff, status: str | None = None, overdue: bool = False,
                     mine: bool = False, unassigned: bool = False, center_code: str | None = None,
                     q: str | None = None, limit: int = 50, offset: int = 0,
                     now: datetime | None = None) -> QueuePage:
    """A page of the queue ``staff`` may see, in due order (latest due first for ``status="resolved"``, newest
    first for ``status="all"``). ``total`` counts at most ``COUNT_CAP`` tickets (``total_capped`` beyond).

    ``status``: ``active`` (default: open and assigned), ``open``, ``assigned``, ``resolved``, ``all``.
    ``overdue``: past the first-response due time without an answer, or past the resolution due time.
    ``center_code``: admins pick a centre; for an agent only their own centre is allowed (403 otherwise).
    ``q``: a ticket number, part of the company name, the question text or the business number.
    """
    now = as_utc(now)
    status = status or "active"
    if status not in QUEUE_STATUSES:
        raise Unprocessable(f"status는 {', '.join(QUEUE_STATUSES)} 중 하나여야 합니다.", code="invalid_status")
    if not 1 <= limit <= MAX_PAGE or offset < 0:
        raise Unprocessable(f"limit은 1~{MAX_PAGE}, offset은 0 이상이어야 합니다.", code="invalid_page")
    conditions = []
    center_code = clean_text(center_code)
    if center_code:
        center = await get_center_by_code(session, center_code)
        if not staff.is_admin and center.id != staff.center_id:
            raise Forbidden("다른 센터의 대기열은 볼 수 없습니다.", code="other_center")
        conditions.append(Ticket.center_id == center.id)
    elif not staff.is_admin:
        conditions.append(Ticket.center_id == staff.center_id)
    if status == "active":
        conditions.append(NOT_RESOLVED)
    elif status != "all":
        conditions.append(Ticket.status == status)
    if overdue:
        conditions.append(overdue_condition(now))
    if mine:
        conditions.append(Ticket.assignee_id == staff.id)
    if unassigned:
        conditions.append(Ticket.assignee_id.is_(None))
    query = clean_text(q)
    if query:
        if len(query) > MAX_QUERY_CHARS:
            raise Unprocessable(f"검색어는 {MAX_QUERY_CHARS}자 이내로 입력해 주세요.", code="query_too_long")
        conditions.append(_search_condition(query))
    if status == "all":
        order = (Ticket.id.desc(),)  # a history view: newest first
    elif status == "resolved":
        order = (Ticket.first_response_due.desc(), Ticket.id.desc())
    else:
        order = (Ticket.first_response_due, Ticket.id)
    rows = (await session.execute(
        select(Ticket, Center.code, Center.name, Staff.display_name)
        .join(Center, Center.id == Ticket.center_id)
        .outerjoin(Staff, Staff.id == Ticket.assignee_id)
        .where(*conditions).order_by(*order).limit(limit).offset(offset))).all()
    if len(rows) < limit and (rows or offset == 0):
        total = offset + len(rows)
    else:
        # Counting a million resolved tickets costs more than the page itself: count up to a cap.
        capped = select(Ticket.id).where(*conditions).limit(COUNT_CAP + 1).subquery()
        total = await session.scalar(select(func.count()).select_from(capped))
    items = [QueueItem(ticket=t, center_code=code, center_name=name, assignee_name=assignee)
             for t, code, name, assignee in rows]
    return QueuePage(items=items, total=min(total, COUNT_CAP), limit=limit, offset=offset,
                     total_capped=total > COUNT_CAP)


@dataclass
class TicketDetail:
    ticket: Ticket
    center: Center
    company: Company | None
    messages: list[TicketMessage]
    events: list[TicketEvent]
    ask_log: AskLog | None
    staff_names: dict[int, str] = field(default_factory=dict)

    @property
    def assignee_name(self) -> str | None:
        return self.staff_names.get(self.ticket.assignee_id) if self.ticket.assignee_id else None


async def get_ticket_detail(session: AsyncSession, *, staff: Staff, ticket_id: int) -> TicketDetail:
    """The ticket with its conversation, its audit trail and what the bot tried (the question log)."""
    ticket = await ticket_for_staff(session, staff, ticket_id)
    return await ticket_detail(session, ticket)


async def ticket_detail(session: AsyncSession, ticket: Ticket) -> TicketDetail:
    center = await session.get(Center, ticket.center_id)
    company = await session.get(Company, ticket.company_id) if ticket.company_id else None
    messages = (await session.scalars(select(TicketMessage).where(TicketMessage.ticket_id == ticket.id)
                                      .order_by(TicketMessage.created_at, TicketMessage.id))).all()
    events = (await session.scalars(select(TicketEvent).where(TicketEvent.ticket_id == ticket.id)
                                    .order_by(TicketEvent.at, TicketEvent.id))).all()
    ask_log = await session.get(AskLog, ticket.ask_log_id) if ticket.ask_log_id else None
    staff_ids = {ticket.assignee_id} | {m.author_id for m in messages} | {e.actor_id for e in events}
    staff_ids.discard(None)
    names = {}
    if staff_ids:
        names = dict((await session.execute(select(Staff.id, Staff.display_name)
                                            .where(Staff.id.in_(staff_ids)))).all())
    return TicketDetail(ticket=ticket, center=center, company=company, messages=list(messages),
                        events=list(events), ask_log=ask_log, staff_names=names)


async def assignee_name(session: AsyncSession, ticket: Ticket) -> str | None:
    if ticket.assignee_id is None:
        return None
    return await session.scalar(select(Staff.display_name).where(Staff.id == ticket.assignee_id))
