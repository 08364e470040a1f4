"""The web chat channel (``/chat``, for centres' websites), API side: anonymous sessions, one message at a time
through the conversation engine, the history of a session and the messages that came since.

- **Sessions.** Nothing is kept before the owner agrees: ``start`` is the first write, made when they press
  "동의하고 시작하기". A session is a random token (the chat's address in channel ``web``) held in a signed cookie
  (``sign_session``/``read_session``, HMAC with the secret key); the server keeps when the owner agreed and the
  centre whose website they came from (a routing hint for the conversation).
- **Messages** are processed like the local channel's: claimed once per session and key (a repeated request gets
  the same replies), run through the engine, replies handed over in the response. What the owner wrote is kept
  (``WebMessage``) so the page can show the whole conversation again.
- **Later messages** (a staff reply, a notice, a rating request) wait in the outbox: an open page receives them
  live (``take_new``, polled by the page's event stream), and ``history`` shows every message of the session,
  whenever the owner comes back.
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass

from sqlalchemy import delete, exists, select
from sqlalchemy.ext.asyncio import AsyncSession

from api.channels.models import WebMessage, WebSession
from api.chats.service import ensure_chats
from api.console.security import sign, unsign
from api.contract import WEB, OutboxRecord
from api.conversations import runner
from api.conversations.model import Command, Incoming, Press, typed
from api.db import utcnow
from api.outbox.delivery import hand_over, lease_due, records
from api.outbox.models import OutboxMessage
from api.ratelimits import RateLimits
from api.sla import SlaPolicy

COOKIE = "hl_chat"
COOKIE_PURPOSE = "web-chat"
COOKIE_MAX_AGE = 180 * 24 * 3600
HISTORY_LIMIT = 300


def sign_session(address: str, *, secret: str) -> str:
    return sign({"s": address}, secret=secret, purpose=COOKIE_PURPOSE, max_age=COOKIE_MAX_AGE)


def read_session(cookie: str | None, *, secret: str) -> str | None:
    value = unsign(cookie, secret=secret, purpose=COOKIE_PURPOSE)
    address = value.get("s") if value else None
    return address if isinstance(address, str) and 0 < len(address) <= 64 else None


async def find(session: AsyncSession, *, address: str | None) -> WebSession | None:
    return await session.get(WebSession, address) if address else None


@dataclass
class Engine:
    """What a turn needs besides the message."""

    knowledge: runner.Knowledge
    policy: SlaPolicy
    max_text_chars: int
    limits: RateLimits | None = None


async def _turn(session: AsyncSession, *, web: WebSession, key: str, incoming: Incoming, engine: Engine,
                now: dt.datetime) -> list[OutboxRecord]:
    update_ = runner.OwnerUpdate(key=key, address=web.address, incoming=incoming)
    processed = await runner.process(session, channel=WEB, updates=[update_], knowledge=engine.knowledge,
                                     policy=engine.policy, max_text_chars=engine.max_text_chars,
                                     limits=engine.limits, now=now)
    await runner.record_replies(session, channel=WEB, processed=processed)
    return await hand_over(session, ids=processed.outbox_ids, now=now)


async def start(session: AsyncSession, *, centre_code: str | None, engine: Engine,
                now: dt.datetime | None = None) -> tuple[WebSession, list[OutboxRecord]]:
    """A new session, with the owner's consent given now; the conversation's welcome."""
    now = now or utcnow()
    address = secrets.token_urlsafe(24)
    chat_ids = await ensure_chats(session, channel=WEB, addresses=[address])
    web = WebSession(address=address, chat_id=chat_ids[address], centre_code=centre_code, consented_at=now,
                     last_seen_at=now)
    session.add(web)
    await session.flush()
    key = f"{address}:start"
    await runner.claim(session, channel=WEB, keys=[key], now=now)
    welcome = await _turn(session, web=web, key=key, incoming=Incoming(event=Command("start"), at=now), engine=engine,
                          now=now)
    return web, welcome


async def send(session: AsyncSession, *, web: WebSession, key: str, text: str | None, button: str | None,
               label: str | None, engine: Engine, now: dt.datetime | None = None) -> tuple[int, list[OutboxRecord]]:
    """The owner's message (``text``) or pressed button (``button``, shown as ``label``): its id in the history
    and the replies; for a ``key`` this session sent before, the same again."""
    now = now or utcnow()
    claim_key = f"{web.address}:{key}"
    if not await runner.claim(session, channel=WEB, keys=[claim_key], now=now):
        stored = await runner.stored_replies(session, channel=WEB, keys=[claim_key])
        mine = await session.scalar(select(WebMessage.id).where(WebMessage.chat_id == web.chat_id,
                                                                WebMessage.key == key))
        return mine or 0, await records(session, ids=stored.get(claim_key, []))
    said = WebMessage(chat_id=web.chat_id, key=key, text=(label if button is not None else text) or "",
                      created_at=now)
    session.add(said)
    web.last_seen_at = now
    await session.flush()
    event = Press(button) if button is not None else typed(text)
    incoming = Incoming(event=event, at=now, centre_hint=web.centre_code)
    return said.id, await _turn(session, web=web, key=claim_key, incoming=incoming, engine=engine, now=now)


@dataclass(frozen=True)
class Said:
    """One message of the history: the owner's (``mine``) or the service's (``message``)."""

    at: dt.datetime
    mine: WebMessage | None = None
    message: OutboxRecord | None = None


async def history(session: AsyncSession, *, web: WebSession, now: dt.datetime | None = None) -> list[Said]:
    """The session's conversation, oldest first (the last ``HISTORY_LIMIT`` messages of each side). Messages
    waiting for the owner are handed over now."""
    now = now or utcnow()
    pending = list((await session.scalars(select(OutboxMessage.id).where(
        OutboxMessage.chat_id == web.chat_id, OutboxMessage.status == "pending"))).all())
    if pending:
        await hand_over(session, ids=pending, now=now)
    mine = list((await session.scalars(select(WebMessage).where(WebMessage.chat_id == web.chat_id)
                                       .order_by(WebMessage.id.desc()).limit(HISTORY_LIMIT))).all())
    ids = list((await session.scalars(select(OutboxMessage.id).where(OutboxMessage.chat_id == web.chat_id)
                                      .order_by(OutboxMessage.id.desc()).limit(HISTORY_LIMIT))).all())
    created = dict((await session.execute(select(OutboxMessage.id, OutboxMessage.created_at)
                                          .where(OutboxMessage.id.in_(ids)))).all()) if ids else {}
    items = [Said(at=m.created_at, mine=m) for m in mine]
    items += [Said(at=created[r.id], message=r) for r in await records(session, ids=ids)]
    items.sort(key=lambda s: (s.at, s.mine is None, s.mine.id if s.mine else s.message.id))
    return items


async def has_new(session: AsyncSession, *, web: WebSession) -> bool:
    """Whether a message waits for the session (a read: cheap enough to ask every second)."""
    return bool(await session.scalar(select(exists().where(OutboxMessage.chat_id == web.chat_id,
                                                           OutboxMessage.status == "pending"))))


async def take_new(session: AsyncSession, *, web: WebSession, now: dt.datetime | None = None) -> list[OutboxRecord]:
    """The messages waiting for the session, in order, recorded delivered (an open page shows them now)."""
    now = now or utcnow()
    leased = await lease_due(session, channel=WEB, address=web.address, limit=1, lease_seconds=30, now=now)
    return await hand_over(session, ids=[m.id for m in leased], now=now)


async def forget_idle(session: AsyncSession, *, untouched_since: dt.datetime) -> int:
    """Retention: sessions not used since ``untouched_since`` go, with what their owners wrote."""
    idle = select(WebSession.chat_id).where(WebSession.last_seen_at < untouched_since).scalar_subquery()
    await session.execute(delete(WebMessage).where(WebMessage.chat_id.in_(idle)))
    result = await session.execute(delete(WebSession).where(WebSession.last_seen_at < untouched_since))
    return result.rowcount or 0

