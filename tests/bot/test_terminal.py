"""``hotline chat``: the same conversation in a terminal, against the real API, with staff replies via the outbox."""

from __future__ import annotations

import asyncio
import itertools
import time

from sqlalchemy import select

from api.conversations import texts
from api.outbox.models import OutboxMessage
from api.tickets.models import Ticket
from bot.client import ApiClient
from bot.terminal import LOCAL_CHAT_MIN, TerminalChat, default_chat_id
from tests.bot.conftest import eventually, find_question
from tests.bot.test_e2e import ANSWERED, ESCALATE
from tests.conftest import SERVICE_TOKEN

_chats = itertools.count(LOCAL_CHAT_MIN + 1000)


class Screen:
    """Scripted input lines and everything printed."""

    def __init__(self):
        self.lines: asyncio.Queue[str | None] = asyncio.Queue()
        self.out: list[str] = []

    async def read_line(self) -> str | None:
        return await self.lines.get()

    def write(self, text: str) -> None:
        self.out.append(text)

    def text(self) -> str:
        return "\n".join(self.out)

    async def type(self, line: str) -> None:
        await self.lines.put(line)

    async def wait_for(self, fragment: str, *, after: int = 0, timeout: float = 15) -> int:
        """Wait until ``fragment`` is printed (in output from index ``after``); returns the output length then."""
        deadline = time.monotonic() + timeout
        while True:
            if any(fragment in chunk for chunk in self.out[after:]):
                return len(self.out)
            if time.monotonic() > deadline:
                raise AssertionError(f"{fragment!r} never printed; output: {self.out[-5:]}")
            await asyncio.sleep(0.02)


async def test_terminal_chat_answers_escalates_and_shows_staff_replies(live_api):
    answered = await find_question(live_api, "answered", ANSWERED)
    escalate = await find_question(live_api, "escalate", ESCALATE, after=answered)
    screen = Screen()
    chat_id = next(_chats)
    api = ApiClient(live_api.url, SERVICE_TOKEN)
    chat = TerminalChat(api, chat_id, read_line=screen.read_line, write=screen.write, outbox_interval=0.05)
    task = asyncio.create_task(chat.run())
    try:
        n = await screen.wait_for("바로 질문")
        await screen.type(answered)
        n = await screen.wait_for("[1] 👍 도움이 됐어요   [2] 👎 해결 안 됨", after=n)
        await screen.type("1")  # the numbered button
        n = await screen.wait_for(texts.FEEDBACK_THANKS, after=n)

        await screen.type(escalate)
        n = await screen.wait_for("공장이 있는 지역", after=n)
        await screen.type("경기 화성시")
        n = await screen.wait_for("회사 이름", after=n)
        await screen.type("1")  # 건너뛰기
        n = await screen.wait_for("사업자등록번호도", after=n)
        await screen.type("1")
        n = await screen.wait_for("접수할까요", after=n)
        await screen.type("네")  # or the button
        n = await screen.wait_for("접수번호", after=n)
        ticket = await live_api.scalar(select(Ticket).where(Ticket.chat_id == chat_id))
        assert ticket is not None and ticket.text == escalate

        _, agent = await live_api.agent("gyeonggi")
        r = await live_api.http.post(f"/api/v1/tickets/{ticket.id}/replies", json={"body": "터미널로 답변드립니다."},
                                     headers=agent)
        assert r.status_code == 201
        n = await screen.wait_for("[상담원]", after=n)
        assert "터미널로 답변드립니다." in screen.text()
    finally:
        await screen.lines.put(None)
        await asyncio.wait_for(task, timeout=10)
        await api.aclose()
    # the terminal reported the staff reply delivered, like the Telegram drainer does
    await eventually(lambda: live_api.scalar(select(OutboxMessage.id).where(OutboxMessage.chat_id == chat_id,
                                                                            OutboxMessage.status == "sent")))


def test_local_chat_ids_are_outside_telegram_ids():
    assert default_chat_id() >= LOCAL_CHAT_MIN
    assert default_chat_id() == default_chat_id()
