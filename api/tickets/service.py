"""Tickets: creation from the bot, the staff queue, and every change to a ticket, each with its audit event.

Plain keyword-only async functions over an ``AsyncSession``; they flush, the caller (request dependency,
scheduler, test) commits. Scoping: an agent sees only their centre's tickets (another centre's ticket is a
404); an admin sees all. Staff actions take the acting ``Staff`` (``via="telegram"`` when the bot acts for a
staff member linked by Telegram account); owner actions are identified by ``chat_id`` (the bot's service
token).
"""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from typing import Any

from sqlalchemy import and_, func, literal_column, or_, select, text, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncSession

from api.centers.models import Center, CenterClosure
from api.centers.service import get_center_by_code, route_or_raise
from api.companies.models import Company
from api.companies.service import Place, link_chat, upsert_company
from api.companies.validation import normalize_business_number, normalize_phone
from api.db import utcnow
from api.errors import Conflict, Forbidden, NotFound, Unprocessable
from api.kb.models import AskLog
from api.outbox.service import enqueue
from api.sla import BusinessCalendar, SlaPolicy, compute_due, describe_due
from api.staff.models import Staff
from api.tickets import texts
from api.tickets.models import Ticket, TicketEvent, TicketMessage

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
QUEUE_STATUSES = ("active", "open", "assigned", "resolved", "all")
MAX_PAGE = 100
COUNT_CAP = 10_000

# Spelled exactly as the partial indexes' predicate (api.tickets.models.ACTIVE_PREDICATE), inline rather
# than as a bound parameter, so that PostgreSQL can match the query to those indexes.
NOT_RESOLVED = Ticket.status != literal_column("'resolved'")


# --- errors -----------------------------------------------------------------------------------------------

class TicketNotFound(NotFound):
    code = "ticket_not_found"
    detail = "문의를 찾을 수 없습니다."


class NoOpenTicket(NotFound):
    code = "no_open_ticket"
    detail = "이 대화에는 진행 중인 문의가 없습니다. 새 문의로 접수해 주세요."


class TicketResolved(Conflict):
    code = "ticket_resolved"
    detail = "이미 답변 완료된 문의입니다. 필요하면 먼저 다시 열어 주세요."


class TicketNotResolved(Conflict):
    code = "ticket_not_resolved"
    detail = "답변 완료된 문의가 아닙니다."


class AlreadyClaimed(Conflict):
    code = "already_claimed"
    detail = "다른 직원이 이미 담당하고 있는 문의입니다."


# --- small helpers ----------------------------------------------------------------------------------------

_ALLOWED_CONTROLS = {"\n", "\t"}


def clean_text(value: str | None) -> str:
    """NFC, CRLF → LF, control characters (incl. NUL, which PostgreSQL refuses) and lone surrogates (which
    cannot be stored as UTF-8) removed, outer space stripped."""
    if not value:
        return ""
    value = "".join(ch for ch in value if ch in _ALLOWED_CONTROLS or ch == "\r"
                    or unicodedata.category(ch) not in ("Cc", "Cs"))
    return unicodedata.normalize("NFC", value).replace("\r\n", "\n").replace("\r", "\n").strip()


def _bounded(value: str | None, *, limit: int, code: str, what: str, required: bool = False) -> str | None:
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
    return f"{NUMBER_PREFIX}-{created_at.astimezone(texts.SEOUL).year}-{ticket_id:06d}"


def _as_utc(now: datetime | None) -> datetime:
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
    start: date = around.astimezone(texts.SEOUL).date() - timedelta(days=31)
    closures = (await session.scalars(select(CenterClosure.day).where(CenterClosure.center_id == center.id,
                                                                      CenterClosure.day >= start))).all()
    return BusinessCalendar(opens=center.opens, closes=center.closes, closures=closures)


def _add_event(session: AsyncSession, ticket: Ticket, kind: str, *, at: datetime, actor_type: str,
               actor_id: int | None = None, data: dict[str, Any] | None = None) -> TicketEvent:
    event = TicketEvent(ticket_id=ticket.id, at=at, kind=kind, actor_type=actor_type, actor_id=actor_id,
                        data=data or {})
    session.add(event)
    return event


def _staff_data(via: str, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    data = dict(extra or {})
    if via != "api":
        data["via"] = via
    return data


async def _ticket_for_staff(session: AsyncSession, staff: Staff, ticket_id: int, *, lock: bool = False) -> Ticket:
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


async def _reload(session: AsyncSession, ticket_id: int) -> Ticket:
    return await session.scalar(select(Ticket).where(Ticket.id == ticket_id)
                                .execution_options(populate_existing=True))


def _bot_tried(ask_log: AskLog | None) -> str | None:
    """A one-line summary of the bot's best candidates for the staff notice."""
    if ask_log is None or not ask_log.candidates:
        return None
    parts = []
    for c in ask_log.candidates[:3]:
        if not isinstance(c, dict):
            continue
        label = c.get("title") or c.get("entry_id") or c.get("id")
        score = c.get("score")
        if label:
            parts.append(f"{label} ({score:.2f})" if isinstance(score, (int, float)) else str(label))
    return ", ".join(parts) or None


# --- creation (bot) ---------------------------------------------------------------------------------------

@dataclass
class CreatedTicket:
    ticket: Ticket
    center: Center
    created: bool  # False: the same chat sent the same text within DUPLICATE_WINDOW; this is that ticket
    acknowledgement: str


async def _advisory_lock_chat(session: AsyncSession, chat_id: int) -> None:
    """Serialise ticket creation per chat on PostgreSQL (duplicate suppression under concurrency)."""
    if session.get_bind().dialect.name == "postgresql":
        key = (chat_id ^ 0x5F3759DF) & 0x7FFFFFFF
        await session.execute(text("SELECT pg_advisory_xact_lock(7401, CAST(:k AS integer))"), {"k": key})


async def create_ticket(session: AsyncSession, *, chat_id: int, text: str, address: str,
                        company_name: str | None = None, business_number: str | None = None,
                        contact_name: str | None = None, phone: str | None = None, ask_log_id: int | None = None,
                        display_name: str | None = None, policy: SlaPolicy | None = None,
                        now: datetime | None = None) -> CreatedTicket:
    """A ticket in the queue of the centre serving ``address`` (422 when unroutable or ambiguous).

    Input is validated before anything is written (text ≤ ``MAX_TEXT_CHARS``, business number with its check
    digit, phone). The same chat sending the same text within ``DUPLICATE_WINDOW`` gets the earlier ticket
    back (``created=False``). Notifies the centre's Telegram staff group through the outbox.
    """
    now = _as_utc(now)
    policy = policy or SlaPolicy()
    body = _bounded(text, limit=MAX_TEXT_CHARS, code="text", what="문의 내용", required=True)
    address_clean = clean_text(address)
    bn = normalize_business_number(business_number) if clean_text(business_number) else None
    ph = normalize_phone(phone) if clean_text(phone) else None
    name = _bounded(company_name, limit=MAX_COMPANY_NAME_CHARS, code="company_name", what="회사 이름")
    contact = _bounded(contact_name, limit=MAX_CONTACT_NAME_CHARS, code="contact_name", what="담당자 이름")
    routed = await route_or_raise(session, address_clean)
    center = routed.center
    ask_log = None
    if ask_log_id is not None:
        ask_log = await session.get(AskLog, ask_log_id)
        if ask_log is None or (ask_log.chat_id is not None and ask_log.chat_id != chat_id):
            raise Unprocessable("연결할 질문 기록(ask_log_id)을 찾을 수 없습니다.", code="unknown_ask_log")

    await _advisory_lock_chat(session, chat_id)
    digest = text_hash(body)
    existing = await session.scalar(
        select(Ticket).where(Ticket.chat_id == chat_id, Ticket.text_hash == digest,
                             Ticket.created_at >= now - DUPLICATE_WINDOW)
        .order_by(Ticket.created_at.desc()).limit(1))
    if existing is not None:
        existing_center = await session.get(Center, existing.center_id)
        calendar = await center_calendar(session, existing_center, around=now)
        ack = texts.acknowledgement(number=existing.number, center_name=existing_center.name,
                                    first_response_due=existing.first_response_due, now=now, calendar=calendar,
                                    duplicate=True, answered=existing.first_responded_at is not None)
        return CreatedTicket(ticket=existing, center=existing_center, created=False, acknowledgement=ack)

    place = Place(address=address_clean, sido=routed.region.sido, sigungu=routed.region.sigungu,
                  center_id=center.id)
    company = await upsert_company(session, chat_id=chat_id, place=place, name=name, business_number=bn, now=now)
    if display_name:
        await link_chat(session, chat_id=chat_id, company_id=company.id, display_name=clean_text(display_name),
                        now=now)
    calendar = await center_calendar(session, center, around=now)
    first_due, resolution_due = due_times(now, calendar, policy)
    ticket = Ticket(number=f"PENDING-{uuid.uuid4().hex[:20]}", center_id=center.id, company_id=company.id,
                    chat_id=chat_id, status="open", text=body, text_hash=digest, address=address_clean,
                    region_sido=routed.region.sido, region_sigungu=routed.region.sigungu,
                    company_name=name or company.name or None, business_number=bn, contact_name=contact, phone=ph,
                    ask_log_id=ask_log_id, created_at=now, updated_at=now, first_response_due=first_due,
                    resolution_due=resolution_due)
    session.add(ticket)
    await session.flush()
    ticket.number = ticket_number(ticket.id, now)
    session.add(TicketMessage(ticket_id=ticket.id, direction="owner", body=body, created_at=now))
    _add_event(session, ticket, "created", at=now, actor_type="bot",
               data={"center": center.code, "company_id": company.id, "ask_log_id": ask_log_id,
                     "first_response_due": first_due.isoformat(), "resolution_due": resolution_due.isoformat()})
    await session.flush()
    if center.telegram_chat_id is not None:
        await enqueue(session, chat_id=center.telegram_chat_id, kind="staff_notice", ticket_id=ticket.id,
                      dedupe_key=f"ticket-new:{ticket.id}", buttons=texts.claim_button(ticket.id),
                      text=texts.staff_new_ticket(number=ticket.number, text=body, company_name=ticket.company_name,
                                                  business_number=bn, contact_name=contact, phone=ph,
                                                  address=address_clean, sido=ticket.region_sido,
                                                  sigungu=ticket.region_sigungu, first_response_due=first_due,
                                                  bot_tried=_bot_tried(ask_log)))
    ack = texts.acknowledgement(number=ticket.number, center_name=center.name, first_response_due=first_due,
                                now=now, calendar=calendar)
    return CreatedTicket(ticket=ticket, center=center, created=True, acknowledgement=ack)


# --- the staff queue --------------------------------------------------------------------------------------

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
    now = _as_utc(now)
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


# --- one ticket -------------------------------------------------------------------------------------------

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
    ticket = await _ticket_for_staff(session, staff, ticket_id)
    return await _detail(session, ticket)


async def _detail(session: AsyncSession, ticket: Ticket) -> TicketDetail:
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


# --- staff actions ----------------------------------------------------------------------------------------

async def _guarded_assign(session: AsyncSession, ticket_id: int, staff: Staff, now: datetime) -> bool:
    """Assign only if nobody has: ``UPDATE … WHERE assignee_id IS NULL``; True when this call won."""
    stmt = (update(Ticket).where(Ticket.id == ticket_id, Ticket.assignee_id.is_(None), NOT_RESOLVED)
            .values(assignee_id=staff.id, status="assigned", updated_at=now)
            .execution_options(synchronize_session=False))
    try:
        result = await session.execute(stmt)
    except OperationalError as exc:
        # SQLite: another connection wrote first and our snapshot is stale ("database is locked").
        if session.get_bind().dialect.name == "sqlite" and "locked" in str(exc).lower():
            raise AlreadyClaimed("다른 직원이 동시에 이 문의를 처리했습니다. 새로 고친 뒤 확인해 주세요.") from exc
        raise
    return result.rowcount == 1


async def claim_ticket(session: AsyncSession, *, staff: Staff, ticket_id: int, via: str = "api",
                       now: datetime | None = None) -> Ticket:
    """Take the ticket. Atomic: of two staff claiming at once exactly one wins, the other gets 409
    (``already_claimed``). Claiming a ticket one already holds is a no-op."""
    now = _as_utc(now)
    ticket = await _ticket_for_staff(session, staff, ticket_id, lock=True)
    if ticket.status == "resolved":
        raise TicketResolved("답변 완료된 문의는 담당할 수 없습니다. 먼저 다시 열어 주세요.")
    if ticket.assignee_id == staff.id:
        return ticket
    if ticket.assignee_id is None and await _guarded_assign(session, ticket_id, staff, now):
        ticket = await _reload(session, ticket_id)
        _add_event(session, ticket, "claimed", at=now, actor_type="staff", actor_id=staff.id, data=_staff_data(via))
        await session.flush()
        return ticket
    ticket = await _reload(session, ticket_id)
    if ticket.assignee_id == staff.id:
        return ticket
    if ticket.status == "resolved":
        raise TicketResolved("답변 완료된 문의는 담당할 수 없습니다.")
    holder = await assignee_name(session, ticket)
    raise AlreadyClaimed(f"{holder} 님이 이미 담당하고 있는 문의입니다." if holder else None)


async def reply_to_ticket(session: AsyncSession, *, staff: Staff, ticket_id: int, body: str, via: str = "api",
                          now: datetime | None = None) -> tuple[Ticket, TicketMessage]:
    """A staff answer: stored, the first response time set, and queued for the owner's chat. Replying to an
    unassigned ticket assigns it to the replier."""
    now = _as_utc(now)
    text_body = _bounded(body, limit=MAX_REPLY_CHARS, code="reply", what="답변", required=True)
    ticket = await _ticket_for_staff(session, staff, ticket_id, lock=True)
    if ticket.status == "resolved":
        raise TicketResolved("답변 완료된 문의입니다. 추가로 답변하려면 먼저 다시 열어 주세요.")
    if ticket.assignee_id is None and await _guarded_assign(session, ticket_id, staff, now):
        ticket = await _reload(session, ticket_id)
        _add_event(session, ticket, "claimed", at=now, actor_type="staff", actor_id=staff.id,
                   data=_staff_data(via, {"by_reply": True}))
    message = TicketMessage(ticket_id=ticket.id, direction="staff", author_id=staff.id, body=text_body,
                            created_at=now)
    session.add(message)
    first = ticket.first_responded_at is None
    if first:
        ticket.first_responded_at = now
    ticket.updated_at = now
    await session.flush()
    _add_event(session, ticket, "replied", at=now, actor_type="staff", actor_id=staff.id,
               data=_staff_data(via, {"message_id": message.id, "first_response": first}))
    center = await session.get(Center, ticket.center_id)
    await enqueue(session, chat_id=ticket.chat_id, kind="staff_reply", ticket_id=ticket.id,
                  dedupe_key=f"reply:{message.id}",
                  text=texts.owner_reply(center_name=center.name, number=ticket.number, body=text_body))
    await session.flush()
    return ticket, message


async def transfer_ticket(session: AsyncSession, *, staff: Staff, ticket_id: int, center_code: str, reason: str,
                          policy: SlaPolicy | None = None, now: datetime | None = None) -> Ticket:
    """Move the ticket to another centre's queue: reason recorded, assignee cleared, due times recomputed on
    the new centre's calendar, the new centre's staff group and the owner told."""
    now = _as_utc(now)
    policy = policy or SlaPolicy()
    why = _bounded(reason, limit=MAX_REASON_CHARS, code="reason", what="이관 사유", required=True)
    ticket = await _ticket_for_staff(session, staff, ticket_id, lock=True)
    if ticket.status == "resolved":
        raise TicketResolved("답변 완료된 문의는 이관할 수 없습니다. 먼저 다시 열어 주세요.")
    target = await get_center_by_code(session, clean_text(center_code))
    if target.id == ticket.center_id:
        raise Unprocessable("이미 그 센터의 문의입니다. 다른 센터를 골라 주세요.", code="same_center")
    source = await session.get(Center, ticket.center_id)
    calendar = await center_calendar(session, target, around=now)
    first_due, resolution_due = due_times(now, calendar, policy)
    previous_assignee = ticket.assignee_id
    ticket.center_id = target.id
    ticket.assignee_id = None
    ticket.status = "open"
    ticket.first_response_due = first_due
    ticket.resolution_due = resolution_due
    ticket.overdue_at = None
    ticket.admin_alerted_at = None
    ticket.updated_at = now
    event = _add_event(session, ticket, "transferred", at=now, actor_type="staff", actor_id=staff.id,
                       data={"from": source.code, "to": target.code, "reason": why,
                             "previous_assignee_id": previous_assignee,
                             "first_response_due": first_due.isoformat(),
                             "resolution_due": resolution_due.isoformat()})
    await session.flush()
    if target.telegram_chat_id is not None:
        await enqueue(session, chat_id=target.telegram_chat_id, kind="staff_notice", ticket_id=ticket.id,
                      dedupe_key=f"ticket-transfer:{event.id}", buttons=texts.claim_button(ticket.id),
                      text=texts.staff_transferred(number=ticket.number, from_center=source.name, reason=why,
                                                   text=ticket.text, first_response_due=first_due))
    if ticket.first_responded_at is None:
        promise = describe_due(first_due, now, calendar)
    else:
        promise = describe_due(resolution_due, now, calendar)
    await enqueue(session, chat_id=ticket.chat_id, kind="ticket_update", ticket_id=ticket.id,
                  dedupe_key=f"owner-transfer:{event.id}",
                  text=texts.owner_transferred(number=ticket.number, center_name=target.name, promise=promise))
    await session.flush()
    return ticket


async def resolve_ticket(session: AsyncSession, *, staff: Staff, ticket_id: int, note: str | None = None,
                         via: str = "api", now: datetime | None = None) -> Ticket:
    """Mark the ticket answered and ask the owner for a 1–5 rating (buttons ``rate:<ticket_id>:<n>``)."""
    now = _as_utc(now)
    note_text = _bounded(note, limit=MAX_REASON_CHARS, code="note", what="메모")
    ticket = await _ticket_for_staff(session, staff, ticket_id, lock=True)
    if ticket.status == "resolved":
        raise TicketResolved("이미 답변 완료된 문의입니다.")
    if ticket.assignee_id is None:
        ticket.assignee_id = staff.id
    ticket.status = "resolved"
    ticket.resolved_at = now
    ticket.updated_at = now
    data = _staff_data(via, {"note": note_text} if note_text else None)
    event = _add_event(session, ticket, "resolved", at=now, actor_type="staff", actor_id=staff.id, data=data)
    await session.flush()
    center = await session.get(Center, ticket.center_id)
    await enqueue(session, chat_id=ticket.chat_id, kind="rating_request", ticket_id=ticket.id,
                  dedupe_key=f"rating-request:{event.id}", buttons=texts.rating_buttons(ticket.id),
                  text=texts.rating_request(center_name=center.name, number=ticket.number))
    await session.flush()
    return ticket


async def reopen_ticket(session: AsyncSession, *, staff: Staff, ticket_id: int, reason: str | None = None,
                        policy: SlaPolicy | None = None, via: str = "api", now: datetime | None = None) -> Ticket:
    """Put a resolved ticket back in the queue (with its assignee, if any); resolution due time recomputed."""
    now = _as_utc(now)
    policy = policy or SlaPolicy()
    why = _bounded(reason, limit=MAX_REASON_CHARS, code="reason", what="사유")
    ticket = await _ticket_for_staff(session, staff, ticket_id, lock=True)
    if ticket.status != "resolved":
        raise TicketNotResolved("답변 완료된 문의만 다시 열 수 있습니다.")
    center = await session.get(Center, ticket.center_id)
    calendar = await center_calendar(session, center, around=now)
    _, resolution_due = due_times(now, calendar, policy)
    ticket.status = "assigned" if ticket.assignee_id is not None else "open"
    ticket.resolved_at = None
    ticket.resolution_due = resolution_due
    ticket.admin_alerted_at = None
    ticket.updated_at = now
    _add_event(session, ticket, "reopened", at=now, actor_type="staff", actor_id=staff.id,
               data=_staff_data(via, {"reason": why, "resolution_due": resolution_due.isoformat()}))
    await session.flush()
    return ticket


# --- owner actions (through the bot) ----------------------------------------------------------------------

@dataclass
class OwnerTicket:
    ticket: Ticket
    center: Center
    promise: str | None  # when a person will answer, for tickets still waiting for a first response


async def list_chat_tickets(session: AsyncSession, *, chat_id: int, limit: int = 20,
                            now: datetime | None = None) -> list[OwnerTicket]:
    """The chat's tickets, newest first, with a plain-Korean promise for those still waiting."""
    now = _as_utc(now)
    limit = max(1, min(limit, MAX_PAGE))
    rows = (await session.execute(select(Ticket, Center).join(Center, Center.id == Ticket.center_id)
                                  .where(Ticket.chat_id == chat_id)
                                  .order_by(Ticket.created_at.desc(), Ticket.id.desc()).limit(limit))).all()
    calendars: dict[int, BusinessCalendar] = {}
    out = []
    for ticket, center in rows:
        promise = None
        if ticket.status != "resolved" and ticket.first_responded_at is None:
            if center.id not in calendars:
                calendars[center.id] = await center_calendar(session, center, around=now)
            promise = describe_due(ticket.first_response_due, now, calendars[center.id])
        out.append(OwnerTicket(ticket=ticket, center=center, promise=promise))
    return out


def _check_attachment(attachment: dict | None) -> dict | None:
    if attachment is None:
        return None
    try:
        encoded = json.dumps(attachment, ensure_ascii=False)
    except (TypeError, ValueError) as exc:
        raise Unprocessable("첨부 정보 형식이 올바르지 않습니다.", code="invalid_attachment") from exc
    if len(encoded) > MAX_ATTACHMENT_JSON_CHARS:
        raise Unprocessable("첨부 정보가 너무 큽니다.", code="invalid_attachment")
    try:
        encoded.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise Unprocessable("첨부 정보 형식이 올바르지 않습니다.", code="invalid_attachment") from exc
    if "\\u0000" in encoded:
        raise Unprocessable("첨부 정보 형식이 올바르지 않습니다.", code="invalid_attachment")
    return attachment


async def append_owner_message(session: AsyncSession, *, chat_id: int, text: str | None,
                               attachment: dict | None = None,
                               now: datetime | None = None) -> tuple[Ticket, TicketMessage]:
    """The owner's follow-up, appended to the chat's newest open ticket (404 ``no_open_ticket`` when none);
    the centre's staff group is told."""
    now = _as_utc(now)
    body = _bounded(text, limit=MAX_TEXT_CHARS, code="text", what="메시지", required=attachment is None) or ""
    attachment = _check_attachment(attachment)
    ticket = await session.scalar(select(Ticket).where(Ticket.chat_id == chat_id, NOT_RESOLVED)
                                  .order_by(Ticket.created_at.desc(), Ticket.id.desc()).limit(1)
                                  .with_for_update().execution_options(populate_existing=True))
    if ticket is None:
        raise NoOpenTicket()
    message = TicketMessage(ticket_id=ticket.id, direction="owner", body=body, attachment=attachment,
                            created_at=now)
    session.add(message)
    ticket.updated_at = now
    await session.flush()
    _add_event(session, ticket, "owner_message", at=now, actor_type="owner",
               data={"message_id": message.id, "attachment": attachment is not None})
    center = await session.get(Center, ticket.center_id)
    if center.telegram_chat_id is not None:
        await enqueue(session, chat_id=center.telegram_chat_id, kind="staff_notice", ticket_id=ticket.id,
                      dedupe_key=f"owner-message:{message.id}",
                      buttons=texts.claim_button(ticket.id) if ticket.assignee_id is None else None,
                      text=texts.staff_owner_followup(number=ticket.number, text=body,
                                                      has_attachment=attachment is not None))
    await session.flush()
    return ticket, message


async def rate_ticket(session: AsyncSession, *, chat_id: int, ticket_id: int, rating: int,
                      comment: str | None = None, now: datetime | None = None) -> Ticket:
    """The owner's 1–5 rating (and optional comment) of a resolved ticket of their chat. Rating again replaces
    the rating; a comment sent later is added without losing the rating."""
    now = _as_utc(now)
    if isinstance(rating, bool) or not isinstance(rating, int) or not 1 <= rating <= 5:
        raise Unprocessable("평가는 1점부터 5점까지입니다.", code="invalid_rating")
    comment_text = _bounded(comment, limit=MAX_COMMENT_CHARS, code="comment", what="의견")
    ticket = await session.scalar(select(Ticket).where(Ticket.id == ticket_id, Ticket.chat_id == chat_id)
                                  .with_for_update().execution_options(populate_existing=True))
    if ticket is None:
        raise TicketNotFound()
    if ticket.status != "resolved":
        raise TicketNotResolved("답변 완료된 문의만 평가할 수 있습니다.")
    ticket.rating = rating
    if comment_text is not None:
        ticket.rating_comment = comment_text
    ticket.rated_at = now
    ticket.updated_at = now
    _add_event(session, ticket, "rated", at=now, actor_type="owner",
               data={"rating": rating, "comment": comment_text is not None})
    await session.flush()
    return ticket
