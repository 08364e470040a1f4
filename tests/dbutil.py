"""Test databases: one migrated database per xdist worker (tests roll back), and fresh copies on demand.

``HOTLINE_TEST_DATABASE_URL`` selects PostgreSQL (e.g. ``postgresql+psycopg://postgres@127.0.0.1:5432/hotline_test``);
without it every worker uses SQLite files in a temporary folder.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import shutil
import tempfile
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import make_url

from api import migrate
from api.bootstrap import seed_centres_only
from api.db import make_engine, make_sessionmaker, sync_url

_counter = itertools.count(1)


def worker_id() -> str:
    return os.environ.get("PYTEST_XDIST_WORKER", "main")


def base_url() -> str | None:
    return os.environ.get("HOTLINE_TEST_DATABASE_URL") or None


def is_postgres() -> bool:
    url = base_url()
    return url is not None and make_url(url).get_backend_name() == "postgresql"


_tmpdir: Path | None = None


def _tmp() -> Path:
    global _tmpdir
    if _tmpdir is None:
        _tmpdir = Path(tempfile.mkdtemp(prefix=f"hotline-test-{worker_id()}-"))
    return _tmpdir


def _pg_admin() -> sa.Engine:
    url = make_url(sync_url(base_url())).set(database="postgres")
    return sa.create_engine(url, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)


def _pg_url(name: str) -> str:
    return make_url(base_url()).set(database=name).render_as_string(hide_password=False)


def _pg_recreate(name: str, template: str | None = None) -> None:
    admin = _pg_admin()
    with admin.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else ""))
    admin.dispose()


def _pg_drop(name: str) -> None:
    admin = _pg_admin()
    with admin.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.dispose()


def _seed(url: str) -> None:
    async def run() -> None:
        engine = make_engine(url)
        async with make_sessionmaker(engine)() as session:
            await seed_centres_only(session)
            await session.commit()
        await engine.dispose()

    asyncio.run(run())


def create_migrated(name: str) -> str:
    """A new database (replacing any of that name), migrated to head and seeded with the centres."""
    if is_postgres():
        prefix = make_url(base_url()).database or "hotline_test"
        db_name = f"{prefix}_{name}_{worker_id()}"
        _pg_recreate(db_name)
        url = _pg_url(db_name)
    else:
        path = _tmp() / f"{name}.db"
        path.unlink(missing_ok=True)
        url = f"sqlite:///{path}"
    migrate.upgrade(url)
    _seed(url)
    return url


def copy_database(template_url: str) -> str:
    """A fresh copy of a migrated, seeded database, for tests whose data must be committed."""
    n = next(_counter)
    if is_postgres():
        template = make_url(template_url).database
        name = f"{template}_c{n}"
        _pg_recreate(name, template=template)
        return _pg_url(name)
    src = Path(make_url(template_url).database)
    dst = _tmp() / f"copy{n}.db"
    shutil.copyfile(src, dst)
    return f"sqlite:///{dst}"


def drop_database(url: str) -> None:
    if is_postgres():
        _pg_drop(make_url(url).database)
    else:
        Path(make_url(url).database).unlink(missing_ok=True)
        for suffix in ("-wal", "-shm"):
            Path(make_url(url).database + suffix).unlink(missing_ok=True)


def cleanup() -> None:
    if _tmpdir is not None:
        shutil.rmtree(_tmpdir, ignore_errors=True)
