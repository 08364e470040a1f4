"""Chats: which channel a chat id belongs to and how that channel addresses it.

Telegram chats (owners' private chats and centres' staff groups) and local terminal chats are addressed by their
own number, which is also their chat id. KakaoTalk users and web chat sessions are addressed by strings; their
chat ids are drawn from ``ALLOCATED_MIN`` up (Telegram's ids stay far below 2**52, local chats start at
2**53). Keyword-only functions over an ``AsyncSession``; they flush, the caller commits.
"""

from __future__ import annotations

import functools
import secrets
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from api.chats.models import Chat
from api.contract import CHANNELS, LOCAL, TELEGRAM
from api.db import dialect_insert, utcnow
from api.errors import NotFound, Unprocessable

LOCAL_CHAT_MIN = 2**53  # local terminal chats (``hotline chat``) are numbered from here
ALLOCATED_MIN = 2**60  # chats of channels with string addresses
ALLOCATED_SPAN = 2**62  # their ids: ALLOCATED_MIN ≤ id < ALLOCATED_MIN + ALLOCATED_SPAN (< 2**63)
NUMBERED = frozenset({TELEGRAM, LOCAL})
MAX_ADDRESS_CHARS = 200
_ALLOCATE_ATTEMPTS = 20


@dataclass(frozen=True)
class Recipient:
    """Where a message to a chat goes: its id, channel and address."""

    chat_id: int
    channel: str
    address: str

    @classmethod
    def telegram(cls, chat_id: int) -> "Recipient":
        """A Telegram chat known by its number (an owner's chat or a centre's staff group)."""
        return cls(chat_id=chat_id, channel=TELEGRAM, address=str(chat_id))


class UnknownChat(NotFound):
    code = "unknown_chat"
    detail = "대화방을 찾을 수 없습니다."


def _check(channel: str, address: str) -> None:
    if channel not in CHANNELS:
        raise Unprocessable(f"알 수 없는 채널입니다: {channel}", code="unknown_channel")
    if not address or len(address) > MAX_ADDRESS_CHARS:
        raise Unprocessable(f"대화방 주소는 1~{MAX_ADDRESS_CHARS}자여야 합니다.", code="invalid_address")
    if channel in NUMBERED:
        try:
            number = int(address)
        except ValueError:
            raise Unprocessable("이 채널의 대화방 주소는 숫자여야 합니다.", code="invalid_address") from None
        if str(number) != address or not -(2**63) < number < ALLOCATED_MIN:
            raise Unprocessable("이 채널의 대화방 주소가 올바르지 않습니다.", code="invalid_address")
        if channel == LOCAL and number < LOCAL_CHAT_MIN:
            raise Unprocessable(f"로컬 대화방 번호는 {LOCAL_CHAT_MIN} 이상이어야 합니다.", code="invalid_address")
        if channel == TELEGRAM and number >= LOCAL_CHAT_MIN:
            raise Unprocessable("텔레그램 대화방 번호가 올바르지 않습니다.", code="invalid_address")


@functools.cache
def _insert_numbered(dialect: str):
    return dialect_insert(dialect)(Chat.__table__).on_conflict_do_nothing()


async def ensure_chats(session: AsyncSession, *, channel: str, addresses: list[str]) -> dict[str, int]:
    """The chat ids of ``addresses`` in ``channel``, creating the chats not seen before: ``{address: chat id}``."""
    wanted = list(dict.fromkeys(addresses))
    for address in wanted:
        _check(channel, address)
    if not wanted:
        return {}
    if channel in NUMBERED:  # the id is the number: no need to look anything up
        now = utcnow()
        await session.execute(_insert_numbered(session.get_bind().dialect.name),
                              [{"id": int(a), "channel": channel, "address": a, "created_at": now}
                               for a in sorted(wanted, key=int)])
        return {a: int(a) for a in wanted}
    found = dict((await session.execute(select(Chat.address, Chat.id).where(
        Chat.channel == channel, Chat.address.in_(wanted)))).all())
    for address in wanted:
        if address not in found:
            found[address] = await _allocate(session, channel=channel, address=address)
    return found


async def _allocate(session: AsyncSession, *, channel: str, address: str) -> int:
    """A new chat id, drawn at random from ``ALLOCATED_MIN`` up (2**62 ids: writers creating chats at the same
    time never wait for one another, as they would taking turns on the highest id). A collision, or another writer
    creating the very chat wanted, is tried again / found."""
    insert = dialect_insert(session.get_bind().dialect.name)
    for _ in range(_ALLOCATE_ATTEMPTS):
        candidate = ALLOCATED_MIN + secrets.randbelow(ALLOCATED_SPAN)
        result = await session.execute(
            insert(Chat).values(id=candidate, channel=channel, address=address, created_at=utcnow())
            .on_conflict_do_nothing().returning(Chat.id))
        if result.scalar() is not None:
            return candidate
        existing = await session.scalar(select(Chat.id).where(Chat.channel == channel, Chat.address == address))
        if existing is not None:
            return existing
    raise RuntimeError("could not allocate a chat id")


async def recipient(session: AsyncSession, *, chat_id: int) -> Recipient:
    """Where messages to ``chat_id`` go. A chat id never registered is a Telegram chat (ids that predate this
    table) or a local one (from ``LOCAL_CHAT_MIN``)."""
    row = (await session.execute(select(Chat.channel, Chat.address).where(Chat.id == chat_id))).one_or_none()
    if row is not None:
        return Recipient(chat_id=chat_id, channel=row.channel, address=row.address)
    if chat_id >= ALLOCATED_MIN:
        raise UnknownChat()
    return Recipient(chat_id=chat_id, channel=LOCAL if chat_id >= LOCAL_CHAT_MIN else TELEGRAM, address=str(chat_id))


async def channels_of(session: AsyncSession, *, chat_ids: list[int]) -> dict[int, str]:
    """The channel of each chat id (for lists: the queue, the dashboard)."""
    if not chat_ids:
        return {}
    known = dict((await session.execute(select(Chat.id, Chat.channel).where(Chat.id.in_(set(chat_ids))))).all())
    return {c: known.get(c) or (LOCAL if LOCAL_CHAT_MIN <= c < ALLOCATED_MIN else TELEGRAM) for c in chat_ids}

