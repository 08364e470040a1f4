from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from api.app import create_app
from api.auth.security import create_access_token
from api.config import Settings
from api.conversations.runner import Knowledge
from api.db import get_session, get_session_opener, make_engine
from api.kb.asklog import AskLogWriter
from api.kb.entries import kst_today
from api.staff.models import Staff
from api.staff.service import create_staff
from knowledge.loader import load_entries, load_synonyms
from knowledge.matcher import Matcher
from knowledge.years import History, matchable
from tests import dbutil

SERVICE_TOKEN = "test-service-token-0123456789"
SECRET_KEY = "test-secret-key-0123456789abcdef"
PROGRAMME_YEAR = 2026  # the knowledge base describes this programme year (answers from earlier ones say so)


def make_settings(database_url: str, **overrides) -> Settings:
    values = dict(env="test", database_url=database_url, service_token=SERVICE_TOKEN, secret_key=SECRET_KEY,
                  run_scheduler=False, telegram_token=None, programme_year=PROGRAMME_YEAR)
    values.update(overrides)
    return Settings(**values)


@pytest.fixture(scope="session")
def database_url() -> str:
    """This worker's migrated database; tests using ``db`` roll back everything they do."""
    url = dbutil.create_migrated("main")
    yield url
    dbutil.drop_database(url)


@pytest.fixture(scope="session")
def template_url() -> str:
    url = dbutil.create_migrated("tpl")
    yield url
    dbutil.drop_database(url)
    dbutil.cleanup()


@pytest.fixture
def fresh_database_url(template_url: str) -> str:
    """A database of this test's own, for tests whose data must be committed (several connections/processes)."""
    url = dbutil.copy_database(template_url)
    yield url
    dbutil.drop_database(url)


@pytest.fixture(scope="session")
async def engine(database_url: str):
    engine = make_engine(database_url)
    yield engine
    await engine.dispose()


@pytest.fixture
async def db(engine) -> AsyncIterator[AsyncSession]:
    """A session inside a transaction that is rolled back after the test; commits become savepoints."""
    async with engine.connect() as connection:
        transaction = await connection.begin()
        session = AsyncSession(bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False,
                               autoflush=False)
        try:
            yield session
        finally:
            await session.close()
            await transaction.rollback()


@pytest.fixture
def settings(database_url: str) -> Settings:
    return make_settings(database_url)


@pytest.fixture
def app(settings: Settings, db: AsyncSession, engine):
    app = create_app(settings)
    app.state.engine = engine

    async def session_override() -> AsyncIterator[AsyncSession]:
        try:
            yield db
        except BaseException:
            await db.rollback()
            raise
        else:
            await db.commit()

    app.dependency_overrides[get_session] = session_override
    app.dependency_overrides[get_session_opener] = lambda: committing(db)
    app.state.ask_log_writer = AskLogWriter(committing(db))  # the ask log goes into the test's transaction too
    return app


def committing(session: AsyncSession):
    """A session scope over the test's session: committed (a savepoint) when the block succeeds, rolled back
    when it raises."""

    @asynccontextmanager
    async def scope() -> AsyncIterator[AsyncSession]:
        try:
            yield session
        except BaseException:
            await session.rollback()
            raise
        await session.commit()

    return scope


@pytest.fixture
async def client(app) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as c:
        yield c


@pytest.fixture
def service_headers() -> dict[str, str]:
    return {"Authorization": f"Bearer {SERVICE_TOKEN}"}


def bearer_for(staff: Staff, *, minutes: int = 60) -> dict[str, str]:
    token = create_access_token(staff_id=staff.id, password_changed_at=staff.password_changed_at,
                                secret=SECRET_KEY, minutes=minutes)
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def make_staff(db: AsyncSession):
    """Create a staff member: ``await make_staff("agent", "seoul")``; returns (staff, auth headers)."""
    counter = iter(range(1, 10_000))

    async def factory(role: str = "agent", center: str | None = "seoul", *, password: str = "password-123",
                      username: str | None = None) -> tuple[Staff, dict[str, str]]:
        name = username or f"{role}-{center or 'all'}-{next(counter)}"
        staff = await create_staff(db, username=name, password=password, role=role,
                                   center_code=center if role == "agent" or center else None)
        await db.commit()  # a savepoint: survives a later error response's rollback, undone after the test
        return staff, bearer_for(staff)

    return factory


@pytest.fixture(scope="session")
def real_matcher() -> Matcher:
    """The matcher over the project's own knowledge base, current entries (built once: Kiwi takes seconds)."""
    return Matcher(matchable(load_entries()), load_synonyms())


@pytest.fixture
def knowledge(real_matcher) -> Knowledge:
    return Knowledge(matcher=real_matcher, today=kst_today(), history=History.of(load_entries()),
                     programme_year=PROGRAMME_YEAR)
