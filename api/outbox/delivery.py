"""The drain side of the outbox: an adapter leases due messages of its channel, delivers them, and reports each one
sent or failed.

Guarantees:
- a message is leased by one adapter process at a time (``FOR UPDATE SKIP LOCKED`` on PostgreSQL, a guarded
  update everywhere); a lease that runs out (its process died) makes the message due again;
- messages to one chat go out in order: only a chat's oldest pending messages are leased, and only while none of
  them is leased by someone else (a chat's messages leased together are delivered one after another by the one
  holder, which stops at the first failure);
- a Telegram group chat (negative id) gets at most ``GROUP_SENDS_PER_MINUTE`` messages a minute (Telegram's limit);
- a failure is retried with exponential backoff, or after the channel's ``retry_after`` (which does not count as
  an attempt); after ``RetryPolicy.max_attempts`` or a permanent refusal (bot blocked, chat gone) the message is ``failed``;
- reporting "sent" twice is harmless, and a message once sent is never leased again.

The one window no protocol closes: the channel accepted a message and its adapter died before reporting it. The
lease then runs out and the message is sent again. Adapters report each accepted message at once (one local round
trip), which keeps the window that small.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, bindparam, exists, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from api.contract import TELEGRAM, OutboxRecord, keyboard_from_json
from api.db import utcnow
from api.outbox.models import OutboxMessage

GROUP_SENDS_PER_MINUTE = 20
MAX_LEASE_SECONDS = 300
MAX_ERROR_LENGTH = 1000
MAX_PER_CHAT = 10  # a chat's messages leased at once


@dataclass(frozen=True)
class RetryPolicy:
    """How failed sends are retried (``HOTLINE_OUTBOX_MAX_ATTEMPTS``, ``HOTLINE_OUTBOX_BACKOFF_SECONDS``,
    ``HOTLINE_OUTBOX_BACKOFF_CAP_SECONDS``): the wait doubles from ``backoff_seconds`` up to ``backoff_cap_seconds``;
    after ``max_attempts`` tries the message is given up (``failed``)."""

    max_attempts: int = 15
    backoff_seconds: float = 1.0
    backoff_cap_seconds: float = 15 * 60

    def backoff(self, attempts: int) -> timedelta:
        """The wait before the next try after ``attempts`` failed tries: 1 s, 2 s, 4 s, … capped."""
        return timedelta(seconds=min(self.backoff_seconds * 2 ** max(attempts - 1, 0), self.backoff_cap_seconds))

    @classmethod
    def from_settings(cls, settings) -> "RetryPolicy":
        return cls(max_attempts=settings.outbox_max_attempts, backoff_seconds=settings.outbox_backoff_seconds,
                   backoff_cap_seconds=settings.outbox_backoff_cap_seconds)


_COLUMNS = (OutboxMessage.id, OutboxMessage.channel, OutboxMessage.address, OutboxMessage.chat_id,
            OutboxMessage.text, OutboxMessage.kind, OutboxMessage.buttons, OutboxMessage.ticket_id,
            OutboxMessage.reply_to)


def _record(row, token: str | None) -> OutboxRecord:
    return OutboxRecord(id=row.id, channel=row.channel, address=row.address, chat_id=row.chat_id, text=row.text,
                        kind=row.kind, buttons=keyboard_from_json(row.buttons), ticket_id=row.ticket_id,
                        reply_to=row.reply_to, lease_token=token)


def _free(now: datetime):
    return or_(OutboxMessage.lease_until.is_(None), OutboxMessage.lease_until < now)


def _heads_query(*, channel: str, now: datetime, limit: int, address: str | None):
    """The due heads of chats: a chat's oldest pending message, due, leased by nobody."""
    earlier = aliased(OutboxMessage)
    recent = aliased(OutboxMessage)
    is_head_of_chat = ~exists().where(earlier.chat_id == OutboxMessage.chat_id, earlier.status == "pending",
                                      earlier.id < OutboxMessage.id)
    conditions = [OutboxMessage.channel == channel, OutboxMessage.status == "pending",
                  OutboxMessage.next_attempt_at <= now, _free(now), is_head_of_chat]
    if address is not None:
        conditions.append(OutboxMessage.address == address)
    if channel == TELEGRAM:
        sent_last_minute = (
            select(func.count()).select_from(recent)
            .where(recent.chat_id == OutboxMessage.chat_id, recent.status == "sent",
                   recent.sent_at > now - timedelta(minutes=1))
            .scalar_subquery()
        )
        conditions.append(or_(OutboxMessage.chat_id > 0, sent_last_minute < GROUP_SENDS_PER_MINUTE))
    return select(OutboxMessage.id).where(*conditions).order_by(OutboxMessage.next_attempt_at,
                                                                OutboxMessage.id).limit(limit)


async def _take(session: AsyncSession, ids: Sequence[int], *, now: datetime, lease_seconds: float) -> list[OutboxRecord]:
    """Lease ``ids`` (those still free), one token for the lot; the records in id order."""
    if not ids:
        return []
    token = secrets.token_hex(16)
    until = now + timedelta(seconds=min(max(lease_seconds, 1), MAX_LEASE_SECONDS))
    await session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id.in_(ids), OutboxMessage.status == "pending", _free(now))
        .values(lease_token=token, lease_until=until)
        .execution_options(synchronize_session=False))
    rows = (await session.execute(select(*_COLUMNS).where(OutboxMessage.id.in_(ids),
                                                          OutboxMessage.lease_token == token)
                                  .order_by(OutboxMessage.id))).all()
    return [_record(row, token) for row in rows]


async def lease_due(session: AsyncSession, *, channel: str, limit: int = 20, lease_seconds: float = 60,
                    address: str | None = None, now: datetime | None = None) -> list[OutboxRecord]:
    """Lease the due messages of up to ``limit`` chats of ``channel`` (only ``address``'s, when given): each chat's
    oldest pending messages in order, up to the first one not due yet. One token covers the lot."""
    now = now or utcnow()
    heads = _heads_query(channel=channel, now=now, limit=limit, address=address)
    if session.get_bind().dialect.name == "postgresql":
        heads = heads.with_for_update(skip_locked=True, of=OutboxMessage)
    head_ids = list((await session.scalars(heads)).all())
    if not head_ids:
        return []
    chats = (await session.execute(select(OutboxMessage.chat_id, OutboxMessage.id)
                                   .where(OutboxMessage.id.in_(head_ids)))).all()
    followers = (await session.execute(
        select(OutboxMessage.chat_id, OutboxMessage.id, OutboxMessage.next_attempt_at)
        .where(OutboxMessage.chat_id.in_({c for c, _ in chats}), OutboxMessage.status == "pending",
               OutboxMessage.id.not_in(head_ids))
        .order_by(OutboxMessage.id))).all()
    wanted = list(head_ids)
    counts = {chat: 1 for chat, _ in chats}
    stopped: set[int] = set()
    head_of = dict(chats)
    for chat, message_id, due in followers:
        if chat in stopped or message_id < head_of[chat]:
            continue
        if due > now or counts[chat] >= MAX_PER_CHAT:
            stopped.add(chat)
            continue
        counts[chat] += 1
        wanted.append(message_id)
    return await _take(session, sorted(wanted), now=now, lease_seconds=lease_seconds)


_OUTBOX = OutboxMessage.__table__
_EARLIER = _OUTBOX.alias("earlier")
_LEASE_NEW = (
    update(_OUTBOX)
    .where(_OUTBOX.c.id.in_(bindparam("ids", expanding=True)), _OUTBOX.c.status == "pending",
           ~exists().where(_EARLIER.c.chat_id == _OUTBOX.c.chat_id, _EARLIER.c.status == "pending",
                           _EARLIER.c.id < bindparam("first")))
    .values(lease_token=bindparam("token"), lease_until=bindparam("until", type_=_OUTBOX.c.lease_until.type))
    .returning(*(_OUTBOX.c[c.key] for c in _COLUMNS))
)


async def lease_new(session: AsyncSession, *, ids: Sequence[int], lease_seconds: float,
                    now: datetime | None = None) -> list[OutboxRecord]:
    """Lease messages just queued (by processing an update) to the caller, so it delivers them without another
    round trip: those of chats with no earlier pending message (the others wait their turn in the outbox). One
    statement."""
    if not ids:
        return []
    now = now or utcnow()
    token = secrets.token_hex(16)
    until = now + timedelta(seconds=min(max(lease_seconds, 1), MAX_LEASE_SECONDS))
    rows = (await session.execute(_LEASE_NEW, {"ids": list(ids), "first": min(ids), "token": token,
                                               "until": until})).all()
    return [_record(row, token) for row in sorted(rows, key=lambda r: r.id)]


async def hand_over(session: AsyncSession, *, ids: Sequence[int], now: datetime | None = None) -> list[OutboxRecord]:
    """Messages answered in the response itself (channels that reply synchronously): recorded sent now, and
    returned in order. A request repeated after its response was lost gets the same records (``records``)."""
    if ids:
        await session.execute(update(OutboxMessage).where(OutboxMessage.id.in_(ids), OutboxMessage.status == "pending")
                              .values(status="sent", sent_at=now or utcnow())
                              .execution_options(synchronize_session=False))
    return await records(session, ids=ids)


async def give_back(session: AsyncSession, *, ids: Sequence[int], now: datetime | None = None) -> None:
    """Messages handed over for a response that never reached the owner (a KakaoTalk skill answer ready only after
    the skill had to answer): pending again, due now, for the channel's deliverer."""
    if ids:
        await session.execute(update(OutboxMessage).where(OutboxMessage.id.in_(ids), OutboxMessage.status == "sent")
                              .values(status="pending", sent_at=None, next_attempt_at=now or utcnow(),
                                      lease_token=None, lease_until=None)
                              .execution_options(synchronize_session=False))


async def records(session: AsyncSession, *, ids: Sequence[int]) -> list[OutboxRecord]:
    """The outbox records of ``ids``, in id order (no lease)."""
    if not ids:
        return []
    rows = (await session.execute(select(*_COLUMNS).where(OutboxMessage.id.in_(ids)).order_by(OutboxMessage.id))).all()
    return [_record(row, None) for row in rows]


@dataclass(frozen=True)
class Sent:
    id: int
    channel_message_id: int | None = None


@dataclass(frozen=True)
class Failed:
    id: int
    lease_token: str
    error: str = ""
    retry_after: float | None = None
    permanent: bool = False


@dataclass(frozen=True)
class Released:
    id: int
    lease_token: str
    delay_seconds: float = 0


@dataclass(frozen=True)
class ReportOutcome:
    sent: int
    failed: int
    released: int
    lease_lost: list[int]  # failures reported by a holder whose lease was gone (nothing recorded)


async def report(session: AsyncSession, *, sent: Sequence[Sent] = (), failed: Sequence[Failed] = (),
                 released: Sequence[Released] = (), policy: RetryPolicy = RetryPolicy(),
                 now: datetime | None = None) -> ReportOutcome:
    """Record what an adapter did with its leased messages, in one transaction.

    ``sent`` is recorded whatever the lease says (the message did go out, and a sent message must never be
    sent again); a failure or a release counts only while the reporter still holds the lease."""
    now = now or utcnow()
    for s in sent:
        await session.execute(
            update(OutboxMessage).where(OutboxMessage.id == s.id, OutboxMessage.status != "sent")
            .values(status="sent", sent_at=now, channel_message_id=s.channel_message_id, lease_token=None,
                    lease_until=None, last_error=None)
            .execution_options(synchronize_session=False))
    lost = []
    for f in failed:
        message = await session.get(OutboxMessage, f.id, populate_existing=True)
        if message is None or message.status == "sent":
            continue
        if message.status != "pending" or message.lease_token != f.lease_token:
            lost.append(f.id)
            continue
        message.last_error = (f.error or "")[:MAX_ERROR_LENGTH]
        message.lease_token = None
        message.lease_until = None
        if f.retry_after is not None and not f.permanent:
            message.next_attempt_at = now + timedelta(seconds=max(float(f.retry_after), 0.0))
        else:
            message.attempts += 1
            if f.permanent or message.attempts >= policy.max_attempts:
                message.status = "failed"
            else:
                message.next_attempt_at = now + policy.backoff(message.attempts)
    for r in released:
        await session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == r.id, OutboxMessage.status == "pending", OutboxMessage.lease_token == r.lease_token)
            .values(lease_token=None, lease_until=None, next_attempt_at=now + timedelta(seconds=max(r.delay_seconds, 0)))
            .execution_options(synchronize_session=False))
    await session.flush()
    return ReportOutcome(sent=len(sent), failed=len(failed) - len(lost), released=len(released), lease_lost=lost)


async def ticket_for_post(session: AsyncSession, *, chat_id: int, message_id: int) -> int | None:
    """The ticket a message posted to a chat (e.g. a centre's staff group) was about, if any."""
    return await session.scalar(
        select(OutboxMessage.ticket_id)
        .where(and_(OutboxMessage.chat_id == chat_id, OutboxMessage.channel_message_id == message_id,
                    OutboxMessage.ticket_id.is_not(None)))
        .limit(1)
    )
