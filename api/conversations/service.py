"""Conversation state per chat (optimistic versioning) and exactly-once claims of Telegram updates.

The bot keeps nothing that matters in its own process: where a chat is in a flow lives here, so a
restarted or a second bot process continues it. Every write names the version it read; a stale write
is a 409 and the caller reloads. Updates are claimed by ``update_id`` before they are processed, so an
update Telegram delivers twice (or two bot processes see) is processed once.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from api.conversations.models import Conversation, ProcessedUpdate
from api.db import utcnow
from api.errors import Conflict, PayloadTooLarge, Unprocessable

MAX_STATE_BYTES = 16 * 1024
# A claim still "processing" after this long belongs to a bot process that died mid-update: it may be taken over.
STALE_CLAIM = timedelta(minutes=2)


class VersionConflict(Conflict):
    code = "version_conflict"
    detail = "대화 상태가 그 사이 바뀌었습니다. 다시 불러온 뒤 시도해 주세요."


@dataclass(frozen=True)
class ConversationState:
    chat_id: int
    state: dict
    version: int
    updated_at: datetime | None


@dataclass(frozen=True)
class Claim:
    update_id: int
    claimed: bool
    status: str


async def get_conversation(session: AsyncSession, *, chat_id: int) -> ConversationState:
    """The chat's state; a chat never seen has an empty state at version 0."""
    row = await session.get(Conversation, chat_id, populate_existing=True)
    if row is None:
        return ConversationState(chat_id=chat_id, state={}, version=0, updated_at=None)
    return ConversationState(chat_id=chat_id, state=dict(row.state or {}), version=row.version,
                             updated_at=row.updated_at)


def _check_state(state: dict) -> None:
    if not isinstance(state, dict):
        raise Unprocessable("대화 상태는 객체여야 합니다.", code="invalid_state")
    try:
        size = len(json.dumps(state, ensure_ascii=False).encode())
    except UnicodeEncodeError:  # a lone surrogate: not storable as UTF-8
        raise Unprocessable("대화 상태에 저장할 수 없는 문자가 있습니다.", code="invalid_state") from None
    if size > MAX_STATE_BYTES:
        raise PayloadTooLarge(f"대화 상태가 너무 큽니다. ({MAX_STATE_BYTES // 1024}KB 이하)", code="state_too_large")


async def save_conversation(session: AsyncSession, *, chat_id: int, state: dict, version: int,
                            now: datetime | None = None) -> ConversationState:
    """Replace the chat's state if it is still at ``version`` (the version the caller read); 409 otherwise."""
    _check_state(state)
    if version < 0:
        raise Unprocessable("버전은 0 이상이어야 합니다.", code="invalid_version")
    now = now or utcnow()
    if version == 0:
        try:
            async with session.begin_nested():
                await session.execute(insert(Conversation).values(chat_id=chat_id, state=state, version=1,
                                                                  updated_at=now))
        except IntegrityError:
            raise VersionConflict() from None
        return ConversationState(chat_id=chat_id, state=state, version=1, updated_at=now)
    result = await session.execute(
        update(Conversation)
        .where(Conversation.chat_id == chat_id, Conversation.version == version)
        .values(state=state, version=Conversation.version + 1, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        raise VersionConflict()
    return ConversationState(chat_id=chat_id, state=state, version=version + 1, updated_at=now)


async def claim_update(session: AsyncSession, *, update_id: int, claimer: str = "",
                       now: datetime | None = None) -> Claim:
    """Take an update for processing. ``claimed`` is False when it was processed or is being processed elsewhere.

    The same ``claimer`` (a bot process's token) claiming again gets it again (a retried request is harmless);
    a claim left "processing" for longer than ``STALE_CLAIM`` (its process died) can be taken over.
    """
    now = now or utcnow()
    claimer = claimer or None
    try:
        async with session.begin_nested():
            await session.execute(insert(ProcessedUpdate).values(update_id=update_id, status="processing",
                                                                 claimed_by=claimer, claimed_at=now))
        return Claim(update_id=update_id, claimed=True, status="processing")
    except IntegrityError:
        pass
    mine_or_stale = ProcessedUpdate.claimed_at < now - STALE_CLAIM
    if claimer is not None:
        mine_or_stale = or_(mine_or_stale, ProcessedUpdate.claimed_by == claimer)
    taken = await session.execute(
        update(ProcessedUpdate)
        .where(ProcessedUpdate.update_id == update_id, ProcessedUpdate.status == "processing", mine_or_stale)
        .values(claimed_at=now, claimed_by=claimer)
        .execution_options(synchronize_session=False)
    )
    if taken.rowcount == 1:
        return Claim(update_id=update_id, claimed=True, status="processing")
    status = await session.scalar(select(ProcessedUpdate.status).where(ProcessedUpdate.update_id == update_id))
    return Claim(update_id=update_id, claimed=False, status=status or "processing")


async def complete_update(session: AsyncSession, *, update_id: int, now: datetime | None = None) -> Claim:
    """Mark an update processed (idempotent). Completing an update never claimed records it as done."""
    now = now or utcnow()
    result = await session.execute(
        update(ProcessedUpdate)
        .where(ProcessedUpdate.update_id == update_id, ProcessedUpdate.status != "done")
        .values(status="done", done_at=now)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount == 0:
        try:
            async with session.begin_nested():
                await session.execute(insert(ProcessedUpdate).values(update_id=update_id, status="done",
                                                                     claimed_at=now, done_at=now))
        except IntegrityError:
            pass  # already done
    return Claim(update_id=update_id, claimed=False, status="done")


async def release_update(session: AsyncSession, *, update_id: int, claimer: str = "") -> None:
    """Give a claim back without processing it (the bot could not handle it now); it may be claimed again.
    With a ``claimer``, only that claimer's claim is released."""
    condition = [ProcessedUpdate.update_id == update_id, ProcessedUpdate.status == "processing"]
    if claimer:
        condition.append(ProcessedUpdate.claimed_by == claimer)
    await session.execute(delete(ProcessedUpdate).where(*condition).execution_options(synchronize_session=False))


async def prune_updates(session: AsyncSession, *, older_than: timedelta = timedelta(days=7),
                        now: datetime | None = None) -> int:
    """Forget processed updates older than ``older_than`` (Telegram never redelivers that late)."""
    now = now or utcnow()
    result = await session.execute(
        delete(ProcessedUpdate)
        .where(ProcessedUpdate.status == "done", ProcessedUpdate.done_at < now - older_than)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount or 0
