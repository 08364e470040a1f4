"""The enqueue side of the outbox (api.outbox.service.enqueue), as the ticket rules use it."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from api.chats.service import Recipient
from api.contract import Button
from api.outbox.models import OutboxMessage
from api.outbox.service import enqueue

GROUP = Recipient.telegram(-100)


async def test_enqueue_writes_a_pending_row(db):
    row = await enqueue(db, to=GROUP, text="안내", kind="staff_notice", reply_to=7,
                        buttons=((Button("담당하기", data="claim:1"), Button("콘솔", url="https://x.example/t/1")),))
    assert row.id is not None and row.status == "pending" and row.attempts == 0
    assert (row.channel, row.address, row.chat_id, row.reply_to) == ("telegram", "-100", -100, 7)
    assert row.buttons == [[{"text": "담당하기", "data": "claim:1"}, {"text": "콘솔", "url": "https://x.example/t/1"}]]
    assert row.next_attempt_at is not None


async def test_same_dedupe_key_is_queued_once(db):
    first = await enqueue(db, to=Recipient.telegram(1), text="답변", kind="staff_reply", dedupe_key="reply:1")
    second = await enqueue(db, to=Recipient.telegram(1), text="답변 (재시도)", kind="staff_reply", dedupe_key="reply:1")
    assert second.id == first.id and second.text == "답변"
    assert await db.scalar(select(func.count()).select_from(OutboxMessage)) == 1


@pytest.mark.parametrize("kwargs", [
    {"text": ""},
    {"text": "가" * 4097},
    {"buttons": ((Button("a", data="x" * 65),),)},            # over Telegram's 64 bytes
    {"buttons": ((Button("a", data="가" * 22),),)},           # 66 bytes of UTF-8
    {"buttons": ((Button("", data="b"),),)},
    {"buttons": ((Button("a", data="b", url="https://example.com"),),)},  # data or a link, not both
    {"buttons": ((Button("a"),),)},                           # neither
    {"buttons": ((),)},
    {"to": Recipient(chat_id=1, channel="fax", address="1")},
    {"kind": ""},
    {"dedupe_key": "k" * 129},
])
async def test_malformed_messages_are_programming_errors(db, kwargs):
    args = {"to": Recipient.telegram(1), "text": "안내", "kind": "staff_notice", **kwargs}
    with pytest.raises(ValueError):
        await enqueue(db, **args)
    assert await db.scalar(select(func.count()).select_from(OutboxMessage)) == 0
