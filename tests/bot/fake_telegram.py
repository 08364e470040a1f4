"""A fake Telegram Bot API server speaking the real HTTP protocol, for end-to-end tests of the bot.

It serves ``/bot<token>/<method>`` on 127.0.0.1 (random port) with Starlette under uvicorn, in the test's event
loop. It keeps what the bot sent (per chat, with message ids and inline keyboards), queues updates the test
injects (owners typing, pressing buttons, staff replying in a group) for ``getUpdates`` (long polling with a
timeout) or pushes them to a webhook, and can be told to fail the next calls of a method (429 with
``retry_after``, 502 Bad Gateway).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

# Update ids are unique across every fake in a test run: the API remembers processed ids in its database.
_UPDATE_IDS = itertools.count(100_000)

BOT_USER = {"id": 7000000001, "is_bot": True, "first_name": "스마트공장 핫라인", "username": "hotline_test_bot",
            "can_join_groups": True, "can_read_all_group_messages": False, "supports_inline_queries": False}


@dataclass
class Sent:
    """A message the bot sent (or edited): what a user would see."""

    chat_id: int
    message_id: int
    text: str
    buttons: list[list[dict]] = field(default_factory=list)
    reply_to_message_id: int | None = None
    edits: int = 0
    caller: str = ""  # which bot process sent it (the base URL it used: ``base_url_for``)
    at: float = 0.0  # when the fake accepted it (time.monotonic())

    @property
    def button_texts(self) -> list[str]:
        return [b["text"] for row in self.buttons for b in row]

    def data_for(self, label_part: str) -> str:
        """The callback data of the button whose text contains ``label_part``."""
        for row in self.buttons:
            for button in row:
                if label_part in button["text"]:
                    return button["callback_data"]
        raise AssertionError(f"no button with {label_part!r} in {self.button_texts} (message: {self.text!r})")


@dataclass
class Failure:
    status: int
    retry_after: int | None
    remaining: int


class FakeTelegram:
    def __init__(self, token: str = "123456:TEST-token"):
        self.token = token
        self.updates: list[dict] = []
        self.history: dict[int, dict] = {}
        self.redeliveries: list[dict] = []
        self.confirmed_offset = 0
        self._update_ids = _UPDATE_IDS
        self._message_ids: dict[int, itertools.count] = defaultdict(lambda: itertools.count(1))
        self._cond = asyncio.Condition()
        self.sent: list[Sent] = []
        self.callback_answers: list[dict] = []
        self.calls: list[tuple[str, dict]] = []
        self.failures: dict[str, list[Failure]] = defaultdict(list)
        self.webhook: dict[str, Any] = {"url": "", "secret_token": None}
        self.chat_actions: list[dict] = []
        self.server: uvicorn.Server | None = None
        self._task: asyncio.Task | None = None
        self.port: int | None = None
        # Telegram ends a waiting getUpdates with 409 when another one arrives (two pollers of one bot).
        self.exclusive_polling = False
        self._polls = 0
        # Hooks for fault tests: awaited with (caller, updates) before a batch is returned, and with (caller,
        # params) before a sendMessage is carried out (returning False drops it, as if it never arrived).
        self.on_updates: Callable[[str, list[dict]], Awaitable[None]] | None = None
        self.send_gate: Callable[[str, dict], Awaitable[bool]] | None = None

    # --- lifecycle ------------------------------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/bot"

    def base_url_for(self, caller: str) -> str:
        """A base URL that names its caller (each bot process its own), so the fake can tell them apart."""
        return f"http://127.0.0.1:{self.port}/{caller}/bot"

    @property
    def base_file_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/file/bot"

    async def start(self) -> "FakeTelegram":
        app = Starlette(routes=[Route("/bot{token}/{method}", self._dispatch, methods=["GET", "POST"]),
                                Route("/{caller}/bot{token}/{method}", self._dispatch, methods=["GET", "POST"])])
        config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="off")
        self.server = uvicorn.Server(config)
        self._task = asyncio.create_task(self.server.serve())
        deadline = time.monotonic() + 10
        while not self.server.started:
            if self._task.done():
                self._task.result()
            if time.monotonic() > deadline:
                raise RuntimeError("the fake Telegram server did not start")
            await asyncio.sleep(0.01)
        self.port = self.server.servers[0].sockets[0].getsockname()[1]
        return self

    async def stop(self) -> None:
        if self.server is not None:
            self.server.should_exit = True
            async with self._cond:
                self._cond.notify_all()
            await self._task

    # --- what the test does ---------------------------------------------------------------------------------------

    def fail_next(self, method: str, *, status: int, times: int = 1, retry_after: int | None = None) -> None:
        """The next ``times`` calls of ``method`` fail with ``status`` (429 carries ``retry_after``)."""
        self.failures[method].append(Failure(status=status, retry_after=retry_after, remaining=times))

    async def push_update(self, payload: dict, *, update_id: int | None = None) -> int:
        update_id = update_id if update_id is not None else next(self._update_ids)
        update = {"update_id": update_id, **payload}
        async with self._cond:
            self.updates.append(update)
            self.history[update_id] = update
            self._cond.notify_all()
        return update_id

    async def redeliver(self, update_id: int) -> None:
        """Deliver an update again although the bot confirmed it (as Telegram may after a crash)."""
        async with self._cond:
            self.redeliveries.append(self.history[update_id])
            self._cond.notify_all()

    @staticmethod
    def user(user_id: int, first_name: str = "대표") -> dict:
        return {"id": user_id, "is_bot": False, "first_name": first_name, "language_code": "ko"}

    def _message(self, chat: dict, from_user: dict, **content) -> dict:
        return {"message_id": next(self._message_ids[chat["id"]]), "date": int(time.time()), "chat": chat,
                "from": from_user, **content}

    @staticmethod
    def private_chat(user_id: int, first_name: str = "대표") -> dict:
        return {"id": user_id, "type": "private", "first_name": first_name}

    @staticmethod
    def group_chat(chat_id: int, title: str = "센터 상담방") -> dict:
        return {"id": chat_id, "type": "supergroup", "title": title}

    async def owner_says(self, user_id: int, text: str, *, update_id: int | None = None) -> int:
        """A company owner types ``text`` in their private chat with the bot; the update's id is returned."""
        content: dict[str, Any] = {"text": text}
        if text.startswith("/"):
            command = text.split()[0]
            content["entities"] = [{"type": "bot_command", "offset": 0, "length": len(command)}]
        message = self._message(self.private_chat(user_id), self.user(user_id), **content)
        return await self.push_update({"message": message}, update_id=update_id)

    async def owner_sends(self, user_id: int, **content) -> int:
        """A non-text message (``photo=[...]``, ``sticker={...}``, ``document={...}``)."""
        message = self._message(self.private_chat(user_id), self.user(user_id), **content)
        return await self.push_update({"message": message})

    async def press(self, user_id: int, message: Sent, data: str, *, chat: dict | None = None) -> int:
        """``user_id`` presses the inline button with callback ``data`` under ``message``."""
        chat = chat or self.private_chat(user_id)
        shown = {"message_id": message.message_id, "date": int(time.time()), "chat": chat, "from": BOT_USER,
                 "text": message.text}
        if message.buttons:
            shown["reply_markup"] = {"inline_keyboard": message.buttons}
        query = {"id": str(next(self._update_ids)), "from": self.user(user_id), "chat_instance": str(chat["id"]),
                 "message": shown, "data": data}
        return await self.push_update({"callback_query": query})

    async def group_reply(self, chat_id: int, user_id: int, text: str, reply_to: Sent | None,
                          *, first_name: str = "직원") -> int:
        """Someone in a group writes ``text``, as a reply to the bot's message ``reply_to`` (or not)."""
        content: dict[str, Any] = {"text": text}
        if text.startswith("/"):
            command = text.split()[0]
            content["entities"] = [{"type": "bot_command", "offset": 0, "length": len(command)}]
        if reply_to is not None:
            content["reply_to_message"] = {"message_id": reply_to.message_id, "date": int(time.time()),
                                           "chat": self.group_chat(chat_id), "from": BOT_USER, "text": reply_to.text}
        message = self._message(self.group_chat(chat_id), self.user(user_id, first_name), **content)
        return await self.push_update({"message": message})

    def messages_to(self, chat_id: int) -> list[Sent]:
        return [m for m in self.sent if m.chat_id == chat_id]

    def last_to(self, chat_id: int) -> Sent:
        messages = self.messages_to(chat_id)
        assert messages, f"nothing was sent to {chat_id}"
        return messages[-1]

    async def wait_for(self, predicate, *, timeout: float = 15, what: str = "condition"):
        """Wait until ``predicate()`` is truthy (it is re-checked every 20 ms); returns its value."""
        deadline = time.monotonic() + timeout
        while True:
            value = predicate()
            if value:
                return value
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {what}; sent so far: "
                                     f"{[(m.chat_id, m.text[:60]) for m in self.sent[-8:]]}")
            await asyncio.sleep(0.02)

    async def wait_for_message(self, chat_id: int, contains: str, *, after: int = 0, timeout: float = 15) -> Sent:
        """The first message to ``chat_id`` (from index ``after`` of that chat's messages) containing ``contains``."""

        def find():
            for m in self.messages_to(chat_id)[after:]:
                if contains in m.text:
                    return m
            return None

        return await self.wait_for(find, timeout=timeout, what=f"a message to {chat_id} containing {contains!r}")

    async def deliver_to_webhook(self, update: dict, *, secret: str | None) -> httpx.Response:
        headers = {"X-Telegram-Bot-Api-Secret-Token": secret} if secret is not None else {}
        async with httpx.AsyncClient() as client:
            return await client.post(self.webhook["url"], json=update, headers=headers, timeout=10)

    # --- the Bot API ----------------------------------------------------------------------------------------------

    async def _params(self, request: Request) -> dict:
        params: dict[str, Any] = dict(request.query_params)
        if request.method == "POST":
            content_type = request.headers.get("content-type", "")
            if content_type.startswith("application/json"):
                body = await request.body()
                params.update(json.loads(body) if body else {})
            else:
                form = await request.form()
                params.update({k: v for k, v in form.items() if isinstance(v, str)})
        for key in ("reply_markup", "allowed_updates", "reply_parameters", "link_preview_options"):
            if isinstance(params.get(key), str):
                params[key] = json.loads(params[key])
        return params

    async def _dispatch(self, request: Request) -> Response:
        token, method = request.path_params["token"], request.path_params["method"]
        if token != self.token:
            return JSONResponse({"ok": False, "error_code": 401, "description": "Unauthorized"}, status_code=401)
        try:
            params = await self._params(request)
        except ClientDisconnect:  # the caller died mid-request (fault tests kill bots)
            return Response(status_code=499)
        params["_caller"] = request.path_params.get("caller") or ""
        self.calls.append((method, params))
        failure = self._take_failure(method)
        if failure is not None:
            if failure.status == 429:
                return JSONResponse({"ok": False, "error_code": 429,
                                     "description": f"Too Many Requests: retry after {failure.retry_after}",
                                     "parameters": {"retry_after": failure.retry_after}}, status_code=429)
            if failure.status == 502:
                return Response("<html><body><h1>502 Bad Gateway</h1></body></html>", status_code=502,
                                media_type="text/html")
            return JSONResponse({"ok": False, "error_code": failure.status,
                                 "description": f"Error {failure.status}"}, status_code=failure.status)
        handler = getattr(self, f"_m_{method}", None)
        if handler is None:
            return JSONResponse({"ok": False, "error_code": 404, "description": "Not Found: method not found"},
                                status_code=404)
        result = await handler(params)
        if isinstance(result, Response):
            return result
        return JSONResponse({"ok": True, "result": result})

    def _take_failure(self, method: str) -> Failure | None:
        queue = self.failures.get(method)
        if not queue:
            return None
        failure = queue[0]
        failure.remaining -= 1
        if failure.remaining <= 0:
            queue.pop(0)
        return failure

    @staticmethod
    def _error(status: int, description: str) -> Response:
        return JSONResponse({"ok": False, "error_code": status, "description": description}, status_code=status)

    async def _m_getMe(self, params: dict) -> dict:
        return BOT_USER

    async def _m_getUpdates(self, params: dict) -> Any:
        if self.webhook["url"]:
            return self._error(409, "Conflict: can't use getUpdates method while webhook is active")
        offset = int(params.get("offset") or 0)
        timeout = float(params.get("timeout") or 0)
        limit = int(params.get("limit") or 100)
        deadline = time.monotonic() + timeout
        async with self._cond:
            self._polls += 1
            mine = self._polls
            self._cond.notify_all()  # a waiting poll learns it has been superseded
            if offset:
                self.confirmed_offset = max(self.confirmed_offset, offset)
                self.updates = [u for u in self.updates if u["update_id"] >= offset]
            while True:
                if self.exclusive_polling and self._polls != mine:
                    return self._error(409, "Conflict: terminated by other getUpdates request; make sure that "
                                            "only one bot instance is running")
                if self.redeliveries:
                    again, self.redeliveries = self.redeliveries, []
                    pending = again
                    break
                pending = [u for u in self.updates if u["update_id"] >= offset][:limit]
                remaining = deadline - time.monotonic()
                if pending or remaining <= 0 or (self.server and self.server.should_exit):
                    break
                try:
                    await asyncio.wait_for(self._cond.wait(), timeout=remaining)
                except TimeoutError:
                    pass
        if pending and self.on_updates is not None:
            await self.on_updates(params.get("_caller", ""), pending)
        return pending

    def _record(self, chat_id: int, text: str, markup: dict | None, reply_to: int | None, caller: str = "") -> Sent:
        buttons = (markup or {}).get("inline_keyboard") or []
        sent = Sent(chat_id=chat_id, message_id=next(self._message_ids[chat_id]), text=text, buttons=buttons,
                    reply_to_message_id=reply_to, caller=caller, at=time.monotonic())
        self.sent.append(sent)
        return sent

    def _chat(self, chat_id: int) -> dict:
        return self.private_chat(chat_id) if chat_id > 0 else self.group_chat(chat_id)

    async def _m_sendMessage(self, params: dict) -> Any:
        if self.send_gate is not None and not await self.send_gate(params.get("_caller", ""), params):
            return self._error(502, "Bad Gateway")
        text = params.get("text") or ""
        if not text.strip():
            return self._error(400, "Bad Request: message text is empty")
        if len(text) > 4096:
            return self._error(400, "Bad Request: message is too long")
        chat_id = int(params["chat_id"])
        reply_to = (params.get("reply_parameters") or {}).get("message_id") or params.get("reply_to_message_id")
        sent = self._record(chat_id, text, params.get("reply_markup"), int(reply_to) if reply_to else None,
                            params.get("_caller", ""))
        result = {"message_id": sent.message_id, "date": int(time.time()), "chat": self._chat(chat_id),
                  "from": BOT_USER, "text": text}
        if params.get("reply_markup"):
            result["reply_markup"] = params["reply_markup"]
        return result

    def _find(self, chat_id: int, message_id: int) -> Sent | None:
        for m in self.sent:
            if m.chat_id == chat_id and m.message_id == message_id:
                return m
        return None

    async def _m_editMessageText(self, params: dict) -> Any:
        message = self._find(int(params["chat_id"]), int(params["message_id"]))
        if message is None:
            return self._error(400, "Bad Request: message to edit not found")
        message.text = params["text"]
        message.buttons = (params.get("reply_markup") or {}).get("inline_keyboard") or []
        message.edits += 1
        return {"message_id": message.message_id, "date": int(time.time()), "chat": self._chat(message.chat_id),
                "from": BOT_USER, "text": message.text}

    async def _m_editMessageReplyMarkup(self, params: dict) -> Any:
        message = self._find(int(params["chat_id"]), int(params["message_id"]))
        if message is None:
            return self._error(400, "Bad Request: message to edit not found")
        message.buttons = (params.get("reply_markup") or {}).get("inline_keyboard") or []
        message.edits += 1
        return {"message_id": message.message_id, "date": int(time.time()), "chat": self._chat(message.chat_id),
                "from": BOT_USER, "text": message.text}

    async def _m_answerCallbackQuery(self, params: dict) -> bool:
        self.callback_answers.append(params)
        return True

    async def _m_sendChatAction(self, params: dict) -> bool:
        self.chat_actions.append(params)
        return True

    async def _m_setWebhook(self, params: dict) -> bool:
        self.webhook = {"url": params.get("url") or "", "secret_token": params.get("secret_token")}
        return True

    async def _m_deleteWebhook(self, params: dict) -> bool:
        self.webhook = {"url": "", "secret_token": None}
        return True

    async def _m_getWebhookInfo(self, params: dict) -> dict:
        return {"url": self.webhook["url"], "has_custom_certificate": False,
                "pending_update_count": len(self.updates)}

    async def _m_setMyCommands(self, params: dict) -> bool:
        return True

    async def _m_close(self, params: dict) -> bool:
        return True
