"""Faults, end to end with real servers: the Telegram Bot API going away (stopped, then back on the same port) or
answering too slowly, and the hotline API going away under the bot.

Builds on the e2e fixtures (tests/bot/conftest.py): the real API over HTTP, the fake Bot API, real bot
Applications. Telegram answering 429/502 and the API answering 503 are covered in test_e2e.py.
Waiting is on conditions with bounded timeouts, never on the clock alone.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import AsyncIterator

import pytest
import uvicorn
from sqlalchemy import func, select
from starlette.requests import Request
from starlette.responses import Response

from api.app import create_app
from api.conversations import texts
from api.kb.models import AskLog
from api.outbox.models import OutboxMessage
from api.contract import OutboxRecord
from bot.client import ApiUnavailable
from bot.delivery import ChannelUnreachable, Deliverer, Reporter, SendFailed
from tests.bot.conftest import LiveApi, eventually, find_question
from tests.bot.fake_telegram import FakeTelegram
from tests.conftest import make_settings

pytestmark = pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")

_owners = itertools.count(5_100_000_001)
ANSWERED = ["정부지원 비율은 얼마인가요?", "자부담 비율 얼마예요", "지원금 비율이 총사업비의 얼마예요",
            "어떤 기업이 신청할 수 있나요?"]
# python-telegram-bot's default read timeout for a Bot API call (seconds); "slow" means slower than this.
PTB_READ_TIMEOUT = 5.0


def owner() -> int:
    return next(_owners)


async def start_server(app, port: int = 0, **config) -> tuple[uvicorn.Server, asyncio.Task, int]:
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", **config))
    task = asyncio.create_task(server.serve())
    deadline = time.monotonic() + 60
    while not server.started:
        if task.done():
            task.result()
            raise RuntimeError("the server did not start")
        if time.monotonic() > deadline:
            raise RuntimeError("the server did not start in time")
        await asyncio.sleep(0.02)
    return server, task, server.servers[0].sockets[0].getsockname()[1]


class FaultyTelegram(FakeTelegram):
    """The fake Bot API that can be stopped and started again on the same port (its state kept: what was sent,
    what users typed meanwhile), and whose answers to chosen methods can be held back (``slow``)."""

    def __init__(self) -> None:
        super().__init__()
        self.slow: dict[str, float] = {}  # method -> seconds its responses are held back (after doing the work)
        self._quick = asyncio.Event()

    def make_slow(self, method: str, seconds: float) -> None:
        self.slow[method] = seconds
        self._quick = asyncio.Event()

    def make_quick(self) -> None:
        """Answer promptly again; answers held back now go out (to whoever still waits for them)."""
        self.slow.clear()
        self._quick.set()

    async def start(self, port: int = 0) -> "FaultyTelegram":
        from starlette.applications import Starlette
        from starlette.routing import Route

        app = Starlette(routes=[Route("/bot{token}/{method}", self._dispatch, methods=["GET", "POST"])])
        self.server, self._task, self.port = await start_server(app, port, lifespan="off")
        return self

    async def restart(self) -> None:
        await self.start(self.port)

    async def _dispatch(self, request: Request) -> Response:
        response = await super()._dispatch(request)
        delay = self.slow.get(request.path_params["method"])
        if delay:
            try:  # Telegram did it, but the answer comes too late
                await asyncio.wait_for(self._quick.wait(), timeout=delay)
            except TimeoutError:
                pass
        return response

    def count(self, chat_id: int, contains: str) -> int:
        return sum(1 for m in self.messages_to(chat_id) if contains in m.text)


@pytest.fixture
async def fake_tg() -> AsyncIterator[FaultyTelegram]:
    """Overrides the e2e fixture: ``start_bot`` points the bot at this one."""
    fake = await FaultyTelegram().start()
    try:
        yield fake
    finally:
        fake.make_quick()
        await fake.stop()


async def queue_staff_reply(api: LiveApi, chat_id: int, body: str) -> int:
    """A ticket for ``chat_id`` and an agent's reply to it: one message waiting in the outbox; returns its id."""
    r = await api.http.post("/api/v1/tickets", json={"chat_id": chat_id, "text": f"사후관리 점검 문의 {chat_id}",
                                                     "address": "서울 금천구 가산동"}, headers=api.service_headers)
    assert r.status_code == 201, r.text
    _, agent = await api.agent("seoul")
    r = await api.http.post(f"/api/v1/tickets/{r.json()['id']}/replies", json={"body": body}, headers=agent)
    assert r.status_code == 201, r.text
    return await api.scalar(select(OutboxMessage.id).where(OutboxMessage.chat_id == chat_id,
                                                           OutboxMessage.kind == "staff_reply"))


async def outbox_row(api: LiveApi, message_id: int) -> OutboxMessage:
    return await api.scalar(select(OutboxMessage).where(OutboxMessage.id == message_id)
                            .execution_options(populate_existing=True))


# --- Telegram unreachable -------------------------------------------------------------------------------------------


async def test_telegram_down_then_back_on_the_same_port(fake_tg, start_bot, live_api):
    """While the Bot API is unreachable a staff reply waits in the outbox, spending none of its tries; when it is
    back on the same port the bot resumes polling by itself, answers what owners wrote meanwhile, and the reply
    arrives exactly once."""
    runner = await start_bot()
    me, other = owner(), owner()
    await fake_tg.owner_says(me, "/start")
    await fake_tg.wait_for_message(me, "바로 질문")
    port = fake_tg.port

    await fake_tg.stop()
    body = "점검은 다음 달 첫째 주에 진행합니다."
    message_id = await queue_staff_reply(live_api, me, body)
    await fake_tg.owner_says(other, "/help")  # typed while the bot could not reach Telegram

    async def tried_and_waiting():
        row = await outbox_row(live_api, message_id)
        return row.last_error is not None and row.status == "pending" and row

    row = await eventually(tried_and_waiting, timeout=20, what="a failed send recorded")
    assert row.attempts == 0, "an unreachable Telegram must not use up the message's tries"
    await asyncio.sleep(1.0)  # the outage goes on for a while: the message keeps waiting, still untried
    row = await outbox_row(live_api, message_id)
    assert (row.status, row.attempts) == ("pending", 0)

    await fake_tg.restart()
    assert fake_tg.port == port
    reply = await fake_tg.wait_for_message(me, body, timeout=30)
    await fake_tg.wait_for_message(other, "/status", timeout=30)
    sent = await eventually(lambda: _sent(live_api, message_id), timeout=10, what="the reply recorded as sent")
    assert sent.channel_message_id == reply.message_id
    # the bot keeps going without a restart
    await fake_tg.owner_says(me, "/help")
    await fake_tg.wait_for_message(me, "/status")
    assert not runner.stopped
    await asyncio.sleep(0.5)  # the drainer goes on polling the outbox: nothing is sent again
    assert fake_tg.count(me, body) == 1
    assert fake_tg.count(other, "/status") == 1


async def _sent(api: LiveApi, message_id: int):
    row = await outbox_row(api, message_id)
    return row if row.status == "sent" else None


# --- Telegram slow --------------------------------------------------------------------------------------------------


async def test_slow_telegram_never_gets_the_same_message_twice(fake_tg, start_bot, live_api):
    """Telegram takes the message but answers after the bot stopped waiting: the bot cannot know whether it went
    out, and sending it again would repeat it to the owner (every retry would be delivered too). It is recorded
    as sent, once; sending goes on normally when Telegram is quick again."""
    await start_bot()
    me = owner()
    fake_tg.make_slow("sendMessage", PTB_READ_TIMEOUT + 1.5)
    body = "서류는 이메일로 보내 주시면 됩니다."
    message_id = await queue_staff_reply(live_api, me, body)
    await fake_tg.wait_for_message(me, body, timeout=20)  # Telegram did deliver it
    row = await eventually(lambda: _sent(live_api, message_id), timeout=20, what="the reply recorded as sent")
    assert row.attempts == 0 and row.channel_message_id is None  # the answer (with the id) never came
    fake_tg.make_quick()
    await fake_tg.owner_says(me, "/help")
    await fake_tg.wait_for_message(me, "/status", timeout=20)
    second = await queue_staff_reply(live_api, owner(), "두 번째 답변입니다.")
    sent = await eventually(lambda: _sent(live_api, second), timeout=20, what="the next reply sent")
    assert sent.channel_message_id is not None
    assert fake_tg.count(me, body) == 1


async def test_slow_polling_loses_nothing(fake_tg, start_bot, live_api):
    """getUpdates answers arrive after the bot's read timeout: the bot asks again (the updates stay at
    Telegram until confirmed) and answers each message once when Telegram is quick again."""
    runner = await start_bot()
    read_timeout = runner.settings.poll_timeout + 10  # build_bot's get_updates read timeout
    me = owner()
    await fake_tg.owner_says(me, "/start")
    await fake_tg.wait_for_message(me, "바로 질문")
    fake_tg.make_slow("getUpdates", read_timeout + 1)
    calls_before = sum(1 for method, _ in fake_tg.calls if method == "getUpdates")
    await fake_tg.owner_says(me, "/help")
    # the answer carrying the message comes too late: the bot gives up waiting and asks again
    await fake_tg.wait_for(lambda: sum(1 for method, _ in fake_tg.calls if method == "getUpdates") > calls_before,
                           timeout=read_timeout * 3, what="the bot polling again after a timeout")
    assert fake_tg.count(me, "/status") == 0
    fake_tg.make_quick()
    await fake_tg.wait_for_message(me, "/status", timeout=read_timeout * 2 + 10)
    await fake_tg.owner_says(me, "/start")
    await fake_tg.wait_for(lambda: fake_tg.count(me, "바로 질문") == 2, timeout=20, what="the next message answered")
    await asyncio.sleep(0.5)
    assert fake_tg.count(me, "/status") == 1


# --- the hotline API unreachable ------------------------------------------------------------------------------------


async def test_api_down_then_back_on_the_same_port(fake_tg, start_bot, live_api):
    """A second API server on the same database is stopped (connections refused) and started again on the
    same port: the owner is told politely, once, and the question is answered (and logged) once when the API
    is back; the outbox drainer, which kept failing to reach the API, delivers again."""
    question = await find_question(live_api, "answered", ANSWERED)
    app = create_app(make_settings(live_api.database_url))
    server, task, port = await start_server(app)
    try:
        await start_bot(api_url=f"http://127.0.0.1:{port}", api_retries=1)
        me = owner()
        await fake_tg.owner_says(me, "/start")
        await fake_tg.wait_for_message(me, "바로 질문")

        server.should_exit = True
        await task
        await fake_tg.owner_says(me, question)
        polite = await fake_tg.wait_for_message(me, "잠시 후 다시", timeout=20)
        assert polite.text == texts.UNAVAILABLE
        body = "API가 멈춘 사이에 보낸 답변입니다."
        other = owner()  # another owner: this one's open ticket would hold the question for a decision
        message_id = await queue_staff_reply(live_api, other, body)  # written through the other API server
        await asyncio.sleep(1.5)  # the outage lasts: the bot retries the question and the drain in the meantime

        server, task, again = await start_server(app, port)
        assert again == port
        answer = await fake_tg.wait_for_message(me, "🔗", timeout=30)
        assert answer.button_texts == [texts.BTN_HELPFUL, texts.BTN_NOT_HELPFUL]
        await fake_tg.wait_for_message(other, body, timeout=30)
        await eventually(lambda: _sent(live_api, message_id), timeout=10, what="the reply recorded as sent")
        await asyncio.sleep(0.5)
        assert fake_tg.count(me, "잠시 후 다시") == 1
        assert fake_tg.count(me, "🔗") == 1 and fake_tg.count(other, body) == 1
        logged = await live_api.scalar(select(func.count()).select_from(AskLog).where(AskLog.chat_id == me))
        assert logged == 1
    finally:
        server.should_exit = True
        await task


# --- the deliverer's side of an unreachable Telegram (no servers) ---------------------------------------------------


class RecordingApi:
    """The reports a deliverer makes, in memory."""

    def __init__(self):
        self.reports: list[dict] = []

    async def report(self, **parts):
        self.reports.append({k: list(v) for k, v in parts.items()})
        return {}


def record(i: int, chat: int) -> OutboxRecord:
    return OutboxRecord(id=i, channel="telegram", address=str(chat), chat_id=chat, text=f"답변 {i}",
                        kind="staff_reply", lease_token=f"t{i}")


async def test_unreachable_telegram_gives_the_rest_back_untried():
    """The first send of a chat cannot reach Telegram: it is reported as a wait (``retry_after=0``, not a try),
    the rest given back untried, so the drainer can back off; nothing is reported sent."""
    tried = []

    async def send(message):
        tried.append(message.id)
        raise ChannelUnreachable("connection refused")

    api = RecordingApi()
    reporter = Reporter(api)
    with pytest.raises(ChannelUnreachable):
        await Deliverer(send, reporter, concurrency=1).deliver([record(1, 10), record(2, 10), record(3, 11)])
    assert await reporter.flush(5)
    failed = {r["id"]: r["retry_after"] for report in api.reports for r in report["failed"]}
    released = {r["id"] for report in api.reports for r in report["released"]}
    assert set(failed) == set(tried) and set(failed.values()) == {0}  # what was tried: a wait, not a try
    assert released == {1, 2, 3} - set(tried) and 2 in released
    assert not any(report["sent"] for report in api.reports)


async def test_a_failed_message_holds_back_the_rest_of_its_chat_only():
    """A chat's messages go one after another: when one fails, the ones after it are given back (they must not
    overtake it); other chats are not held back."""
    sent = []

    async def send(message):
        if message.id == 1:
            raise SendFailed("Bad Gateway")
        sent.append(message.id)
        return 100 + message.id

    api = RecordingApi()
    reporter = Reporter(api)
    await Deliverer(send, reporter).deliver([record(1, 10), record(2, 10), record(3, 11)])
    assert await reporter.flush(5)
    parts = {k: [x["id"] for report in api.reports for x in report[k]] for k in ("sent", "failed", "released")}
    assert parts == {"sent": [3], "failed": [1], "released": [2]} and sent == [3]


async def test_a_sent_message_is_not_sent_again_while_its_report_waits():
    """The API does not take the report (it is down): the message is kept as sent here, reported when the API is
    back, and not sent again if it is leased again meanwhile."""

    class DownThenUp(RecordingApi):
        def __init__(self):
            super().__init__()
            self.down = 2

        async def report(self, **parts):
            if self.down:
                self.down -= 1
                raise ApiUnavailable("ConnectError")
            return await super().report(**parts)

    sends = []

    async def send(message):
        sends.append(message.id)
        return 77

    api = DownThenUp()
    reporter = Reporter(api, max_backoff=0.05)
    deliverer = Deliverer(send, reporter)
    await deliverer.deliver([record(5, 10)])
    await deliverer.deliver([record(5, 10)])  # leased again after its lease ran out
    assert await reporter.flush(5)
    assert sends == [5]
    assert [x for report in api.reports for x in report["sent"]] == [{"id": 5, "message_id": 77}]


async def test_nothing_is_sent_on_a_lease_that_may_have_run_out():
    """A message leased too long ago (a slow channel, a slow API answer) is not sent: its lease may have run out and
    another process may be sending it. It is left to its lease, with the rest of its chat; other chats go out."""
    sends = []

    async def send(message):
        sends.append(message.id)
        return 1

    api = RecordingApi()
    reporter = Reporter(api)
    deliverer = Deliverer(send, reporter, lease_seconds=6)
    await deliverer.deliver([record(1, 10), record(2, 10)], leased_at=time.monotonic() - 5)
    assert await reporter.flush(5)
    assert sends == [] and api.reports == []
    await deliverer.deliver([record(3, 11)], leased_at=time.monotonic() - 1)
    assert sends == [3]


async def test_while_reports_fail_sending_waits_for_the_api_within_the_lease():
    """What cannot be reported must not pile up (once its lease runs out another process would send it again):
    while the API does not take reports, the next message waits; it goes out if the API is back within its lease
    and is left to its lease otherwise."""

    class Outage(RecordingApi):
        def __init__(self):
            super().__init__()
            self.down = True

        async def report(self, **parts):
            if self.down:
                raise ApiUnavailable("ConnectError")
            return await super().report(**parts)

    sends = []

    async def send(message):
        sends.append(message.id)
        return 100 + message.id

    api = Outage()
    reporter = Reporter(api)
    deliverer = Deliverer(send, reporter, lease_seconds=1.5)
    await deliverer.deliver([record(1, 10)])

    async def reports_fail() -> bool:
        return not reporter.api_up.is_set()

    await eventually(reports_fail, timeout=5, what="a report refused")
    await deliverer.deliver([record(2, 11), record(3, 11)])  # the API stays down for the whole lease
    assert sends == [1]

    deliverer.lease_seconds = 9
    later = asyncio.create_task(deliverer.deliver([record(4, 12)], leased_at=time.monotonic()))
    await asyncio.sleep(0.3)
    assert sends == [1]  # waiting for the API
    api.down = False
    await asyncio.wait_for(later, 5)
    assert await reporter.flush(5)
    assert sends == [1, 4]
    assert sorted(x["id"] for report in api.reports for x in report["sent"]) == [1, 4]
