"""The outbox drainer: a message Telegram accepted is never sent again, even when reporting it failed."""

from __future__ import annotations

import pytest

from bot.client import ApiUnavailable
from bot.outbox import OutboxDrainer, SendFailed

ROW = {"id": 1, "chat_id": 10, "text": "답변", "buttons": None, "kind": "staff_reply", "ticket_id": 3,
       "attempts": 0, "lease_token": "t1"}


class FakeApi:
    def __init__(self):
        self.due: list[dict] = []
        self.sent: list[tuple] = []
        self.failed: list[tuple] = []
        self.down = False
        self.flip = False  # go down right after the next send

    async def lease_outbox(self, *, limit, lease_seconds, chat_id=None):
        if self.down:
            raise ApiUnavailable("down")
        rows, self.due = self.due, []
        return rows

    async def outbox_sent(self, message_id, telegram_message_id):
        if self.down:
            raise ApiUnavailable("down")
        self.sent.append((message_id, telegram_message_id))

    async def outbox_failed(self, message_id, lease_token, error, *, retry_after=None, permanent=False):
        self.failed.append((message_id, lease_token, retry_after, permanent))


async def test_sent_but_unreported_is_reported_later_and_not_sent_again():
    api = FakeApi()
    sends = []

    async def send(message):
        sends.append(message.id)
        if api.flip:
            api.down = True  # the API goes away right after Telegram accepted the message
        return 500 + len(sends)

    api.flip = True
    drainer = OutboxDrainer(api, send)
    api.due = [ROW]
    assert await drainer.drain_once() == 1
    assert sends == [1] and api.sent == []
    with pytest.raises(ApiUnavailable):
        await drainer.drain_once()  # still down: nothing leased, nothing sent
    api.down, api.flip = False, False
    api.due = [{**ROW, "lease_token": "t2"}]  # the lease ran out meanwhile and the message came round again
    await drainer.drain_once()
    assert sends == [1]  # not sent twice
    assert api.sent == [(1, 501), (1, 501)]  # reported (again) with the id Telegram gave


async def test_failures_are_reported_with_retry_after_or_as_permanent():
    api = FakeApi()
    outcomes = iter([SendFailed("flood", retry_after=7), SendFailed("blocked", permanent=True), SendFailed("502")])

    async def send(message):
        raise next(outcomes)

    drainer = OutboxDrainer(api, send)
    for token in ("a", "b", "c"):
        api.due = [{**ROW, "lease_token": token}]
        await drainer.drain_once()
    assert api.failed == [(1, "a", 7, False), (1, "b", None, True), (1, "c", None, False)]
    assert api.sent == []
