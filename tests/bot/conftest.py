"""End-to-end fixtures: the real API (uvicorn, random port) on a real database with the knowledge base, a fake
Telegram Bot API server (real HTTP), and real bot runners pointed at both."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from api.app import create_app
from api.bootstrap import seed_knowledge
from api.centers.models import Center
from api.db import SQLITE_BEGIN_IMMEDIATE, make_engine, make_sessionmaker
from api.staff.models import Staff
from api.staff.service import create_staff
from bot.config import BotSettings
from bot.main import BotRunner
from tests import dbutil
from tests.bot.fake_telegram import FakeTelegram
from tests.conftest import SERVICE_TOKEN, bearer_for, make_settings
from tests.servers import serve

_ids = itertools.count(1)


class _WriteSession:
    def __init__(self, sessionmaker):
        self.sessionmaker = sessionmaker

    async def __aenter__(self) -> AsyncSession:
        self.session = self.sessionmaker()
        if self.session.bind.dialect.name == "sqlite":
            await self.session.connection(execution_options={SQLITE_BEGIN_IMMEDIATE: True})
        return self.session

    async def __aexit__(self, *exc) -> None:
        await self.session.close()


class LiveApi:
    """The API served over HTTP, plus direct database access for test set-up and checks."""

    def __init__(self, database_url: str, url: str):
        self.database_url = database_url
        self.url = url
        self.app = None  # the served application, when the test set it up (``serve_live_api``)
        self.engine = make_engine(database_url)
        self.sessionmaker = make_sessionmaker(self.engine)
        self.http = httpx.AsyncClient(base_url=url, timeout=30)
        self.service_headers = {"Authorization": f"Bearer {SERVICE_TOKEN}"}

    async def close(self) -> None:
        await self.http.aclose()
        await self.engine.dispose()

    def writing(self) -> AsyncSession:
        """A session whose transaction starts as a writer on SQLite (``BEGIN IMMEDIATE``): reading first and then
        writing while the API commits in between fails with "database is locked"."""
        return _WriteSession(self.sessionmaker)

    async def agent(self, center: str, *, telegram_user_id: int | None = None) -> tuple[Staff, dict[str, str]]:
        async with self.writing() as session:
            staff = await create_staff(session, username=f"agent-{center}-{next(_ids)}", password="password-123",
                                       role="agent", center_code=center, display_name=f"{center} 상담원")
            staff.telegram_user_id = telegram_user_id
            await session.commit()
        return staff, bearer_for(staff)

    async def link_group(self, center: str, chat_id: int | None) -> None:
        async with self.writing() as session:
            await session.execute(update(Center).where(Center.code == center).values(telegram_chat_id=chat_id))
            await session.commit()

    async def scalar(self, statement):
        async with self.sessionmaker() as session:
            return await session.scalar(statement)

    async def scalars(self, statement):
        async with self.sessionmaker() as session:
            return list((await session.scalars(statement)).all())

    async def ask(self, text: str, *, context_entry_id: str | None = None) -> dict:
        body = {"text": text} | ({"context_entry_id": context_entry_id} if context_entry_id else {})
        r = await self.http.post("/api/v1/ask", json=body, headers=self.service_headers)
        r.raise_for_status()
        return r.json()


@contextlib.asynccontextmanager
async def serve_live_api(template_url: str, **settings: Any) -> AsyncIterator[LiveApi]:
    """An API server (real HTTP) over a copy of the template database with the knowledge base loaded; ``settings``
    override the test settings. The app is ``LiveApi.app``."""
    url = dbutil.copy_database(template_url)
    engine = make_engine(url)
    async with make_sessionmaker(engine)() as session:
        report = await seed_knowledge(session)
        await session.commit()
    await engine.dispose()
    assert not any("NOT imported" in line for line in report), report
    app = create_app(make_settings(url, **settings))
    server, task, port = await serve(app)
    api = LiveApi(url, f"http://127.0.0.1:{port}")
    api.app = app
    try:
        yield api
    finally:
        await api.close()
        server.should_exit = True
        await task
        dbutil.drop_database(url)


@pytest.fixture(scope="module")
async def live_api(template_url) -> AsyncIterator[LiveApi]:
    """One API server and database for a test module (tests use their own chat ids)."""
    async with serve_live_api(template_url, max_body_bytes=64 * 1024) as api:
        yield api


@pytest.fixture
async def fake_tg() -> AsyncIterator[FakeTelegram]:
    fake = await FakeTelegram().start()
    try:
        yield fake
    finally:
        await fake.stop()


def bot_settings(fake: FakeTelegram, api_url: str, **overrides) -> BotSettings:
    values = dict(telegram_token=fake.token, telegram_base_url=fake.base_url, api_url=api_url,
                  service_token=SERVICE_TOKEN, poll_timeout=1, outbox_interval=0.05, api_retry_delay=0.05,
                  api_timeout=15, api_max_backoff=1.0, webhook_secret=None)
    values.update(overrides)
    return BotSettings(_env_file=None, **values)


@pytest.fixture
async def start_bot(fake_tg, live_api):
    """``await start_bot(**settings)`` → a running BotRunner (stopped at the end of the test)."""
    runners: list[BotRunner] = []

    async def factory(*, api_url: str | None = None, webhook_url: str | None = None, port: int = 0,
                      **overrides) -> BotRunner:
        runner = BotRunner(bot_settings(fake_tg, api_url or live_api.url, **overrides))
        await runner.start(webhook_url=webhook_url, listen="127.0.0.1", port=port)
        runners.append(runner)
        return runner

    yield factory
    for runner in runners:
        if not runner.stopped:
            await runner.stop()


async def find_question(api: LiveApi, outcome: str, candidates: list[str], *, after: str | None = None,
                        after_entry: str | None = None) -> str:
    """The first of ``candidates`` the matcher treats as ``outcome`` (a real question, not small talk); ``after``
    (or ``after_entry``): asked right after that question (that entry) was answered in the same chat, where a short
    line is read as its follow-up."""
    context = (await api.ask(after))["answer"]["entry_id"] if after else after_entry
    seen = []
    for text in candidates:
        result = await api.ask(text, context_entry_id=context)
        seen.append((text, result["outcome"], result["kind"]))
        if result["outcome"] == outcome and result["kind"] == "question":
            return text
    raise AssertionError(f"none of the questions gives {outcome}: {seen}")


async def eventually(check, *, timeout: float = 10, what: str = "condition"):
    """Await ``check()`` (a coroutine function) until it returns something truthy; bounded by ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        value = await check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)
