"""Running the Telegram bot: long polling (default) or a webhook, plus the outbox drain, in one process.

``build_application(settings)`` is the factory (tests point it at a fake Bot API with ``base_url``);
``BotRunner`` starts and stops everything; ``run_bot`` is ``hotline bot [--webhook URL]``.
"""

from __future__ import annotations

import asyncio
import hmac
import inspect
import json
import logging
import signal
import sys
from urllib.parse import urlsplit

from telegram import BotCommand, Update
from telegram.error import TelegramError
from telegram.ext import Application, ApplicationBuilder, BaseUpdateProcessor

from bot.client import ApiClient
from bot.config import BotSettings
from bot.handlers import Hotline, register
from bot.outbox import OutboxDrainer
from bot.telegram_io import outbox_sender

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
MAX_WEBHOOK_BODY = 1024 * 1024
COMMANDS = [BotCommand("start", "처음 안내"), BotCommand("status", "내 문의 처리 상황"),
            BotCommand("cancel", "진행 중인 접수 그만두기"), BotCommand("help", "이용 방법")]


class PerChatUpdateProcessor(BaseUpdateProcessor):
    """Updates of different chats are handled at the same time (up to ``max_concurrent_updates``); the updates of
    one chat one after another, in the order they came (a conversation is a sequence, and its replies must not
    overtake each other). A chat waits for its turn before it takes a slot, so one chat's backlog never holds the
    slots other chats need."""

    def __init__(self, max_concurrent_updates: int):
        super().__init__(max_concurrent_updates)
        self._chats: dict[int, tuple[asyncio.Lock, list[int]]] = {}  # chat -> (its turn, [updates waiting])

    async def process_update(self, update: object, coroutine) -> None:
        chat = update.effective_chat if isinstance(update, Update) else None
        if chat is None:
            await super().process_update(update, coroutine)
            return
        lock, waiting = self._chats.setdefault(chat.id, (asyncio.Lock(), [0]))
        waiting[0] += 1
        try:
            async with lock:  # FIFO: updates keep their order
                await super().process_update(update, coroutine)
        finally:
            waiting[0] -= 1
            if waiting[0] == 0:
                self._chats.pop(chat.id, None)
            if inspect.iscoroutine(coroutine) and inspect.getcoroutinestate(coroutine) == inspect.CORO_CREATED:
                coroutine.close()  # cancelled while waiting (shutting down): never started

    async def do_process_update(self, update: object, coroutine) -> None:
        await coroutine

    async def initialize(self) -> None:
        pass

    async def shutdown(self) -> None:
        pass


def build_application(settings: BotSettings, *, api: ApiClient | None = None) -> Application:
    """The python-telegram-bot Application with the hotline's handlers, talking to ``settings.telegram_base_url``."""
    if not settings.telegram_token:
        raise ValueError("HOTLINE_TELEGRAM_TOKEN is not set")
    application = (
        ApplicationBuilder()
        .token(settings.telegram_token)
        .base_url(settings.telegram_base_url)
        .base_file_url(settings.file_base_url())
        .get_updates_read_timeout(settings.poll_timeout + 10)
        .concurrent_updates(PerChatUpdateProcessor(settings.concurrent_updates))
        .build()
    )
    application.bot_data["hotline"] = Hotline.create(settings, api)
    register(application)
    return application


class BotRunner:
    """One bot process: the Application (polling or webhook) and the outbox drainer."""

    def __init__(self, settings: BotSettings, *, api: ApiClient | None = None):
        self.settings = settings
        self.application = build_application(settings, api=api)
        self.hotline: Hotline = self.application.bot_data["hotline"]
        self._stop_drain = asyncio.Event()
        self._drain_task: asyncio.Task | None = None
        self._webhook_server = None
        self._webhook_task: asyncio.Task | None = None

    async def start(self, *, webhook_url: str | None = None, listen: str = "127.0.0.1", port: int = 8443) -> None:
        app = self.application
        await app.initialize()
        try:
            await app.bot.set_my_commands(COMMANDS)
        except TelegramError as exc:
            log.warning("could not set the command menu: %s", exc)
        if webhook_url:
            await self._start_webhook(webhook_url, listen, port)
        else:
            await app.updater.start_polling(timeout=self.settings.poll_timeout, allowed_updates=Update.ALL_TYPES,
                                            drop_pending_updates=False)
        await app.start()
        drainer = OutboxDrainer(self.hotline.api, outbox_sender(app.bot), batch=self.settings.outbox_batch,
                                lease_seconds=self.settings.outbox_lease_seconds,
                                interval=self.settings.outbox_interval)
        self._drain_task = asyncio.get_running_loop().create_task(drainer.run(self._stop_drain))

    async def stop(self) -> None:
        app = self.application
        self._stop_drain.set()
        if self._drain_task is not None:
            await self._drain_task
        if self._webhook_server is not None:
            self._webhook_server.should_exit = True
            await self._webhook_task
        if app.updater is not None and app.updater.running:
            await app.updater.stop()
        if app.running:
            await app.stop()
        for task in list(self.hotline.tasks):
            task.cancel()
        await app.shutdown()
        await self.hotline.completions.aclose()  # what was processed is recorded before the process goes
        await self.hotline.api.aclose()

    # --- webhook ------------------------------------------------------------------------------------------------

    async def _start_webhook(self, webhook_url: str, listen: str, port: int) -> None:
        import uvicorn

        path = urlsplit(webhook_url).path or "/"
        secret = self.settings.secret_token()
        asgi = webhook_app(self.application, path=path, secret=secret)
        self._webhook_server = uvicorn.Server(uvicorn.Config(asgi, host=listen, port=port, log_level="warning",
                                                             lifespan="off"))
        self._webhook_task = asyncio.get_running_loop().create_task(self._webhook_server.serve())
        while not self._webhook_server.started:
            if self._webhook_task.done():
                self._webhook_task.result()
                raise RuntimeError(f"the webhook server could not start on {listen}:{port}")
            await asyncio.sleep(0.02)
        await self.application.bot.set_webhook(url=webhook_url, secret_token=secret,
                                               allowed_updates=Update.ALL_TYPES, drop_pending_updates=False)

    @property
    def webhook_port(self) -> int | None:
        if self._webhook_server is None or not self._webhook_server.servers:
            return None
        return self._webhook_server.servers[0].sockets[0].getsockname()[1]


def webhook_app(application: Application, *, path: str, secret: str):
    """A tiny ASGI app: POST ``path`` with the right secret header → the update is queued; wrong/missing → 403."""
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse, Response
    from starlette.routing import Route

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
            data = json.loads(body)
            update = Update.de_json(data, application.bot)
        except (ValueError, TypeError, KeyError):
            return JSONResponse({"ok": False, "error": "bad update"}, status_code=400)
        if update is None:
            return JSONResponse({"ok": False, "error": "bad update"}, status_code=400)
        await application.update_queue.put(update)
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
            try:
                loop.add_signal_handler(sig, stop.set)
            except (NotImplementedError, RuntimeError):
                pass
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
