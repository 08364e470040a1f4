"""``hotline chat``: the owner conversation in a terminal, through the API's local channel (the same engine as
every other channel). Buttons are shown numbered: type the number to press one. Messages that come later (a staff
member's answer) are leased from the outbox for this chat and printed as they arrive.
"""

from __future__ import annotations

import asyncio
import getpass
import itertools
import socket
import sys
import time
import zlib
from collections.abc import Awaitable, Callable

from api.contract import LOCAL, Button, OutboxRecord
from api.conversations import texts
from bot.client import ApiClient, ApiUnavailable
from bot.config import BotSettings
from bot.delivery import Deliverer, Drainer, Reporter

LOCAL_CHAT_MIN = 2**53  # local chats are numbered from here (api.chats.service.LOCAL_CHAT_MIN)
RETRY_DELAYS = (2, 5, 10, 20, 30)
KIND_LABELS = {"staff_reply": "상담원", "rating_request": "안내", "ticket_update": "안내"}


def default_chat_id() -> int:
    """One stable local chat per user of this machine."""
    who = f"{getpass.getuser()}@{socket.gethostname()}"
    return LOCAL_CHAT_MIN + zlib.crc32(who.encode())


class TerminalChat:
    def __init__(self, api: ApiClient, chat_id: int, *, read_line: Callable[[], Awaitable[str | None]],
                 write: Callable[[str], None], outbox_interval: float = 2.0, display_name: str = ""):
        if chat_id < LOCAL_CHAT_MIN:
            raise ValueError(f"a local chat id is at least {LOCAL_CHAT_MIN}")
        self.api = api
        self.address = str(chat_id)
        self.read_line = read_line
        self.write = write
        self.display_name = display_name
        self.buttons: list[Button] = []
        self.reporter = Reporter(api)
        self.drainer = Drainer(api, Deliverer(self._print_later, self.reporter), channel=LOCAL, address=self.address,
                               interval=outbox_interval)
        self._keys = (f"{self.address}-{int(time.time() * 1000)}-{n}" for n in itertools.count(1))

    def show(self, record: OutboxRecord, *, who: str = "봇") -> None:
        self.write(f"\n[{who}] {record.text}")
        flat = [b for row in record.buttons for b in row if b.data is not None]
        if flat:
            self.buttons = flat
            self.write("   " + "   ".join(f"[{i}] {b.text}" for i, b in enumerate(flat, 1)))

    async def _print_later(self, record: OutboxRecord) -> None:
        self.show(record, who=KIND_LABELS.get(record.kind, "안내"))
        return None

    async def send(self, line: str) -> None:
        """One line: a button's number presses it, anything else is a message. Kept and tried again while the API
        is unreachable (the same key, so it is processed once)."""
        stripped = line.strip()
        button = None
        if stripped.isdigit() and len(stripped) <= 2 and 1 <= int(stripped) <= len(self.buttons):
            button = self.buttons[int(stripped) - 1].data
            self.buttons = []
        key = next(self._keys)
        for attempt in itertools.count():
            try:
                replies = await self.api.local_message(address=self.address, key=key, text=None if button else line,
                                                       button=button, display_name=self.display_name)
                break
            except ApiUnavailable:
                if attempt == 0:
                    self.write(f"\n[안내] {texts.UNAVAILABLE}")
                await asyncio.sleep(RETRY_DELAYS[min(attempt, len(RETRY_DELAYS) - 1)])
        for record in replies:
            self.show(record)

    async def run(self) -> None:
        stop = asyncio.Event()
        drain = asyncio.create_task(self.drainer.run(stop))
        try:
            await self.send("/start")
            while True:
                line = await self.read_line()
                if line is None:
                    break
                if line.strip():
                    await self.send(line)
        finally:
            stop.set()
            await drain
            await self.reporter.flush(5)


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
                               display_name=getpass.getuser()).run()
        finally:
            await api.aclose()

    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        pass
