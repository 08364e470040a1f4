"""The ask log: every question asked, written with group commit.

``/ask`` is the hottest write of the service (every owner message that is a question), and one transaction per
question made the database work cost more than the matching. ``AskLogWriter`` gathers the rows of the questions
being answered at the same moment and writes them in one transaction (one multi-row ``INSERT … RETURNING``),
then gives every request its row id. A request still answers only after its row is committed, so nothing is
lost and ``ask_log_id`` is real; alone, a question is written at once (no waiting for company), and under load
a batch holds whatever arrived while the previous one was being written.

``insert_ask_logs`` is the SQL, a plain function over a session (it only executes; the writer commits).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.db import check_storable, dialect_insert, utcnow, write_sessionmaker
from api.errors import NotFound
from api.kb.models import AskLog
from api.privacy import ANONYMISED_TEXT
from knowledge.matcher import MatchResult

log = logging.getLogger(__name__)

MAX_QUESTION_CHARS = 2000  # the longest question /ask and the preview take

MAX_BATCH = 200
SessionScope = Callable[[], AbstractAsyncContextManager[AsyncSession]]


def ask_log_row(*, text: str, result: MatchResult, chat_id: int | None, channel: str,
                idempotency_key: str | None = None, created_at: dt.datetime | None = None) -> dict[str, Any]:
    """The ``ask_logs`` values for a question and what the matcher made of it (422 if a value cannot be stored)."""
    entry = result.entry
    row = {"created_at": created_at or utcnow(), "text": text, "outcome": result.outcome, "kind": result.kind,
           "chat_id": chat_id, "channel": channel, "entry_id": entry.id if entry else None,
           "topic": entry.topic if entry else None, "score": round(float(result.score), 4),
           "candidates": [{"entry_id": c.entry_id, "topic": c.topic, "title": c.title, "score": c.score}
                          for c in result.candidates],
           "feedback": None, "reviewed": False, "idempotency_key": idempotency_key}
    check_storable(row)
    return row


async def insert_ask_logs(session: AsyncSession, *, rows: Sequence[dict[str, Any]]) -> list[int]:
    """Insert ask-log rows (from ``ask_log_row``) and return their ids, in order.

    A row whose idempotency key is already logged (a retry), or repeated within ``rows``, is not inserted
    again: its id is the first row's."""
    ids: list[int | None] = [None] * len(rows)
    plain = [i for i, row in enumerate(rows) if row["idempotency_key"] is None]
    if plain:
        # The table, not the ORM entity: a Core insert skips the ORM's bulk-persistence layer (a third of its cost).
        table = AskLog.__table__
        result = await session.execute(insert(table).returning(table.c.id, sort_by_parameter_order=True),
                                       [rows[i] for i in plain])
        for i, row_id in zip(plain, result.scalars().all(), strict=True):
            ids[i] = row_id
    keyed: dict[str, list[int]] = {}
    for i, row in enumerate(rows):
        if row["idempotency_key"] is not None:
            keyed.setdefault(row["idempotency_key"], []).append(i)
    if keyed:
        statement = (dialect_insert(session)(AskLog).on_conflict_do_nothing(index_elements=[AskLog.idempotency_key])
                     .returning(AskLog.id, AskLog.idempotency_key))
        result = await session.execute(statement, [rows[positions[0]] for positions in keyed.values()])
        found = {key: row_id for row_id, key in result.all()}
        missing = [key for key in keyed if key not in found]
        if missing:  # logged before, by an earlier try
            found.update({key: row_id for row_id, key in await session.execute(
                select(AskLog.id, AskLog.idempotency_key).where(AskLog.idempotency_key.in_(missing)))})
        for key, positions in keyed.items():
            for i in positions:
                ids[i] = found[key]
    return ids  # type: ignore[return-value]


def transaction_scope(sessionmaker: async_sessionmaker[AsyncSession]) -> SessionScope:
    """A scope that opens a writing session and commits it when the block succeeds."""
    maker = write_sessionmaker(sessionmaker)

    @asynccontextmanager
    async def scope() -> AsyncIterator[AsyncSession]:
        async with maker() as session:
            yield session
            await session.commit()

    return scope


_Pending = tuple[dict[str, Any], "asyncio.Future[int]"]
_UNAVAILABLE = (OperationalError, InterfaceError, ConnectionError, TimeoutError)


class AskLogWriter:
    """Writes ask-log rows in batches; ``await writer.write(row)`` returns the row's id once it is committed.

    One task drains the queue while there is something to write and ends when it is empty. If a batch fails
    because the database is unreachable, every request in it gets that error (the API answers 503); any other
    failure is retried row by row, so one bad row fails only its own request."""

    def __init__(self, scope: SessionScope, *, max_batch: int = MAX_BATCH) -> None:
        self.scope = scope
        self.max_batch = max_batch
        self._pending: list[_Pending] = []
        self._task: asyncio.Task | None = None
        self.batches = 0  # how many transactions were written (benchmarks and tests read it)

    async def write(self, row: dict[str, Any]) -> int:
        future: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self._pending.append((row, future))
        if self._task is None:
            self._task = asyncio.create_task(self._drain(), name="ask-log-writer")
        # Shielded: a request cancelled while waiting (client gone) still has its question logged.
        return await asyncio.shield(future)

    async def close(self) -> None:
        """Wait for what is queued to be written (application shutdown)."""
        if self._task is not None:
            await asyncio.shield(self._task)

    async def _drain(self) -> None:
        try:
            while self._pending:
                batch = self._pending[: self.max_batch]
                del self._pending[: self.max_batch]
                await self._write_batch(batch)
        finally:
            self._task = None
            for _, future in self._pending:  # only when this task was cancelled
                future.cancel()
            self._pending.clear()

    async def _write_batch(self, batch: list[_Pending]) -> None:
        try:
            ids = await self._insert([row for row, _ in batch])
        except _UNAVAILABLE as exc:
            _fail(batch, exc)
            return
        except asyncio.CancelledError:
            for _, future in batch:
                future.cancel()
            raise
        except Exception as exc:
            if len(batch) == 1:
                _fail(batch, exc)
                return
            log.warning("ask-log batch of %d failed (%s); writing its rows one by one", len(batch),
                        type(exc).__name__)
            for item in batch:
                await self._write_batch([item])
            return
        self.batches += 1
        for (_, future), row_id in zip(batch, ids):
            if not future.done():
                future.set_result(row_id)

    async def _insert(self, rows: list[dict[str, Any]]) -> list[int]:
        async with self.scope() as session:
            return await insert_ask_logs(session, rows=rows)


def _fail(batch: list[_Pending], exc: BaseException) -> None:
    for _, future in batch:
        if not future.done():
            future.set_exception(exc)


def get_writer(app: Any) -> AskLogWriter:
    """The application's writer. The lifespan creates it with connections of its own; an application run
    without its lifespan gets one over its sessionmaker on first use."""
    writer = getattr(app.state, "ask_log_writer", None)
    if writer is None:
        writer = app.state.ask_log_writer = AskLogWriter(transaction_scope(app.state.sessionmaker))
    return writer


async def set_feedback(session: AsyncSession, *, ask_log_id: int, helpful: bool) -> AskLog:
    """The owner's 👍 (``helpful``) or 👎 on an answer; the last one counts."""
    row = await session.get(AskLog, ask_log_id)
    if row is None:
        raise NotFound("해당 질문 기록을 찾을 수 없습니다.")
    row.feedback = "up" if helpful else "down"
    await session.flush()
    return row


async def set_picked(session: AsyncSession, *, ask_log_id: int, entry_id: str) -> None:
    """The owner picked ``entry_id`` among the question's clarify candidates (a suggestion for that entry)."""
    row = await session.get(AskLog, ask_log_id)
    if row is None:
        raise NotFound("해당 질문 기록을 찾을 수 없습니다.")
    row.picked_entry_id = entry_id
    await session.flush()


async def forget_old_questions(session: AsyncSession, *, asked_before: dt.datetime) -> int:
    """Retention: questions asked before ``asked_before`` lose their text and their chat."""
    result = await session.execute(
        update(AskLog).where(AskLog.created_at < asked_before, AskLog.text != ANONYMISED_TEXT)
        .values(text=ANONYMISED_TEXT, chat_id=None).execution_options(synchronize_session=False))
    return result.rowcount

