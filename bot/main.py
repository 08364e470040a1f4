"""The Telegram bot: a thin adapter between Telegram and the hotline API. It holds no rules and no state that
matters; any number of bot processes can run beside any number of API processes.

- **Receive.** Long polling (``getUpdates``) or a webhook. Updates go to the API as Telegram sent them, a whole
  ``getUpdates`` batch in one call, which processes each exactly once in one transaction. The batch is confirmed
  to Telegram (the next ``getUpdates`` offset, or the webhook's 200) only after the API has taken it, so an update
  is never lost between Telegram and the API: a bot that dies mid-way leaves it with Telegram, which gives it to
  the next poller. While the API is unreachable the same batch is offered again (owners are told once).
- **Deliver.** The API answers with the actions to take at once (answer a pressed button, clear a used keyboard)
  and with the replies it leased to this process; they are sent in each chat's order and reported. A drain loop
  leases whatever else is due (staff answers, notices, replies that waited for an earlier message of their chat).

python-telegram-bot is the Bot API client here. Its ``Application``/``Updater`` are not used: the Updater confirms
an update to Telegram as soon as it has fetched it, before anything has stored it.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import logging
import signal
import sys
import time
import warnings
from collections.abc import Sequence
from urllib.parse import urlsplit

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from telegram import Bot, BotCommand, Update
from telegram.constants import ChatAction
from telegram.error import Conflict, TelegramError
from telegram.request import HTTPXRequest
from telegram.warnings import PTBUserWarning

from api.contract import TELEGRAM, UpdateResult
from api.conversations import texts
from bot.client import ApiClient, ApiUnavailable
from bot.config import BotSettings
from bot.delivery import ChannelUnreachable, Deliverer, Drainer, Reporter
from bot.telegram_io import perform, sender

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
MAX_WEBHOOK_BODY = 1024 * 1024
COMMANDS = [BotCommand("start", "처음 안내"), BotCommand("status", "내 문의 처리 상황"),
            BotCommand("cancel", "진행 중인 단계 그만두기"), BotCommand("help", "이용 방법")]
SHUTDOWN_GRACE = 10.0


def build_bot(settings: BotSettings) -> Bot:
    """The Bot API client (tests point ``telegram_base_url`` at a fake Bot API server)."""
    if not settings.telegram_token:
        raise ValueError("HOTLINE_TELEGRAM_TOKEN is not set")
    return Bot(settings.telegram_token, base_url=settings.telegram_base_url, base_file_url=settings.file_base_url(),
               request=HTTPXRequest(connection_pool_size=settings.concurrent_sends + 8),
               get_updates_request=HTTPXRequest(read_timeout=settings.poll_timeout + 10))


def private_chats(updates: Sequence[dict], *, typed_only: bool = False) -> list[int]:
    """The owners' private chats a batch comes from (for "typing…" and the unavailable notice)."""
    chats = []
    for update in updates:
        message = update.get("message")
        if isinstance(message, dict):
            chat = message.get("chat") or {}
            if chat.get("type") == "private" and (not typed_only or message.get("text")):
                chats.append(chat.get("id"))
        elif not typed_only and isinstance(update.get("callback_query"), dict):
            chat = ((update["callback_query"].get("message") or {}).get("chat") or {})
            if chat.get("type") == "private":
                chats.append(chat.get("id"))
    return [c for c in dict.fromkeys(chats) if isinstance(c, int)]


class BotRunner:
    """One bot process: receiving (polling or webhook), delivering, draining."""

    def __init__(self, settings: BotSettings, *, api: ApiClient | None = None, bot: Bot | None = None):
        self.settings = settings
        self.api = api or ApiClient.from_settings(settings)
        self.bot = bot or build_bot(settings)
        self.reporter = Reporter(self.api, max_backoff=settings.report_retry_max)
        self.deliverer = Deliverer(sender(self.bot), self.reporter, concurrency=settings.concurrent_sends,
                                   lease_seconds=settings.outbox_lease_seconds)
        self.drainer = Drainer(self.api, self.deliverer, channel=TELEGRAM, batch=settings.outbox_batch,
                               lease_seconds=settings.outbox_lease_seconds, interval=settings.outbox_interval,
                               max_backoff=settings.api_max_backoff)
        self.reporter.on_reported = self.drainer.wake
        self._stop = asyncio.Event()
        self._tasks: set[asyncio.Task] = set()
        self._receiving: asyncio.Task | None = None
        self._draining: asyncio.Task | None = None
        self._told_unavailable: set[int] = set()
        self._webhook_server = None
        self._webhook_task: asyncio.Task | None = None

    # --- lifecycle ---------------------------------------------------------------------------------------------------

    async def start(self, *, webhook_url: str | None = None, listen: str = "127.0.0.1", port: int = 8443) -> None:
        await self.bot.initialize()
        try:
            await self.bot.set_my_commands(COMMANDS)
        except TelegramError as exc:
            log.warning("could not set the command menu: %s", exc)
        if webhook_url:
            await self._start_webhook(webhook_url, listen, port)
        else:
            with contextlib.suppress(TelegramError):  # polling and a webhook exclude each other
                await self.bot.delete_webhook(drop_pending_updates=False)
            self._receiving = asyncio.create_task(self._poll(), name="telegram-poll")
        self._draining = asyncio.create_task(self.drainer.run(self._stop), name="outbox-drain")

    @property
    def stopped(self) -> bool:
        return self._stop.is_set()

    async def stop(self) -> None:
        if self._stop.is_set():
            return
        self._stop.set()
        if self._receiving is not None:
            self._receiving.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._receiving
        if self._webhook_server is not None:
            self._webhook_server.should_exit = True
            await self._webhook_task
        if self._tasks:  # deliveries under way finish (their messages are leased to this process)
            await asyncio.wait(self._tasks, timeout=SHUTDOWN_GRACE)
        if self._draining is not None:
            await self._draining
        if not await self.reporter.flush(SHUTDOWN_GRACE):
            log.warning("stopping with outbox reports not taken by the API: those messages may be sent again")
        await self.bot.shutdown()
        await self.api.aclose()

    def _spawn(self, coroutine) -> None:
        task = asyncio.get_running_loop().create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # --- receiving -----------------------------------------------------------------------------------------------------

    async def _poll(self) -> None:
        offset: int | None = None
        wait = self.settings.api_retry_delay or 0.5
        while not self._stop.is_set():
            try:
                with warnings.catch_warnings():  # PTB prefers get_updates(); the API wants Telegram's own JSON
                    warnings.simplefilter("ignore", PTBUserWarning)
                    updates = await self.bot.do_api_request(
                        "getUpdates", api_kwargs={"offset": offset, "timeout": int(self.settings.poll_timeout),
                                                  "allowed_updates": list(Update.ALL_TYPES)},
                        read_timeout=self.settings.poll_timeout + 10)
                wait = self.settings.api_retry_delay or 0.5
            except Conflict:
                # Another process of this bot is polling (Telegram ends the older poll): stand by for a poll's
                # length, then try again; whichever polls takes over the updates nobody confirmed.
                log.info("another bot process is polling; standing by for %.0f s", self.settings.poll_timeout + 1)
                await asyncio.sleep(self.settings.poll_timeout + 1)
                continue
            except TelegramError as exc:
                log.warning("getUpdates failed (%s); again in %.1f s", exc, wait)
                await asyncio.sleep(wait)
                wait = min(wait * 2, self.settings.api_max_backoff)
                continue
            if not updates:
                continue
            await self.hand_over(updates)
            offset = updates[-1]["update_id"] + 1  # confirmed to Telegram only now: the API has them

    async def hand_over(self, updates: list[dict], *, persist: bool = True) -> UpdateResult | None:
        """Give ``updates`` to the API; act on its answer without waiting for the deliveries. ``persist``: keep
        offering the batch while the API is unreachable (polling); otherwise give up at once (a webhook answers
        Telegram with an error, and Telegram delivers the update again later)."""
        wait = self.settings.api_retry_delay or 0.5
        while True:
            asked = time.monotonic()  # the replies' lease starts after this
            try:
                result = await self._with_typing(updates)
                break
            except ApiUnavailable as exc:
                await self._tell_unavailable(updates)
                if not persist or self._stop.is_set():
                    raise
                log.warning("API unavailable (%s); the batch of %d updates is offered again in %.1f s", exc,
                            len(updates), wait)
                await asyncio.sleep(wait)
                wait = min(wait * 2, self.settings.api_max_backoff)
        self._told_unavailable.clear()
        self._spawn(self._carry_out(result, leased_at=asked))
        return result

    async def _with_typing(self, updates: list[dict]) -> UpdateResult:
        """The API call, with "typing…" in owners' chats when it takes longer than ``typing_delay``."""
        call = asyncio.ensure_future(self.api.telegram_updates(updates,
                                                               lease_seconds=self.settings.outbox_lease_seconds))
        try:
            if self.settings.typing_delay > 0:
                try:
                    return await asyncio.wait_for(asyncio.shield(call), timeout=self.settings.typing_delay)
                except TimeoutError:
                    pass
            for chat in private_chats(updates, typed_only=True):
                with contextlib.suppress(TelegramError):
                    await self.bot.send_chat_action(chat, ChatAction.TYPING)
            return await call
        except asyncio.CancelledError:
            call.cancel()  # stopping: the batch stays with Telegram (not confirmed) and comes again
            raise

    async def _tell_unavailable(self, updates: list[dict]) -> None:
        for chat in private_chats(updates):
            if chat in self._told_unavailable:
                continue
            self._told_unavailable.add(chat)
            with contextlib.suppress(TelegramError):
                await self.bot.send_message(chat, texts.UNAVAILABLE)

    async def _carry_out(self, result: UpdateResult, *, leased_at: float) -> None:
        await asyncio.gather(*(perform(self.bot, action) for action in result.actions))
        try:
            await self.deliverer.deliver(result.messages, leased_at=leased_at)
        except ChannelUnreachable as exc:
            log.warning("Telegram unreachable (%s); the replies wait in the outbox", exc)
        if result.processed:
            self.drainer.wake()  # replies that wait for an earlier message of their chat

    # --- webhook -------------------------------------------------------------------------------------------------------

    async def _start_webhook(self, webhook_url: str, listen: str, port: int) -> None:
        path = urlsplit(webhook_url).path or "/"
        secret = self.settings.secret_token()
        asgi = webhook_app(self, path=path, secret=secret)
        self._webhook_server = uvicorn.Server(uvicorn.Config(asgi, host=listen, port=port, log_level="warning",
                                                             lifespan="off", server_header=False))
        self._webhook_task = asyncio.get_running_loop().create_task(self._webhook_server.serve())
        while not self._webhook_server.started:
            if self._webhook_task.done():
                self._webhook_task.result()
                raise RuntimeError(f"the webhook server could not start on {listen}:{port}")
            await asyncio.sleep(0.02)
        await self.bot.set_webhook(url=webhook_url, secret_token=secret, allowed_updates=list(Update.ALL_TYPES),
                                   drop_pending_updates=False)

    @property
    def webhook_port(self) -> int | None:
        if self._webhook_server is None or not self._webhook_server.servers:
            return None
        return self._webhook_server.servers[0].sockets[0].getsockname()[1]


def webhook_app(runner: BotRunner, *, path: str, secret: str):
    """A tiny ASGI app: POST ``path`` with the right secret header → the update goes to the API, and Telegram gets
    200 only once the API has it (503 otherwise: Telegram delivers it again); a wrong or missing secret → 403."""
    expected = secret.encode()

    async def receive_update(request: Request) -> Response:
        given = request.headers.get(SECRET_HEADER, "").encode()
        if not hmac.compare_digest(given, expected):
            return JSONResponse({"ok": False, "error": "forbidden"}, status_code=403)
        declared = request.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > MAX_WEBHOOK_BODY:
            return JSONResponse({"ok": False, "error": "too large"}, status_code=413)
        body = await request.body()
        if len(body) > MAX_WEBHOOK_BODY:
            return JSONResponse({"ok": False, "error": "too large"}, status_code=413)
        try:
            update = json.loads(body)
        except ValueError:
            return JSONResponse({"ok": False, "error": "bad update"}, status_code=400)
        if not isinstance(update, dict) or not isinstance(update.get("update_id"), int) or update["update_id"] < 0:
            return JSONResponse({"ok": False, "error": "bad update"}, status_code=400)
        try:
            await runner.hand_over([update], persist=False)
        except ApiUnavailable:
            return JSONResponse({"ok": False, "error": "try again"}, status_code=503)
        return Response(status_code=200)

    async def health(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    return Starlette(routes=[Route(path, receive_update, methods=["POST"]), Route("/healthz", health)])


def run_bot(*, webhook_url: str | None = None, listen: str = "127.0.0.1", port: int = 8443) -> None:
    """``hotline bot``: run until SIGINT/SIGTERM."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)
    settings = BotSettings()
    if not settings.telegram_token:
        sys.exit("HOTLINE_TELEGRAM_TOKEN is not set: the bot needs a Bot API token (from @BotFather). "
                 "Try the conversation without Telegram with `hotline chat`.")

    async def main() -> None:
        runner = BotRunner(settings)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(sig, stop.set)
        await runner.start(webhook_url=webhook_url, listen=listen, port=port)
        mode = f"webhook at {webhook_url} (listening on {listen}:{port})" if webhook_url else "long polling"
        log.info("bot running: %s; API %s", mode, settings.api_url)
        try:
            await stop.wait()
        finally:
            await runner.stop()

    with asyncio.Runner(loop_factory=_loop_factory()) as loop_runner:
        loop_runner.run(main())


def _loop_factory():
    """uvloop's event loop when installed (it comes with uvicorn[standard]): the bot spends most of its time in
    HTTP round trips, which it makes cheaper; else asyncio's own."""
    try:
        import uvloop
    except ImportError:
        return None
    return uvloop.new_event_loop
