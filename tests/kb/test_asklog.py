"""The ask log written with group commit: ids, idempotency keys, batches, and failures that stay contained."""

from __future__ import annotations

import asyncio
import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from api.db import make_engine, make_sessionmaker
from api.errors import Unprocessable
from api.kb.asklog import AskLogWriter, ask_log_row, insert_ask_logs, transaction_scope
from api.kb.models import AskLog
from knowledge.matcher import Candidate, MatchResult
from tests.conftest import committing

ESCALATE = MatchResult("escalate", "question", None, [Candidate("e1", "topic-a", "질문 1", 0.31)], 0.31)


def row(text: str, *, key: str | None = None, chat_id: int | None = 7) -> dict:
    return ask_log_row(text=text, result=ESCALATE, chat_id=chat_id, channel="bot", idempotency_key=key)


async def test_rows_keep_what_the_matcher_said(db):
    [row_id] = await insert_ask_logs(db, rows=[row("정산 서류 뭐 내요", key="k-1")])
    log = await db.get(AskLog, row_id)
    assert (log.text, log.outcome, log.kind, log.chat_id, log.channel, log.idempotency_key) == (
        "정산 서류 뭐 내요", "escalate", "question", 7, "bot", "k-1")
    assert log.candidates == [{"entry_id": "e1", "topic": "topic-a", "title": "질문 1", "score": 0.31}]
    assert log.score == 0.31 and log.feedback is None and log.reviewed is False and log.created_at is not None


async def test_ids_follow_the_rows_and_a_key_is_logged_once(db):
    [earlier] = await insert_ask_logs(db, rows=[row("첫 시도", key="retry-1")])
    ids = await insert_ask_logs(db, rows=[row("a"), row("b", key="new-1"), row("c"), row("첫 시도", key="retry-1"),
                                          row("b again", key="new-1"), row("d", chat_id=None)])
    assert ids[3] == earlier  # a retry of a question logged before
    assert ids[4] == ids[1]  # the same key twice in one batch
    assert len({ids[0], ids[1], ids[2], ids[5], earlier}) == 5
    texts = dict((await db.execute(select(AskLog.id, AskLog.text).where(AskLog.id.in_(ids)))).all())
    assert [texts[i] for i in ids] == ["a", "b", "c", "첫 시도", "b", "d"]
    assert await db.scalar(select(func.count()).select_from(AskLog).where(AskLog.idempotency_key == "new-1")) == 1


def test_a_value_that_cannot_be_stored_is_refused_before_it_is_queued():
    with pytest.raises(Unprocessable):
        row("널 문자\x00 질문")
    with pytest.raises(Unprocessable):
        row("큰 채팅 번호", chat_id=2**70)


async def test_questions_asked_together_share_a_transaction(db):
    writer = AskLogWriter(committing(db))
    ids = await asyncio.gather(*(writer.write(row(f"동시 질문 {n}", key=f"together-{n % 15}")) for n in range(30)))
    assert ids[:15] == ids[15:]  # the same keys: the same rows
    assert len(set(ids)) == 15
    assert writer.batches < 30  # rows waiting while a batch was written went together
    texts = dict((await db.execute(select(AskLog.id, AskLog.text).where(AskLog.id.in_(ids)))).all())
    assert [texts[i] for i in ids[:15]] == [f"동시 질문 {n}" for n in range(15)]


async def test_a_bad_row_fails_only_its_own_request(db):
    writer = AskLogWriter(committing(db))
    bad = row("본문 없음") | {"text": None}  # NOT NULL: refused by the database
    results = await asyncio.gather(writer.write(row("앞 질문")), writer.write(bad), writer.write(row("뒤 질문")),
                                   return_exceptions=True)
    assert isinstance(results[1], IntegrityError)
    good = [results[0], results[2]]
    assert all(isinstance(i, int) for i in good)
    assert sorted((await db.execute(select(AskLog.text).where(AskLog.id.in_(good)))).scalars()) == ["뒤 질문", "앞 질문"]


async def test_the_writer_commits_through_its_own_sessions(fresh_database_url):
    """As deployed: sessions from the app's sessionmaker (on SQLite, BEGIN IMMEDIATE), committed per batch."""
    engine = make_engine(fresh_database_url)
    try:
        writer = AskLogWriter(transaction_scope(make_sessionmaker(engine)))
        ids = await asyncio.gather(*(writer.write(row(f"배치 {n}", key=f"deploy-{n}")) for n in range(40)))
        again = await writer.write(row("배치 3", key="deploy-3"))
        await writer.close()
        assert len(set(ids)) == 40 and again == ids[3]
        assert writer.batches < 40
        async with make_sessionmaker(engine)() as session:
            stored = dict((await session.execute(select(AskLog.idempotency_key, AskLog.id))).all())
        assert stored == {f"deploy-{n}": ids[n] for n in range(40)}
    finally:
        await engine.dispose()
