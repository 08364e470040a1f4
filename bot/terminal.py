"""``hotline chat``: the owner conversation in a terminal, against the API, without Telegram.

The same ``bot.conversation`` as the Telegram bot; buttons are shown numbered (type the number to press one).
Staff replies reach the terminal through the outbox like they reach Telegram: the terminal drains its own chat
(chat ids from 2**53 up are local chats, which no Telegram bot can reach and the Telegram drainer leaves alone).
"""

from __future__ import annotations

import asyncio
import getpass
import socket
import sys
import zlib
from collections.abc import Awaitable, Callable

from bot import texts
from bot.client import ApiClient, ApiUnavailable
from bot.config import BotSettings
from bot.conversation import Button, Conversation, Incoming, Reply
from bot.outbox import OutboxDrainer, OutgoingMessage

LOCAL_CHAT_MIN = 2**53  # the API's api.outbox.delivery.LOCAL_CHAT_MIN (the bot does not import the API)
RETRY_DELAYS = (2, 5, 10, 20, 30)


def default_chat_id() -> int:
    """One stable local chat per user of this machine."""
    who = f"{getpass.getuser()}@{socket.gethostname()}"
    return LOCAL_CHAT_MIN + zlib.crc32(who.encode())


class TerminalChat:
    def __init__(self, api: ApiClient, chat_id: int, *, read_line: Callable[[], Awaitable[str | None]],
                 write: Callable[[str], None], max_text_chars: int = 1000, outbox_interval: float = 2.0):
        if chat_id < LOCAL_CHAT_MIN:
            raise ValueError(f"a local chat id is at least {LOCAL_CHAT_MIN}")
        self.api = api
        self.chat_id = chat_id
        self.read_line = read_line
        self.write = write
        self.conversation = Conversation(api, max_text_chars=max_text_chars, channel="terminal")
        self.buttons: list[Button] = []
        self.drainer = OutboxDrainer(api, self._show_outbox, chat_id=chat_id, interval=outbox_interval)
        self._queue: asyncio.Queue[Incoming | str | None] = asyncio.Queue()
        self._n = 0

    def show(self, reply: Reply, *, who: str = "봇") -> None:
        self.write(f"\n[{who}] {reply.text}")
        flat = [b for row in reply.buttons for b in row]
        if flat:
            self.buttons = flat
            self.write("   " + "   ".join(f"[{i}] {b.text}" for i, b in enumerate(flat, 1)))

    async def _show_outbox(self, message: OutgoingMessage) -> int | None:
        rows = [[Button(b["text"], b.get("callback_data") or b.get("data") or "") for b in row]
                for row in message.buttons or []]
        self.show(Reply(message.text, rows), who="상담원" if message.kind == "staff_reply" else "안내")
        return None

    def incoming(self, line: str) -> Incoming:
        self._n += 1
        key = f"local-{self.chat_id}-{self._n}"
        stripped = line.strip()
        if stripped.isdigit() and 1 <= int(stripped) <= len(self.buttons) and len(stripped) <= 2:
            button = self.buttons[int(stripped) - 1]
            self.buttons = []
            return Incoming(chat_id=self.chat_id, kind="button", data=button.data, key=key)
        return Incoming.message(self.chat_id, line, key=key)

    async def _work(self) -> None:
        """Handle inputs one by one; while the API is unreachable, keep the input and try again."""
        while True:
            item = await self._queue.get()
            if item is None:
                return
            # A number presses a button of what was shown last: decided when it is handled, not when typed.
            incoming = self.incoming(item) if isinstance(item, str) else item
            attempt = 0
            while True:
                try:
                    replies = await self.conversation.handle(incoming)
                except ApiUnavailable:
                    if attempt == 0:
                        self.show(Reply(texts.UNAVAILABLE))
                    await asyncio.sleep(RETRY_DELAYS[min(attempt, len(RETRY_DELAYS) - 1)])
                    attempt += 1
                    continue
                for reply in replies:
                    self.show(reply)
                break

    async def run(self) -> None:
        stop = asyncio.Event()
        worker = asyncio.create_task(self._work())
        drain = asyncio.create_task(self.drainer.run(stop))
        await self._queue.put(Incoming(chat_id=self.chat_id, kind="command", command="start", key="start"))
        try:
            while True:
                line = await self.read_line()
                if line is None:
                    break
                if not line.strip():
                    continue
                await self._queue.put(line)
        finally:
            await self._queue.put(None)
            await worker
            stop.set()
            await drain


def run_terminal_chat(*, chat_id: int | None = None) -> None:
    """``hotline chat``: talk to the hotline as a company owner in this terminal (Ctrl-D to quit)."""
    settings = BotSettings()
    chat_id = chat_id if chat_id is not None else default_chat_id()
    if chat_id < LOCAL_CHAT_MIN:
        chat_id = LOCAL_CHAT_MIN + chat_id % LOCAL_CHAT_MIN

    async def read_line() -> str | None:
        line = await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
        return line.rstrip("\n") if line else None

    def write(text: str) -> None:
        print(text, flush=True)

    async def main() -> None:
        api = ApiClient.from_settings(settings)
        try:
            print(f"(로컬 대화 {chat_id} · API {settings.api_url} · 버튼은 번호로 · 끝내려면 Ctrl-D)", flush=True)
            await TerminalChat(api, chat_id, read_line=read_line, write=write,
                               max_text_chars=settings.max_text_chars).run()
        finally:
            await api.aclose()

    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        pass
