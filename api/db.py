"""Database plumbing: the declarative base, URL handling, engines and the per-request session.

One engine per process is owned by the application lifespan (``api.app``). Services receive an
``AsyncSession`` and only flush; the request dependency commits or rolls back.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from datetime import datetime, timezone
from weakref import WeakKeyDictionary

from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy import BigInteger, DateTime, Integer, MetaData, TypeDecorator, event
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# SQLite only auto-increments INTEGER PRIMARY KEY; PostgreSQL gets a real BIGINT.
BigIntPK = BigInteger().with_variant(Integer(), "sqlite")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware datetimes stored as UTC; SQLite (which has no time zones) gets them back aware too."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTCDateTime column")
        return value.astimezone(timezone.utc)

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def _with_driver(url: str, *, sqlite_driver: str) -> str:
    """The URL with the driver this project uses: psycopg 3 for PostgreSQL (sync and async alike)."""
    u = make_url(url)
    if u.get_backend_name() == "sqlite":
        u = u.set(drivername=sqlite_driver)
    elif u.get_backend_name() == "postgresql":
        u = u.set(drivername="postgresql+psycopg")
    return u.render_as_string(hide_password=False)


def sync_url(url: str) -> str:
    """The URL for synchronous use (Alembic, CLI helpers)."""
    return _with_driver(url, sqlite_driver="sqlite")


def async_url(url: str) -> str:
    return _with_driver(url, sqlite_driver="sqlite+aiosqlite")


SQLITE_BEGIN_IMMEDIATE = "sqlite_begin_immediate"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def _configure_sqlite(engine: Engine) -> None:
    """Foreign keys on, a busy timeout, WAL, and transactions SQLAlchemy controls (savepoints work)."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record) -> None:
        dbapi_connection.isolation_level = None  # let SQLAlchemy emit BEGIN itself
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn) -> None:
        # A transaction that reads and later writes fails at once ("database is locked") when another writer
        # committed in between; writing requests therefore take the write lock up front and wait their turn.
        immediate = conn.get_execution_options().get(SQLITE_BEGIN_IMMEDIATE)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1


def _unstorable(value: object) -> str | None:
    """Why ``value`` cannot be stored the same way on both databases, or None."""
    if type(value) is str:
        if "\x00" in value:
            return "NUL"
        if not value.isascii():
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:
                return "lone surrogate"
    elif type(value) is int and not INT64_MIN <= value <= INT64_MAX:
        return "integer out of range"
    return None


def check_storable(parameters: object, depth: int = 0) -> None:
    """Raise ``Unprocessable`` (422) when a value in ``parameters`` (a value, or dicts/lists of them) cannot be
    stored the same way on both databases."""
    if isinstance(parameters, dict):
        values = parameters.values()
    elif isinstance(parameters, (list, tuple)) and depth < 2:
        values = parameters
    else:
        values = (parameters,)
    for value in values:
        if depth < 2 and isinstance(value, (dict, list, tuple)):
            check_storable(value, depth + 1)
        elif (why := _unstorable(value)) is not None:
            from api.errors import Unprocessable

            raise Unprocessable("입력에 저장할 수 없는 값이 있습니다. (보이지 않는 제어 문자나 깨진 문자, 너무 큰 숫자) "
                                "그 부분을 지우고 다시 보내 주세요.", code="unstorable_input", extra={"reason": why})


def storable(value: Any) -> Any:
    """``value`` (a string, or dicts and lists of them) without what no database stores the same way: NUL and
    lone surrogates are dropped. For text from outside that must be kept rather than refused (a chat message)."""
    if isinstance(value, str):
        if "\x00" in value or not value.isascii():
            return "".join(ch for ch in value if ch != "\x00" and not 0xD800 <= ord(ch) <= 0xDFFF)
        return value
    if isinstance(value, dict):
        return {storable(k): storable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [storable(v) for v in value]
    return value


def _guard_parameters(conn, cursor, statement, parameters, context, executemany) -> None:
    """Refuse, as a 422 before the database sees them, values PostgreSQL refuses or SQLite cannot bind (NUL in
    text, lone surrogates, integers beyond 64 bits). Endpoints should clean or validate their input; this
    keeps a missed case from becoming a 500 — or from being stored on SQLite and failing later on PostgreSQL."""
    check_storable(parameters)


def dialect_insert(session: AsyncSession | str):
    """The ``insert`` construct of the database in use (a session, or a dialect name), for ``ON CONFLICT``
    clauses (``on_conflict_do_nothing`` / ``on_conflict_do_update``), which SQLite and PostgreSQL spell alike."""
    from sqlalchemy.dialects import postgresql, sqlite

    name = session if isinstance(session, str) else session.get_bind().dialect.name
    return postgresql.insert if name == "postgresql" else sqlite.insert


def make_engine(url: str, **kwargs) -> AsyncEngine:
    target = async_url(url)
    if is_sqlite(url):
        kwargs.setdefault("connect_args", {"timeout": 30})
    else:
        kwargs.setdefault("pool_pre_ping", True)
        # Up to 30 connections per process as before, 20 of them kept: the bot alone sends up to 16 requests at
        # once, and every overflow connection closed and opened again is a PostgreSQL backend forked.
        kwargs.setdefault("pool_size", 20)
        kwargs.setdefault("max_overflow", 10)
    engine = create_async_engine(target, **kwargs)
    event.listen(engine.sync_engine, "before_cursor_execute", _guard_parameters)
    if is_sqlite(url):
        _configure_sqlite(engine.sync_engine)
    return engine


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)


_write_makers: WeakKeyDictionary = WeakKeyDictionary()


def write_sessionmaker(sessionmaker: async_sessionmaker[AsyncSession]) -> async_sessionmaker[AsyncSession]:
    """Sessions for work that writes. On SQLite their transaction starts with ``BEGIN IMMEDIATE`` (it waits for
    the write lock up front) when the session first touches the database, not before: a writing request that
    never needs the database holds no lock. Elsewhere the same sessionmaker."""
    maker = _write_makers.get(sessionmaker)
    if maker is None:
        bind = sessionmaker.kw.get("bind")
        maker = sessionmaker
        if bind is not None and bind.dialect.name == "sqlite":
            options = {k: v for k, v in sessionmaker.kw.items() if k != "bind"}
            maker = async_sessionmaker(bind.execution_options(**{SQLITE_BEGIN_IMMEDIATE: True}), **options)
        _write_makers[sessionmaker] = maker
    return maker


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """One session per request: committed when the handler succeeds, rolled back when it raises.

    Use it through ``SessionDep`` (function scope), so the commit happens before the response is sent: a client
    never sees a success whose commit then failed.
    """
    sessionmaker: async_sessionmaker[AsyncSession] = request.app.state.sessionmaker
    if request.method not in SAFE_METHODS:
        sessionmaker = write_sessionmaker(sessionmaker)
    async with sessionmaker() as session:
        try:
            yield session
        except BaseException:
            await session.rollback()
            raise
        else:
            await session.commit()


SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]


def get_session_opener(request: Request) -> Callable[[], AbstractAsyncContextManager[AsyncSession]]:
    """For a hot endpoint that needs the database only now and then (``/ask`` checks the knowledge base's version
    every few seconds): a way to open a read session when it does, instead of one per request. Tests override it
    (as they override ``get_session``) to read inside their transaction."""
    return request.app.state.sessionmaker


SessionOpenerDep = Annotated[Callable[[], AbstractAsyncContextManager[AsyncSession]], Depends(get_session_opener)]
