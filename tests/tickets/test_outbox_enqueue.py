"""The enqueue side of the outbox (api.outbox.service.enqueue), as the ticket rules use it."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from api.outbox.models import OutboxMessage
from api.outbox.service import enqueue


async def test_enqueue_writes_a_pending_row(db):
    row = await enqueue(db, chat_id=-100, text="안내", kind="staff_notice",
                        buttons=[[{"text": "담당하기", "callback_data": "claim:1"}]])
    assert row.id is not None and row.status == "pending" and row.attempts == 0
    assert row.buttons == [[{"text": "담당하기", "callback_data": "claim:1"}]]
    assert row.next_attempt_at is not None


async def test_same_dedupe_key_is_queued_once(db):
    first = await enqueue(db, chat_id=1, text="답변", kind="staff_reply", dedupe_key="reply:1")
    second = await enqueue(db, chat_id=1, text="답변 (재시도)", kind="staff_reply", dedupe_key="reply:1")
    assert second.id == first.id and second.text == "답변"
    assert await db.scalar(select(func.count()).select_from(OutboxMessage)) == 1


@pytest.mark.parametrize("kwargs", [
    {"text": ""},
    {"text": "가" * 4097},
    {"buttons": [{"text": "a", "callback_data": "b"}]},                   # not a list of rows
    {"buttons": [[{"text": "a", "callback_data": "x" * 65}]]},            # over Telegram's 64 bytes
    {"buttons": [[{"text": "a", "callback_data": "가" * 22}]]},           # 66 bytes of UTF-8
    {"buttons": [[{"text": "", "callback_data": "b"}]]},
    {"buttons": [[{"text": "a", "url": "https://example.com"}]]},
    {"buttons": [[]]},
    {"kind": ""},
    {"dedupe_key": "k" * 129},
])
async def test_malformed_messages_are_programming_errors(db, kwargs):
    args = {"chat_id": 1, "text": "안내", "kind": "staff_notice", **kwargs}
    with pytest.raises(ValueError):
        await enqueue(db, **args)
    assert await db.scalar(select(func.count()).select_from(OutboxMessage)) == 0
