"""What owners do with tickets (through a channel's conversation): create one (routed to the centre serving
the factory's address), follow up on the open one, list theirs, rate an answered one."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from api.centers.models import Center
from api.centers.contact import format_contact
from api.centers.service import route_or_raise
from api.chats.service import Recipient
from api.companies.service import Place, link_chat, upsert_company
from api.companies.validation import normalize_business_number, normalize_phone
from api.conversations import texts as owner_texts
from api.errors import Unprocessable
from api.kb.models import AskLog
from api.outbox.service import enqueue
from api.sla import BusinessCalendar, SlaPolicy, describe_due, describe_hours
from api.tickets import texts
from api.tickets.base import (DUPLICATE_WINDOW, MAX_ATTACHMENT_JSON_CHARS, MAX_COMMENT_CHARS, MAX_COMPANY_NAME_CHARS,
                              MAX_CONTACT_NAME_CHARS, MAX_TEXT_CHARS, NOT_RESOLVED, add_event, as_utc, bounded,
                              center_calendar, clean_text, due_times, text_hash, ticket_number)
from api.tickets.errors import NoOpenTicket, TicketNotFound, TicketNotResolved
from api.tickets.models import Ticket, TicketMessage


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


def _acknowledgement(ticket: Ticket, center: Center, calendar: BusinessCalendar, *, now: datetime,
                     duplicate: bool = False) -> str:
    promise = None if ticket.first_responded_at is not None else describe_due(ticket.first_response_due, now, calendar)
    return owner_texts.acknowledgement(number=ticket.number, center_name=center.name, promise=promise,
                                       hours=describe_hours(calendar), contact=format_contact(center) or None,
                                       duplicate=duplicate)


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
    now = as_utc(now)
    policy = policy or SlaPolicy()
    body = bounded(text, limit=MAX_TEXT_CHARS, code="text", what="문의 내용", required=True)
    address_clean = clean_text(address)
    bn = normalize_business_number(business_number) if clean_text(business_number) else None
    ph = normalize_phone(phone) if clean_text(phone) else None
    name = bounded(company_name, limit=MAX_COMPANY_NAME_CHARS, code="company_name", what="회사 이름")
    contact = bounded(contact_name, limit=MAX_CONTACT_NAME_CHARS, code="contact_name", what="담당자 이름")
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
        ack = _acknowledgement(existing, existing_center, calendar, now=now, duplicate=True)
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
    add_event(session, ticket, "created", at=now, actor_type="bot",
               data={"center": center.code, "company_id": company.id, "ask_log_id": ask_log_id,
                     "first_response_due": first_due.isoformat(), "resolution_due": resolution_due.isoformat()})
    await session.flush()
    if center.telegram_chat_id is not None:
        await enqueue(session, to=Recipient.telegram(center.telegram_chat_id), kind="staff_notice", ticket_id=ticket.id,
                      dedupe_key=f"ticket-new:{ticket.id}", buttons=texts.claim_keyboard(ticket.id),
                      text=texts.staff_new_ticket(number=ticket.number, text=body, company_name=ticket.company_name,
                                                  business_number=bn, contact_name=contact, phone=ph,
                                                  address=address_clean, sido=ticket.region_sido,
                                                  sigungu=ticket.region_sigungu, first_response_due=first_due,
                                                  bot_tried=_bot_tried(ask_log)))
    ack = _acknowledgement(ticket, center, calendar, now=now)
    return CreatedTicket(ticket=ticket, center=center, created=True, acknowledgement=ack)


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
                               attachment: dict | None = None, ticket_id: int | None = None,
                               now: datetime | None = None) -> tuple[Ticket, TicketMessage]:
    """The owner's follow-up, appended to ``ticket_id`` if it is the chat's and open, or else (no id) to the
    chat's newest open ticket (404 ``no_open_ticket`` when none); the centre's staff group is told."""
    now = as_utc(now)
    body = bounded(text, limit=MAX_TEXT_CHARS, code="text", what="메시지", required=attachment is None) or ""
    attachment = _check_attachment(attachment)
    query = select(Ticket).where(Ticket.chat_id == chat_id, NOT_RESOLVED)
    if ticket_id is not None:
        query = query.where(Ticket.id == ticket_id)
    ticket = await session.scalar(query.order_by(Ticket.created_at.desc(), Ticket.id.desc()).limit(1)
                                  .with_for_update().execution_options(populate_existing=True))
    if ticket is None:
        raise NoOpenTicket()
    message = TicketMessage(ticket_id=ticket.id, direction="owner", body=body, attachment=attachment,
                            created_at=now)
    session.add(message)
    ticket.updated_at = now
    await session.flush()
    add_event(session, ticket, "owner_message", at=now, actor_type="owner",
               data={"message_id": message.id, "attachment": attachment is not None})
    center = await session.get(Center, ticket.center_id)
    if center.telegram_chat_id is not None:
        await enqueue(session, to=Recipient.telegram(center.telegram_chat_id), kind="staff_notice", ticket_id=ticket.id,
                      dedupe_key=f"owner-message:{message.id}",
                      buttons=texts.claim_keyboard(ticket.id) if ticket.assignee_id is None else None,
                      text=texts.staff_owner_followup(number=ticket.number, text=body,
                                                      has_attachment=attachment is not None))
    await session.flush()
    return ticket, message


async def rate_ticket(session: AsyncSession, *, chat_id: int, ticket_id: int, rating: int | None,
                      comment: str | None = None, now: datetime | None = None) -> Ticket:
    """The owner's 1–5 rating (and optional comment) of a resolved ticket of their chat. Rating again replaces
    the rating; a comment sent later (``rating`` None) is added without losing the rating."""
    now = as_utc(now)
    if rating is not None and (isinstance(rating, bool) or not isinstance(rating, int) or not 1 <= rating <= 5):
        raise Unprocessable("평가는 1점부터 5점까지입니다.", code="invalid_rating")
    if rating is None and not comment:
        raise Unprocessable("평가 점수나 의견을 보내 주세요.", code="invalid_rating")
    comment_text = bounded(comment, limit=MAX_COMMENT_CHARS, code="comment", what="의견")
    ticket = await session.scalar(select(Ticket).where(Ticket.id == ticket_id, Ticket.chat_id == chat_id)
                                  .with_for_update().execution_options(populate_existing=True))
    if ticket is None:
        raise TicketNotFound()
    if ticket.status != "resolved":
        raise TicketNotResolved("답변 완료된 문의만 평가할 수 있습니다.")
    if rating is not None:
        ticket.rating = rating
    if comment_text is not None:
        ticket.rating_comment = comment_text
    ticket.rated_at = now
    ticket.updated_at = now
    add_event(session, ticket, "rated", at=now, actor_type="owner",
               data={"rating": rating, "comment": comment_text is not None})
    await session.flush()
    return ticket
