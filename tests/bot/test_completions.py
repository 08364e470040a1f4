"""Processed updates recorded done in batches (bot/completions.py): carried by the next claim, or by a timer.

The unit tests use an in-memory API; the end-to-end ones count the bot's real API calls per update (fake Bot API,
real bot, real API over HTTP).
"""

from __future__ import annotations

import asyncio
import itertools
import json

import httpx
import pytest
from sqlalchemy import select

from api.conversations.models import ProcessedUpdate
from bot.client import ApiClient, ApiUnavailable
from bot.completions import Completions
from bot.main import BotRunner
from tests.bot.conftest import bot_settings, eventually, find_question

pytestmark = pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")

_owners = itertools.count(5_200_000_001)
ANSWERED = ["정부지원 비율은 얼마인가요?", "자부담 비율 얼마예요", "지원금 비율이 총사업비의 얼마예요",
            "어떤 기업이 신청할 수 있나요?"]


class Api:
    def __init__(self):
        self.recorded: list[list[int]] = []
        self.down = False

    async def complete_updates(self, update_ids):
        if self.down:
            raise ApiUnavailable("ConnectError")
        self.recorded.append(list(update_ids))


async def test_waiting_ids_are_taken_once_and_given_back_when_not_recorded():
    api = Api()
    done = Completions(api, delay=60)
    for update_id in (1, 2, 3):
        done.add(update_id)
    assert done.finished(2) and not done.finished(4)
    taken = done.take()
    assert taken == [1, 2, 3] and done.take() == []
    assert done.finished(2)  # on its way: still known here
    done.failed([1, 2])
    done.sent([3])
    assert not done.finished(3) and done.pending() == 2
    done.add(4)
    assert done.take() == [1, 2, 4]  # the ones given back first
    done.sent([1, 2, 4])
    await done.aclose()


async def test_batches_are_bounded_and_young_ids_wait_for_a_claim():
    api = Api()
    done = Completions(api, delay=60, batch=2)
    for update_id in range(5):
        done.add(update_id)
    assert done.take(older_than=30) == []  # just finished: a claim will take them
    assert await done.flush()
    assert api.recorded == [[0, 1], [2, 3], [4]]
    await done.aclose()


async def test_the_timer_records_what_no_claim_took_and_retries_when_the_api_is_down():
    api = Api()
    done = Completions(api, delay=0.05, max_backoff=0.1)
    api.down = True
    done.add(7)
    await asyncio.sleep(0.3)
    assert api.recorded == [] and done.finished(7)
    api.down = False
    await eventually(lambda: _value(api.recorded == [[7]]), timeout=5, what="the timer recording 7")
    assert not done.finished(7)
    done.add(8)
    await done.aclose()  # stopping records what is left at once
    assert api.recorded == [[7], [8]]


async def _value(value):
    return value


# --- end to end: the bot's API calls per update ---------------------------------------------------------------------


class RecordingTransport(httpx.AsyncHTTPTransport):
    """The bot's requests to the API, as (method, path, JSON body)."""

    def __init__(self):
        super().__init__()
        self.requests: list[tuple[str, str, dict | None]] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content) if request.content else None
        self.requests.append((request.method, request.url.path, body))
        return await super().handle_async_request(request)

    def update_calls(self) -> list[tuple[str, str, dict | None]]:
        """Without the outbox drainer's polling."""
        return [r for r in self.requests if not r[1].startswith("/api/v1/outbox")]


async def start_recorded_bot(fake_tg, live_api, **overrides) -> tuple[BotRunner, RecordingTransport]:
    settings = bot_settings(fake_tg, live_api.url, outbox_interval=60, **overrides)
    transport = RecordingTransport()
    runner = BotRunner(settings, api=ApiClient(settings.api_url, settings.service_token, transport=transport))
    await runner.start()
    return runner, transport


async def status_of(live_api, update_id: int) -> str | None:
    return await live_api.scalar(select(ProcessedUpdate.status).where(ProcessedUpdate.update_id == update_id)
                                 .execution_options(populate_existing=True))


async def test_an_answered_question_costs_claim_ask_and_save(fake_tg, live_api):
    question = await find_question(live_api, "answered", ANSWERED)
    runner, transport = await start_recorded_bot(fake_tg, live_api, completion_delay=30)
    try:
        me = next(_owners)
        transport.requests.clear()
        first = await fake_tg.owner_says(me, question)
        await fake_tg.wait_for_message(me, "🔗")
        calls = transport.update_calls()
        assert [(m, p) for m, p, _ in calls] == [
            ("POST", f"/api/v1/telegram/updates/{first}/claim"), ("POST", "/api/v1/ask"),
            ("PUT", f"/api/v1/conversations/{me}")]
        assert calls[0][2]["chat_id"] == me and "completed" not in calls[0][2]
        assert await status_of(live_api, first) == "processing"  # finished, recorded with the next claim

        transport.requests.clear()
        second = await fake_tg.owner_says(me, "/help")
        await fake_tg.wait_for_message(me, "/status")
        [(method, path, body)] = transport.update_calls()  # /help changes no state: the claim is all
        assert path == f"/api/v1/telegram/updates/{second}/claim" and body["completed"] == [first]
        assert await status_of(live_api, first) == "done"
        assert await status_of(live_api, second) == "processing"
    finally:
        await runner.stop()
    assert await status_of(live_api, second) == "done"  # stopping records what was left


async def test_an_idle_bot_records_its_last_update_by_the_timer(fake_tg, live_api):
    runner, transport = await start_recorded_bot(fake_tg, live_api, completion_delay=0.2)
    try:
        me = next(_owners)
        update_id = await fake_tg.owner_says(me, "/start")
        await fake_tg.wait_for_message(me, "바로 질문")
        await eventually(lambda: _is_done(live_api, update_id), timeout=10, what="the update recorded done")
        assert ("POST", "/api/v1/telegram/updates/done", {"update_ids": [update_id]}) in transport.requests
        # a redelivery of it is skipped (the API says done)
        await fake_tg.redeliver(update_id)
        await fake_tg.owner_says(me, "/help")
        await fake_tg.wait_for_message(me, "/status")
        assert sum(1 for m in fake_tg.messages_to(me) if "바로 질문" in m.text) == 1
    finally:
        await runner.stop()


async def test_a_redelivery_before_the_update_is_recorded_is_skipped_here(fake_tg, live_api):
    runner, transport = await start_recorded_bot(fake_tg, live_api, completion_delay=30)
    try:
        me = next(_owners)
        update_id = await fake_tg.owner_says(me, "/start")
        await fake_tg.wait_for_message(me, "바로 질문")
        assert await status_of(live_api, update_id) == "processing"  # this process's claim, not recorded yet
        claims_before = sum(1 for _, p, _ in transport.requests if p.endswith("/claim"))
        await fake_tg.redeliver(update_id)
        await fake_tg.owner_says(me, "/help")
        await fake_tg.wait_for_message(me, "/status")
        assert sum(1 for m in fake_tg.messages_to(me) if "바로 질문" in m.text) == 1
        # the redelivered copy was recognised without asking the API: only /help was claimed
        assert sum(1 for _, p, _ in transport.requests if p.endswith("/claim")) == claims_before + 1
    finally:
        await runner.stop()


async def _is_done(live_api, update_id: int) -> bool:
    return await status_of(live_api, update_id) == "done"
