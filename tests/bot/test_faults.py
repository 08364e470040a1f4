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
from api.kb.models import AskLog
from api.outbox.models import OutboxMessage
from bot import texts
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
    assert sent.telegram_message_id == reply.message_id
    # the bot keeps going without a restart
    await fake_tg.owner_says(me, "/help")
    await fake_tg.wait_for_message(me, "/status")
    assert runner.application.updater.running
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
    assert row.attempts == 0 and row.telegram_message_id is None  # the answer (with the id) never came
    fake_tg.make_quick()
    await fake_tg.owner_says(me, "/help")
    await fake_tg.wait_for_message(me, "/status", timeout=20)
    second = await queue_staff_reply(live_api, owner(), "두 번째 답변입니다.")
    sent = await eventually(lambda: _sent(live_api, second), timeout=20, what="the next reply sent")
    assert sent.telegram_message_id is not None
    assert fake_tg.count(me, body) == 1


async def test_slow_polling_loses_nothing(fake_tg, start_bot, live_api):
    """getUpdates answers arrive after the bot's read timeout: the bot asks again (the updates stay at
    Telegram until confirmed) and answers each message once when Telegram is quick again."""
    runner = await start_bot()
    read_timeout = runner.settings.poll_timeout + 10  # build_application's get_updates read timeout
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
        await start_bot(api_url=f"http://127.0.0.1:{port}", api_retries=1, deferred_retry_delays=(0.3, 0.5, 1.0, 2.0))
        me = owner()
        await fake_tg.owner_says(me, "/start")
        await fake_tg.wait_for_message(me, "바로 질문")

        server.should_exit = True
        await task
        await fake_tg.owner_says(me, question)
        polite = await fake_tg.wait_for_message(me, "잠시 후 다시", timeout=20)
        assert polite.text == texts.UNAVAILABLE
        body = "API가 멈춘 사이에 보낸 답변입니다."
        other = owner()  # another owner: a ticket of this one would take the question as a follow-up
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


# --- the drainer's side of an unreachable Telegram (no servers) -----------------------------------------------------


async def test_unreachable_telegram_gives_the_batch_back_untried():
    """The first send of a batch cannot reach Telegram: it is reported as a wait (``retry_after=0``, not a try),
    the rest of the batch is released untouched, and the drain stops so the drainer can back off."""
    from bot.outbox import OutboxDrainer, TelegramUnreachable

    class Api:
        def __init__(self):
            self.failed, self.released, self.sent = [], [], []

        async def lease_outbox(self, *, limit, lease_seconds, chat_id=None):
            return [{"id": i, "chat_id": 10 + i, "text": "답변", "buttons": None, "kind": "staff_reply",
                     "ticket_id": None, "attempts": 0, "lease_token": f"t{i}"} for i in (1, 2, 3)]

        async def outbox_failed(self, message_id, lease_token, error, *, retry_after=None, permanent=False):
            self.failed.append((message_id, lease_token, retry_after, permanent))

        async def outbox_release(self, message_id, lease_token, delay_seconds=0):
            self.released.append((message_id, lease_token))

        async def outbox_sent(self, message_id, telegram_message_id):
            self.sent.append(message_id)

    tried = []

    async def send(message):
        tried.append(message.id)
        raise TelegramUnreachable("connection refused")

    api = Api()
    with pytest.raises(TelegramUnreachable):
        await OutboxDrainer(api, send).drain_once()
    assert tried == [1]
    assert api.failed == [(1, "t1", 0, False)]
    assert api.released == [(2, "t2"), (3, "t3")]
    assert api.sent == []


# --- many chats at once (what lets the bot keep up under load) -------------------------------------------------------


async def test_updates_of_one_chat_in_order_other_chats_meanwhile():
    """The bot handles different chats at the same time but one chat's updates strictly in order: a slow turn
    (say, the API answering late) holds back only its own chat."""
    from datetime import datetime, timezone

    from telegram import Chat, Message, Update, User

    from bot.main import PerChatUpdateProcessor

    def update(update_id: int, chat_id: int) -> Update:
        return Update(update_id, message=Message(update_id, datetime.now(timezone.utc), Chat(chat_id, "private"),
                                                 from_user=User(chat_id, "대표", False), text="질문"))

    log: list[tuple[str, str]] = []
    slow = asyncio.Event()

    async def turn(name: str, wait: asyncio.Event | None = None) -> None:
        log.append(("start", name))
        if wait is not None:
            await wait.wait()
        log.append(("end", name))

    processor = PerChatUpdateProcessor(4)
    tasks = [asyncio.create_task(processor.process_update(update(1, 10), turn("a1", slow))),
             asyncio.create_task(processor.process_update(update(2, 10), turn("a2"))),
             asyncio.create_task(processor.process_update(update(3, 20), turn("b1")))]
    await eventually(lambda: _async_value(("end", "b1") in log), timeout=5, what="the other chat handled")
    assert ("start", "a2") not in log  # chat 10 waits for its slow first turn
    slow.set()
    await asyncio.gather(*tasks)
    assert log.index(("end", "a1")) < log.index(("start", "a2"))
    assert processor._chats == {}  # nothing kept for chats with nothing waiting


async def _async_value(value):
    return value
