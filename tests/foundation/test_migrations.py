from __future__ import annotations

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from click.testing import CliRunner

import api.models  # noqa: F401
from api.db import Base, sync_url
from tests import dbutil


def test_migrations_match_the_models(database_url):
    engine = sa.create_engine(sync_url(database_url))
    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(ctx, Base.metadata)
    engine.dispose()
    assert diff == [], f"models and migrations differ: {diff}"


def test_audit_tables_are_append_only(fresh_database_url):
    engine = sa.create_engine(sync_url(fresh_database_url))
    with engine.begin() as conn:
        center_id = conn.execute(sa.text("SELECT id FROM centers WHERE code='seoul'")).scalar_one()
        conn.execute(sa.text(
            "INSERT INTO tickets (number, center_id, chat_id, status, text, text_hash, address, created_at, "
            "updated_at, first_response_due, resolution_due) VALUES ('SF-T-1', :c, 1, 'open', 'q', 'h', '', "
            "CURRENT_TIMESTAMP, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"), {"c": center_id})
        tid = conn.execute(sa.text("SELECT id FROM tickets WHERE number='SF-T-1'")).scalar_one()
        conn.execute(sa.text("INSERT INTO ticket_events (ticket_id, at, kind, actor_type, data) "
                             "VALUES (:t, CURRENT_TIMESTAMP, 'created', 'system', '{}')"), {"t": tid})
    for statement in ("UPDATE ticket_events SET kind='x'", "DELETE FROM ticket_events"):
        try:
            with engine.begin() as conn:
                conn.execute(sa.text(statement))
        except sa.exc.DBAPIError as exc:
            assert "append-only" in str(exc)
        else:
            raise AssertionError(f"{statement} was allowed")
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT kind FROM ticket_events")).scalars().all() == ["created"]
    engine.dispose()


def test_init_twice_is_harmless(tmp_path, monkeypatch):
    from api.cli import main
    from api.config import get_settings

    url = dbutil.create_migrated("init") if dbutil.is_postgres() else f"sqlite:///{tmp_path / 'init.db'}"
    monkeypatch.setenv("HOTLINE_DATABASE_URL", url)
    get_settings.cache_clear()
    try:
        runner = CliRunner()
        first = runner.invoke(main, ["init"])
        assert first.exit_code == 0, first.output
        second = runner.invoke(main, ["init"])
        assert second.exit_code == 0, second.output
        assert "centres: 0 added, 0 updated" in second.output
        engine = sa.create_engine(sync_url(url))
        with engine.connect() as conn:
            assert conn.execute(sa.text("SELECT count(*) FROM centers")).scalar_one() == 19
        engine.dispose()
    finally:
        get_settings.cache_clear()
        dbutil.drop_database(url)
