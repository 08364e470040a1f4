"""The drain side of the outbox: the bot leases due messages, sends them, and reports each one sent or failed.

Guarantees:
- a message is leased by one bot process at a time (``FOR UPDATE SKIP LOCKED`` on PostgreSQL, a guarded
  update everywhere); a lease that runs out (its process died) makes the message due again;
- messages to one chat go out in order: only the oldest pending message of a chat is ever leased;
- a group chat (negative id) gets at most ``GROUP_SENDS_PER_MINUTE`` messages a minute (Telegram's limit);
- a failure is retried with exponential backoff, or after Telegram's ``retry_after`` (which does not count as an
  attempt); after ``MAX_ATTEMPTS`` or a permanent refusal (bot blocked, chat gone) the message is ``failed``;
- reporting "sent" twice is harmless, and a message once sent is never leased again.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, exists, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from api.db import utcnow
from api.errors import Conflict, NotFound
from api.outbox.models import OutboxMessage

MAX_ATTEMPTS = 15
BACKOFF_BASE_SECONDS = 1.0
BACKOFF_CAP_SECONDS = 15 * 60
GROUP_SENDS_PER_MINUTE = 20
MAX_LEASE_SECONDS = 300
MAX_ERROR_LENGTH = 1000
# Chat ids from 2**53 up are local chats (``hotline chat`` in a terminal): Telegram ids never get there, so the
# Telegram bot leaves them alone and the terminal drains its own chat.
LOCAL_CHAT_MIN = 2**53


class LeaseLost(Conflict):
    code = "lease_lost"
    detail = "이 메시지의 발송 권한이 만료되었거나 다른 프로세스가 가져갔습니다."


@dataclass(frozen=True)
class Leased:
    id: int
    chat_id: int
    text: str
    buttons: list | None
    kind: str
    ticket_id: int | None
    attempts: int
    lease_token: str
    lease_until: datetime


def backoff(attempts: int) -> timedelta:
    """The wait before the next try after ``attempts`` failed tries: 1 s, 2 s, 4 s, … capped at 15 minutes."""
    return timedelta(seconds=min(BACKOFF_BASE_SECONDS * 2 ** max(attempts - 1, 0), BACKOFF_CAP_SECONDS))


def is_local_chat(chat_id: int) -> bool:
    return chat_id >= LOCAL_CHAT_MIN


def _due_query(now: datetime, limit: int, chat_id: int | None):
    earlier = aliased(OutboxMessage)
    recent = aliased(OutboxMessage)
    is_head_of_chat = ~exists().where(earlier.chat_id == OutboxMessage.chat_id, earlier.status == "pending",
                                      earlier.id < OutboxMessage.id)
    sent_last_minute = (
        select(func.count()).select_from(recent)
        .where(recent.chat_id == OutboxMessage.chat_id, recent.status == "sent",
               recent.sent_at > now - timedelta(minutes=1))
        .scalar_subquery()
    )
    within_group_limit = or_(OutboxMessage.chat_id > 0, sent_last_minute < GROUP_SENDS_PER_MINUTE)
    return (
        select(OutboxMessage.id)
        .where(OutboxMessage.status == "pending", OutboxMessage.next_attempt_at <= now,
               or_(OutboxMessage.lease_until.is_(None), OutboxMessage.lease_until < now),
               is_head_of_chat, within_group_limit,
               OutboxMessage.chat_id < LOCAL_CHAT_MIN if chat_id is None else OutboxMessage.chat_id == chat_id)
        .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
        .limit(limit)
    )


async def lease_due(session: AsyncSession, *, limit: int = 20, lease_seconds: float = 60, chat_id: int | None = None,
                    now: datetime | None = None) -> list[Leased]:
    """Lease up to ``limit`` due messages for ``lease_seconds``; each leased row gets a fresh token.

    Without ``chat_id``: every chat Telegram can reach (not local chats); with it: only that chat."""
    now = now or utcnow()
    lease_seconds = min(max(lease_seconds, 1), MAX_LEASE_SECONDS)
    query = _due_query(now, limit, chat_id)
    if session.bind.dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True, of=OutboxMessage)
    ids = list((await session.scalars(query)).all())
    leased: list[Leased] = []
    lease_until = now + timedelta(seconds=lease_seconds)
    for message_id in ids:
        token = secrets.token_hex(16)
        result = await session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == message_id, OutboxMessage.status == "pending",
                   or_(OutboxMessage.lease_until.is_(None), OutboxMessage.lease_until < now))
            .values(lease_token=token, lease_until=lease_until)
            .execution_options(synchronize_session=False)
        )
        if result.rowcount != 1:
            continue  # another process took it between our select and our update
        row = (await session.execute(
            select(OutboxMessage.chat_id, OutboxMessage.text, OutboxMessage.buttons, OutboxMessage.kind,
                   OutboxMessage.ticket_id, OutboxMessage.attempts).where(OutboxMessage.id == message_id)
        )).one()
        leased.append(Leased(id=message_id, chat_id=row.chat_id, text=row.text, buttons=row.buttons, kind=row.kind,
                             ticket_id=row.ticket_id, attempts=row.attempts, lease_token=token,
                             lease_until=lease_until))
    return leased


async def _get(session: AsyncSession, message_id: int) -> OutboxMessage:
    message = await session.get(OutboxMessage, message_id, populate_existing=True)
    if message is None:
        raise NotFound("발송 대기 메시지를 찾을 수 없습니다.", code="outbox_not_found")
    return message


async def mark_sent(session: AsyncSession, *, message_id: int, telegram_message_id: int | None,
                    now: datetime | None = None) -> OutboxMessage:
    """Record that Telegram accepted the message. Idempotent; accepted even after the lease ran out,
    because the message did go out (a sent message must never be sent again)."""
    now = now or utcnow()
    message = await _get(session, message_id)
    if message.status == "sent":
        return message
    # Whatever the lease says (expired, taken over, or given up as failed), Telegram took the message: it is sent,
    # and recording that now stops any other holder from sending it again or reporting it failed.
    message.status = "sent"
    message.sent_at = now
    message.telegram_message_id = telegram_message_id
    message.lease_token = None
    message.lease_until = None
    message.last_error = None
    await session.flush()
    return message


async def mark_failed(session: AsyncSession, *, message_id: int, lease_token: str, error: str,
                      retry_after: float | None = None, permanent: bool = False,
                      now: datetime | None = None) -> OutboxMessage:
    """Record a failed send: retried after Telegram's ``retry_after`` (not an attempt), after a backoff, or given
    up (``permanent``, or too many attempts). 409 when the caller's lease is no longer the message's lease."""
    now = now or utcnow()
    message = await _get(session, message_id)
    if message.status == "sent":
        return message  # another process delivered it; nothing to retry
    if message.status != "pending" or message.lease_token != lease_token:
        raise LeaseLost()
    message.last_error = (error or "")[:MAX_ERROR_LENGTH]
    message.lease_token = None
    message.lease_until = None
    if retry_after is not None and not permanent:
        message.next_attempt_at = now + timedelta(seconds=max(float(retry_after), 0.0))
    else:
        message.attempts += 1
        if permanent or message.attempts >= MAX_ATTEMPTS:
            message.status = "failed"
        else:
            message.next_attempt_at = now + backoff(message.attempts)
    await session.flush()
    return message


async def release(session: AsyncSession, *, message_id: int, lease_token: str, delay_seconds: float = 0,
                  now: datetime | None = None) -> None:
    """Give a leased message back unsent (e.g. the bot is shutting down); it is due again after ``delay_seconds``."""
    now = now or utcnow()
    await session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == message_id, OutboxMessage.status == "pending",
               OutboxMessage.lease_token == lease_token)
        .values(lease_token=None, lease_until=None, next_attempt_at=now + timedelta(seconds=max(delay_seconds, 0)))
        .execution_options(synchronize_session=False)
    )


async def ticket_for_post(session: AsyncSession, *, chat_id: int, telegram_message_id: int) -> int | None:
    """The ticket a message the bot posted in a chat (e.g. a centre's staff group) was about, if any."""
    return await session.scalar(
        select(OutboxMessage.ticket_id)
        .where(and_(OutboxMessage.chat_id == chat_id, OutboxMessage.telegram_message_id == telegram_message_id,
                    OutboxMessage.ticket_id.is_not(None)))
        .limit(1)
    )
