"""Conversation state per chat (optimistic versioning) and exactly-once claims of Telegram updates.

The bot keeps nothing that matters in its own process: where a chat is in a flow lives here, so a
restarted or a second bot process continues it. Every write names the version it read; a stale write
is a 409 and the caller reloads. Updates are claimed by ``update_id`` before they are processed, so an
update Telegram delivers twice (or two bot processes see) is processed once.

The bot's round trips per update are few on purpose: a claim can carry the chat id (a successful claim then
answers with the chat's state and whether it has an open ticket, so the bot reads neither separately) and the
ids of updates the bot finished since its last claim (recorded done in the same transaction).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import bindparam, delete, exists, literal, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from api.conversations.models import Conversation, ProcessedUpdate
from api.db import dialect_insert, utcnow
from api.errors import Conflict, PayloadTooLarge, Unprocessable
from api.tickets.models import Ticket
from api.tickets.service import NOT_RESOLVED

MAX_STATE_BYTES = 16 * 1024
# Update ids one request may record as done (a claim's ``completed``, the batch endpoint).
MAX_COMPLETED = 100
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
class ChatSnapshot:
    """What the bot needs to start a turn in a chat: its state, and whether it has an open ticket (the ticket an
    owner's follow-up goes to, see ``api.tickets.service.append_owner_message``)."""

    conversation: ConversationState
    open_ticket: bool


@dataclass(frozen=True)
class Claim:
    update_id: int
    claimed: bool
    status: str
    snapshot: ChatSnapshot | None = None  # asked for with the claim (``chat_id``) and the claim succeeded


# The statements every update runs (claim, snapshot, save, done) are built once, as Core statements with bound
# parameters: building and caching a statement per request costs more than running it.
UPDATES = ProcessedUpdate.__table__
CONVERSATIONS = Conversation.__table__

_SNAPSHOT = (
    select(CONVERSATIONS.c.state, CONVERSATIONS.c.version, CONVERSATIONS.c.updated_at,
           exists().where(Ticket.chat_id == bindparam("chat_id"), NOT_RESOLVED).label("open_ticket"))
    # one row even for a chat never seen
    .select_from(select(literal(1).label("one")).subquery()
                 .outerjoin(CONVERSATIONS, CONVERSATIONS.c.chat_id == bindparam("chat_id")))
)
_SAVE = (
    update(CONVERSATIONS)
    .where(CONVERSATIONS.c.chat_id == bindparam("chat"), CONVERSATIONS.c.version == bindparam("read_version"))
    .values(state=bindparam("new_state", type_=CONVERSATIONS.c.state.type), version=CONVERSATIONS.c.version + 1,
            updated_at=bindparam("now", type_=CONVERSATIONS.c.updated_at.type))
)


@dataclass(frozen=True)
class _Inserts:
    """``INSERT … ON CONFLICT`` (SQLite and PostgreSQL spell it alike): no savepoint, no failed statement."""

    claim: object  # a new claim, unless the update is known (rowcount 0)
    done: object  # an update done: marked, or inserted as done if never claimed
    conversation: object  # a chat's first state, unless it has one (rowcount 0)


@functools.cache
def _inserts(dialect: str) -> _Inserts:
    insert = dialect_insert(dialect)
    done = insert(UPDATES)
    done = done.on_conflict_do_update(index_elements=[UPDATES.c.update_id],
                                      set_={"status": "done", "done_at": done.excluded.done_at},
                                      where=UPDATES.c.status != "done")
    # SQLAlchemy keeps an INSERT's rowcount only when asked
    return _Inserts(claim=insert(UPDATES).on_conflict_do_nothing().execution_options(preserve_rowcount=True),
                    done=done,
                    conversation=insert(CONVERSATIONS).on_conflict_do_nothing()
                    .execution_options(preserve_rowcount=True))


def _statements(session: AsyncSession) -> _Inserts:
    return _inserts(session.get_bind().dialect.name)


async def get_conversation(session: AsyncSession, *, chat_id: int) -> ConversationState:
    """The chat's state; a chat never seen has an empty state at version 0."""
    row = await session.get(Conversation, chat_id, populate_existing=True)
    if row is None:
        return ConversationState(chat_id=chat_id, state={}, version=0, updated_at=None)
    return ConversationState(chat_id=chat_id, state=dict(row.state or {}), version=row.version,
                             updated_at=row.updated_at)


async def chat_snapshot(session: AsyncSession, *, chat_id: int) -> ChatSnapshot:
    """The chat's state and whether it has an open ticket, in one query."""
    row = (await session.execute(_SNAPSHOT, {"chat_id": chat_id})).one()
    if row.version is None:
        conversation = ConversationState(chat_id=chat_id, state={}, version=0, updated_at=None)
    else:
        conversation = ConversationState(chat_id=chat_id, state=dict(row.state or {}), version=row.version,
                                         updated_at=row.updated_at)
    return ChatSnapshot(conversation=conversation, open_ticket=bool(row.open_ticket))


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
        created = await session.execute(_statements(session).conversation,
                                        {"chat_id": chat_id, "state": state, "version": 1, "updated_at": now})
        if created.rowcount != 1:
            raise VersionConflict()
        return ConversationState(chat_id=chat_id, state=state, version=1, updated_at=now)
    result = await session.execute(_SAVE, {"chat": chat_id, "read_version": version, "new_state": state, "now": now})
    if result.rowcount != 1:
        raise VersionConflict()
    return ConversationState(chat_id=chat_id, state=state, version=version + 1, updated_at=now)


async def claim_update(session: AsyncSession, *, update_id: int, claimer: str = "", chat_id: int | None = None,
                       completed: Iterable[int] = (), now: datetime | None = None) -> Claim:
    """Take an update for processing. ``claimed`` is False when it was processed or is being processed elsewhere.

    The same ``claimer`` (a bot process's token) claiming again gets it again (a retried request is harmless);
    a claim left "processing" for longer than ``STALE_CLAIM`` (its process died) can be taken over.
    ``completed``: updates the claimer finished, recorded done first (in the same transaction). ``chat_id``: the
    update's chat; a successful claim then comes with the chat's snapshot (``Claim.snapshot``).
    """
    now = now or utcnow()
    claimer = claimer or None
    await complete_updates(session, update_ids=completed, now=now)
    inserted = await session.execute(_statements(session).claim, {"update_id": update_id, "status": "processing",
                                                                   "claimed_by": claimer, "claimed_at": now})
    claim = (Claim(update_id=update_id, claimed=True, status="processing") if inserted.rowcount == 1
             else await _claim_existing(session, update_id=update_id, claimer=claimer, now=now))
    if claim.claimed and chat_id is not None:
        return Claim(update_id=update_id, claimed=True, status=claim.status,
                     snapshot=await chat_snapshot(session, chat_id=chat_id))
    return claim


async def _claim_existing(session: AsyncSession, *, update_id: int, claimer: str | None, now: datetime) -> Claim:
    """The update is known: it is this claimer's again (a retried claim), or a stale claim taken over, or not."""
    mine_or_stale = UPDATES.c.claimed_at < now - STALE_CLAIM
    if claimer is not None:
        mine_or_stale = or_(mine_or_stale, UPDATES.c.claimed_by == claimer)
    taken = await session.execute(
        update(UPDATES)
        .where(UPDATES.c.update_id == update_id, UPDATES.c.status == "processing", mine_or_stale)
        .values(claimed_at=now, claimed_by=claimer)
    )
    if taken.rowcount == 1:
        return Claim(update_id=update_id, claimed=True, status="processing")
    status = await session.scalar(select(UPDATES.c.status).where(UPDATES.c.update_id == update_id))
    return Claim(update_id=update_id, claimed=False, status=status or "processing")


async def complete_update(session: AsyncSession, *, update_id: int, now: datetime | None = None) -> Claim:
    """Mark an update processed (idempotent). Completing an update never claimed records it as done."""
    await complete_updates(session, update_ids=[update_id], now=now)
    return Claim(update_id=update_id, claimed=False, status="done")


async def complete_updates(session: AsyncSession, *, update_ids: Iterable[int], now: datetime | None = None) -> None:
    """Mark updates processed (idempotent), at most ``MAX_COMPLETED`` at once, in one statement; one never
    claimed is recorded as done."""
    ids = sorted(set(update_ids))
    if not ids:
        return
    if len(ids) > MAX_COMPLETED:
        raise Unprocessable(f"한 번에 {MAX_COMPLETED}건까지 처리 완료로 기록할 수 있습니다.", code="too_many_updates")
    now = now or utcnow()
    await session.execute(_statements(session).done, [{"update_id": i, "status": "done", "claimed_at": now,
                                                       "done_at": now} for i in ids])


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
