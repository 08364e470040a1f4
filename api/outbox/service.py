"""Enqueueing messages for Telegram: a row in the outbox, written in the caller's transaction.

A change and the message announcing it commit together (or not at all); the bot drains the outbox
(``api/outbox/delivery.py``) and retries until Telegram accepts each message.

``buttons`` is the inline keyboard: a list of rows, each a list of ``{"text": str, "callback_data": str}``
(callback data at most 64 bytes, Telegram's limit).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from api.db import utcnow
from api.outbox.models import OutboxMessage

MAX_TEXT_CHARS = 4096  # Telegram's limit for one message
MAX_CALLBACK_BYTES = 64
MAX_BUTTON_TEXT = 64
MAX_KIND_CHARS = 32
MAX_DEDUPE_KEY_CHARS = 128


def validate_buttons(buttons: Any) -> list[list[dict[str, str]]] | None:
    """The keyboard in its canonical form, or ``ValueError`` saying what is wrong (a programming error)."""
    if buttons is None:
        return None
    if not isinstance(buttons, list) or not all(isinstance(row, list) for row in buttons):
        raise ValueError("buttons must be a list of rows, each a list of buttons")
    out: list[list[dict[str, str]]] = []
    for row in buttons:
        if not row:
            raise ValueError("a button row must not be empty")
        clean_row = []
        for button in row:
            if not isinstance(button, dict) or set(button) != {"text", "callback_data"}:
                raise ValueError(f"a button is {{'text', 'callback_data'}}, got {button!r}")
            text, data = button["text"], button["callback_data"]
            if not isinstance(text, str) or not text.strip() or len(text) > MAX_BUTTON_TEXT:
                raise ValueError(f"button text must be 1..{MAX_BUTTON_TEXT} characters: {text!r}")
            if not isinstance(data, str) or not data or len(data.encode()) > MAX_CALLBACK_BYTES:
                raise ValueError(f"callback_data must be 1..{MAX_CALLBACK_BYTES} bytes: {data!r}")
            clean_row.append({"text": text, "callback_data": data})
        out.append(clean_row)
    return out or None


async def enqueue(session: AsyncSession, *, chat_id: int, text: str, buttons: list | None = None, kind: str,
                  ticket_id: int | None = None, dedupe_key: str | None = None,
                  not_before: datetime | None = None) -> OutboxMessage:
    """Queue ``text`` for ``chat_id``. With a ``dedupe_key`` already in the outbox, the existing row is returned
    and nothing new is queued (a retried operation never sends twice). Flushes; the caller commits."""
    if not isinstance(chat_id, int) or isinstance(chat_id, bool):
        raise ValueError("chat_id must be an int")
    if not isinstance(text, str) or not text.strip():
        raise ValueError("an outbox message needs text")
    if len(text) > MAX_TEXT_CHARS:
        raise ValueError(f"outbox text is over Telegram's {MAX_TEXT_CHARS} characters")
    if not kind or len(kind) > MAX_KIND_CHARS:
        raise ValueError(f"kind must be 1..{MAX_KIND_CHARS} characters")
    if dedupe_key is not None and not 0 < len(dedupe_key) <= MAX_DEDUPE_KEY_CHARS:
        raise ValueError(f"dedupe_key must be 1..{MAX_DEDUPE_KEY_CHARS} characters")
    keyboard = validate_buttons(buttons)
    if dedupe_key is not None:
        existing = await session.scalar(select(OutboxMessage).where(OutboxMessage.dedupe_key == dedupe_key))
        if existing is not None:
            return existing
    now = utcnow()
    message = OutboxMessage(chat_id=chat_id, text=text, buttons=keyboard, kind=kind, ticket_id=ticket_id,
                            dedupe_key=dedupe_key, status="pending", attempts=0,
                            next_attempt_at=not_before or now, created_at=now)
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
