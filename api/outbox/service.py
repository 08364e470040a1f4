"""Enqueueing messages: a row in the outbox, written in the caller's transaction.

A change and the message announcing it commit together (or not at all); channel adapters drain the outbox
(``api/outbox/delivery.py``) and retry until the channel accepts each message. ``buttons`` are
``api.contract`` keyboard rows (button data encoded with ``api.contract.encode``, or links).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from api.chats.service import Recipient
from api.contract import (CHANNELS, MAX_BUTTON_DATA_BYTES, MAX_BUTTON_TEXT, TELEGRAM_MAX_TEXT, Keyboard,
                          keyboard_to_json)
from api.db import utcnow
from api.privacy import ANONYMISED_TEXT
from api.outbox.models import OutboxMessage

MAX_TEXT_CHARS = TELEGRAM_MAX_TEXT  # the smallest limit of the channels' single messages
MAX_KIND_CHARS = 32
MAX_DEDUPE_KEY_CHARS = 128


def check_keyboard(rows: Keyboard | None) -> None:
    """``ValueError`` saying what is wrong with a keyboard (a programming error, not the user's)."""
    for row in rows or ():
        if not row:
            raise ValueError("a button row must not be empty")
        for button in row:
            if not button.text.strip() or len(button.text) > MAX_BUTTON_TEXT:
                raise ValueError(f"button text must be 1..{MAX_BUTTON_TEXT} characters: {button.text!r}")
            if (button.data is None) == (button.url is None):
                raise ValueError(f"a button has either data or a url: {button!r}")
            if button.data is not None and not 0 < len(button.data.encode()) <= MAX_BUTTON_DATA_BYTES:
                raise ValueError(f"button data must be 1..{MAX_BUTTON_DATA_BYTES} bytes: {button.data!r}")


def message_row(*, to: Recipient, text: str, kind: str, buttons: Keyboard | None = None, ticket_id: int | None = None,
                reply_to: int | None = None, dedupe_key: str | None = None, not_before: datetime | None = None,
                now: datetime | None = None) -> dict:
    """The values of one outbox row, checked (``ValueError`` for a programming error)."""
    if to.channel not in CHANNELS:
        raise ValueError(f"unknown channel {to.channel!r}")
    if not isinstance(text, str) or not text.strip():
        raise ValueError("an outbox message needs text")
    if len(text) > MAX_TEXT_CHARS:
        raise ValueError(f"outbox text is over {MAX_TEXT_CHARS} characters")
    if not kind or len(kind) > MAX_KIND_CHARS:
        raise ValueError(f"kind must be 1..{MAX_KIND_CHARS} characters")
    if dedupe_key is not None and not 0 < len(dedupe_key) <= MAX_DEDUPE_KEY_CHARS:
        raise ValueError(f"dedupe_key must be 1..{MAX_DEDUPE_KEY_CHARS} characters")
    check_keyboard(buttons)
    now = now or utcnow()
    return {"chat_id": to.chat_id, "channel": to.channel, "address": to.address, "text": text,
            "buttons": keyboard_to_json(buttons), "kind": kind, "ticket_id": ticket_id, "reply_to": reply_to,
            "dedupe_key": dedupe_key, "status": "pending", "attempts": 0, "next_attempt_at": not_before or now,
            "created_at": now}


async def enqueue(session: AsyncSession, *, to: Recipient, text: str, kind: str, buttons: Keyboard | None = None,
                  ticket_id: int | None = None, reply_to: int | None = None, dedupe_key: str | None = None,
                  not_before: datetime | None = None) -> OutboxMessage:
    """Queue ``text`` for ``to``. With a ``dedupe_key`` already in the outbox, the existing row is returned and
    nothing new is queued (a retried operation never sends twice). Flushes; the caller commits."""
    values = message_row(to=to, text=text, kind=kind, buttons=buttons, ticket_id=ticket_id, reply_to=reply_to,
                         dedupe_key=dedupe_key, not_before=not_before)
    if dedupe_key is not None:
        existing = await session.scalar(select(OutboxMessage).where(OutboxMessage.dedupe_key == dedupe_key))
        if existing is not None:
            return existing
    message = OutboxMessage(**values)
    if dedupe_key is None:
        session.add(message)
        await session.flush()
        return message
    try:
        async with session.begin_nested():  # a concurrent writer may have taken the key meanwhile
            session.add(message)
    except IntegrityError:
        existing = await session.scalar(select(OutboxMessage).where(OutboxMessage.dedupe_key == dedupe_key))
        if existing is None:
            raise
        return existing
    return message


async def anonymise_for_tickets(session: AsyncSession, *, ticket_ids: list[int]) -> None:
    """Retention: the copies of messages about anonymised tickets lose their text (pending ones are still owed)."""
    if ticket_ids:
        await session.execute(update(OutboxMessage).where(OutboxMessage.ticket_id.in_(ticket_ids),
                                                          OutboxMessage.status != "pending")
                              .values(text=ANONYMISED_TEXT, buttons=None)
                              .execution_options(synchronize_session=False))

