"""What staff do to a ticket: claim, reply, transfer, resolve (citing a knowledge-base entry or not), reopen. Each checks the staff member's scope (an
agent's own centre; another centre's ticket is a 404), records its audit event and queues what the owner and the
centres' staff groups are told. ``via="telegram"`` marks an action taken from a centre's Telegram group."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import update
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncSession

from api.centers.models import Center
from api.centers.service import get_center_by_code
from api.chats.service import Recipient, recipient
from api.conversations import texts as owner_texts
from api.errors import Unprocessable
from api.kb.models import KbEntry
from api.kb.suggestions import suggest
from api.outbox.service import enqueue
from api.sla import SlaPolicy, describe_due
from api.staff.models import Staff
from api.tickets import texts
from api.tickets.base import (MAX_REASON_CHARS, MAX_REPLY_CHARS, NOT_RESOLVED, add_event, as_utc, bounded,
                              center_calendar, clean_text, due_times, reload, staff_data, ticket_for_staff)
from api.tickets.errors import AlreadyClaimed, TicketNotResolved, TicketResolved
from api.tickets.models import Ticket, TicketMessage
from api.tickets.queue import assignee_name


async def guarded_assign(session: AsyncSession, ticket_id: int, staff: Staff, now: datetime) -> bool:
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
    now = as_utc(now)
    ticket = await ticket_for_staff(session, staff, ticket_id, lock=True)
    if ticket.status == "resolved":
        raise TicketResolved("답변 완료된 문의는 담당할 수 없습니다. 먼저 다시 열어 주세요.")
    if ticket.assignee_id == staff.id:
        return ticket
    if ticket.assignee_id is None and await guarded_assign(session, ticket_id, staff, now):
        ticket = await reload(session, ticket_id)
        add_event(session, ticket, "claimed", at=now, actor_type="staff", actor_id=staff.id, data=staff_data(via))
        await session.flush()
        return ticket
    ticket = await reload(session, ticket_id)
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
    now = as_utc(now)
    text_body = bounded(body, limit=MAX_REPLY_CHARS, code="reply", what="답변", required=True)
    ticket = await ticket_for_staff(session, staff, ticket_id, lock=True)
    if ticket.status == "resolved":
        raise TicketResolved("답변 완료된 문의입니다. 추가로 답변하려면 먼저 다시 열어 주세요.")
    if ticket.assignee_id is None and await guarded_assign(session, ticket_id, staff, now):
        ticket = await reload(session, ticket_id)
        add_event(session, ticket, "claimed", at=now, actor_type="staff", actor_id=staff.id,
                   data=staff_data(via, {"by_reply": True}))
    message = TicketMessage(ticket_id=ticket.id, direction="staff", author_id=staff.id, body=text_body,
                            created_at=now)
    session.add(message)
    first = ticket.first_responded_at is None
    if first:
        ticket.first_responded_at = now
    ticket.updated_at = now
    await session.flush()
    add_event(session, ticket, "replied", at=now, actor_type="staff", actor_id=staff.id,
               data=staff_data(via, {"message_id": message.id, "first_response": first}))
    center = await session.get(Center, ticket.center_id)
    await enqueue(session, to=await recipient(session, chat_id=ticket.chat_id), kind="staff_reply", ticket_id=ticket.id,
                  dedupe_key=f"reply:{message.id}",
                  text=owner_texts.owner_reply(center_name=center.name, number=ticket.number, body=text_body))
    await session.flush()
    return ticket, message


async def transfer_ticket(session: AsyncSession, *, staff: Staff, ticket_id: int, center_code: str, reason: str,
                          policy: SlaPolicy | None = None, now: datetime | None = None) -> Ticket:
    """Move the ticket to another centre's queue: reason recorded, assignee cleared, due times recomputed on
    the new centre's calendar, the new centre's staff group and the owner told."""
    now = as_utc(now)
    policy = policy or SlaPolicy()
    why = bounded(reason, limit=MAX_REASON_CHARS, code="reason", what="이관 사유", required=True)
    ticket = await ticket_for_staff(session, staff, ticket_id, lock=True)
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
    event = add_event(session, ticket, "transferred", at=now, actor_type="staff", actor_id=staff.id,
                       data={"from": source.code, "to": target.code, "reason": why,
                             "previous_assignee_id": previous_assignee,
                             "first_response_due": first_due.isoformat(),
                             "resolution_due": resolution_due.isoformat()})
    await session.flush()
    if target.telegram_chat_id is not None:
        await enqueue(session, to=Recipient.telegram(target.telegram_chat_id), kind="staff_notice", ticket_id=ticket.id,
                      dedupe_key=f"ticket-transfer:{event.id}", buttons=texts.claim_keyboard(ticket.id),
                      text=texts.staff_transferred(number=ticket.number, from_center=source.name, reason=why,
                                                   text=ticket.text, first_response_due=first_due))
    if ticket.first_responded_at is None:
        promise = describe_due(first_due, now, calendar)
    else:
        promise = describe_due(resolution_due, now, calendar)
    await enqueue(session, to=await recipient(session, chat_id=ticket.chat_id), kind="ticket_update",
                  ticket_id=ticket.id,
                  dedupe_key=f"owner-transfer:{event.id}",
                  text=owner_texts.owner_transferred(number=ticket.number, center_name=target.name, promise=promise))
    await session.flush()
    return ticket


async def resolve_ticket(session: AsyncSession, *, staff: Staff, ticket_id: int, note: str | None = None,
                         entry_id: str | None = None, via: str = "api", now: datetime | None = None) -> Ticket:
    """Mark the ticket answered and ask the owner for a 1–5 rating (``api.contract.Rate`` buttons).

    ``entry_id``: the knowledge-base entry the answer came from; the owner's question becomes a suggested
    paraphrase of it (``api.kb.suggestions``), for an admin to accept or reject. 422 when there is no such
    entry."""
    now = as_utc(now)
    note_text = bounded(note, limit=MAX_REASON_CHARS, code="note", what="메모")
    cited = (entry_id or "").strip() or None
    if cited is not None and await session.get(KbEntry, cited) is None:
        raise Unprocessable(f"근거로 입력한 지식 항목이 없습니다: {cited[:100]}", code="unknown_entry")
    ticket = await ticket_for_staff(session, staff, ticket_id, lock=True)
    if ticket.status == "resolved":
        raise TicketResolved("이미 답변 완료된 문의입니다.")
    if ticket.assignee_id is None:
        ticket.assignee_id = staff.id
    ticket.status = "resolved"
    ticket.resolved_at = now
    ticket.updated_at = now
    details = {k: v for k, v in (("note", note_text), ("entry_id", cited)) if v}
    data = staff_data(via, details or None)
    event = add_event(session, ticket, "resolved", at=now, actor_type="staff", actor_id=staff.id, data=data)
    await session.flush()
    if cited is not None:
        await suggest(session, entry_id=cited, question=ticket.text, source="staff", ticket_id=ticket.id, now=now)
    center = await session.get(Center, ticket.center_id)
    await enqueue(session, to=await recipient(session, chat_id=ticket.chat_id), kind="rating_request",
                  ticket_id=ticket.id, dedupe_key=f"rating-request:{event.id}",
                  buttons=owner_texts.rating_keyboard(ticket.id),
                  text=owner_texts.rating_request(center_name=center.name, number=ticket.number))
    await session.flush()
    return ticket


async def reopen_ticket(session: AsyncSession, *, staff: Staff, ticket_id: int, reason: str | None = None,
                        policy: SlaPolicy | None = None, via: str = "api", now: datetime | None = None) -> Ticket:
    """Put a resolved ticket back in the queue (with its assignee, if any); resolution due time recomputed."""
    now = as_utc(now)
    policy = policy or SlaPolicy()
    why = bounded(reason, limit=MAX_REASON_CHARS, code="reason", what="사유")
    ticket = await ticket_for_staff(session, staff, ticket_id, lock=True)
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
    add_event(session, ticket, "reopened", at=now, actor_type="staff", actor_id=staff.id,
               data=staff_data(via, {"reason": why, "resolution_due": resolution_due.isoformat()}))
    await session.flush()
    return ticket
