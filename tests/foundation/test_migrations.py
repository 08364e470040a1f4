from __future__ import annotations

import json

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from click.testing import CliRunner

import api.models  # noqa: F401
from api import migrate
from api.db import Base, sync_url
from api.privacy import ANONYMISED_TEXT
from tests import dbutil


def test_migrations_match_the_models(database_url):
    engine = sa.create_engine(sync_url(database_url))
    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(ctx, Base.metadata)
    engine.dispose()
    assert diff == [], f"models and migrations differ: {diff}"


def _one_event(engine, *, number: str, kind: str = "created", data: str = '{"note": "x"}') -> int:
    """A ticket with one event (raw SQL, so the tests see the triggers alone); returns the ticket's id."""
    with engine.begin() as conn:
        center_id = conn.execute(sa.text("SELECT id FROM centers WHERE code='seoul'")).scalar_one()
        conn.execute(sa.text(
            "INSERT INTO tickets (number, center_id, chat_id, status, text, text_hash, address, created_at, "
            "updated_at, first_response_due, resolution_due) VALUES (:n, :c, 1, 'open', 'q', 'h', '', "
            "CURRENT_TIMESTAMP, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"),
            {"n": number, "c": center_id})
        tid = conn.execute(sa.text("SELECT id FROM tickets WHERE number=:n"), {"n": number}).scalar_one()
        conn.execute(sa.text("INSERT INTO ticket_events (ticket_id, at, kind, actor_type, data) "
                             "VALUES (:t, CURRENT_TIMESTAMP, :k, 'system', :d)"), {"t": tid, "k": kind, "d": data})
    return tid


def _refused(engine, statement: str, params: dict | None = None) -> None:
    try:
        with engine.begin() as conn:
            conn.execute(sa.text(statement), params or {})
    except sa.exc.DBAPIError as exc:
        assert "append-only" in str(exc)
    else:
        raise AssertionError(f"{statement} was allowed")


def _anonymise(engine, tid: int) -> None:
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE tickets SET anonymised_at = CURRENT_TIMESTAMP WHERE id = :t"), {"t": tid})


def _events(engine) -> list[tuple]:
    with engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT ticket_id, kind, data FROM ticket_events ORDER BY id")).all()
    return [(t, k, json.loads(d) if isinstance(d, str) else d) for t, k, d in rows]


def test_audit_tables_are_append_only(fresh_database_url):
    engine = sa.create_engine(sync_url(fresh_database_url))
    _one_event(engine, number="SF-T-1", data="{}")
    for statement in ("UPDATE ticket_events SET kind='x'", "UPDATE ticket_events SET data='{\"a\": 1}'",
                      "DELETE FROM ticket_events"):
        _refused(engine, statement)
    assert _events(engine) == [(_events(engine)[0][0], "created", {})]
    engine.dispose()


REDACT = "UPDATE ticket_events SET data = :d WHERE ticket_id = :t"


def test_only_the_data_of_an_anonymised_tickets_events_can_be_redacted(fresh_database_url):
    """Retention may overwrite ``data`` of the events of an anonymised ticket (migration 0008); nothing else
    about the audit trail changes: live tickets' events stay fixed, other columns stay fixed, nothing is
    deleted."""
    engine = sa.create_engine(sync_url(fresh_database_url))
    live = _one_event(engine, number="SF-T-live")
    old = _one_event(engine, number="SF-T-old")
    _anonymise(engine, old)
    with engine.begin() as conn:  # someone to pin an event on
        conn.execute(sa.text(
            "INSERT INTO staff (username, display_name, password_hash, role, is_active, "
            "password_changed_at, created_at) VALUES ('mallory', 'x', 'x', 'admin', true, CURRENT_TIMESTAMP, "
            "CURRENT_TIMESTAMP)"))

    _refused(engine, REDACT, {"d": "{}", "t": live})
    with engine.begin() as conn:
        assert conn.execute(sa.text(REDACT), {"d": '{"note": "-"}', "t": old}).rowcount == 1
    for change in ("kind = 'forged'", "actor_type = 'staff'", "at = '2001-02-03 04:05:06'", "ticket_id = :live",
                   "actor_id = (SELECT min(id) FROM staff)", "id = id + 1000", "kind = 'x', data = '{}'"):
        _refused(engine, f"UPDATE ticket_events SET {change} WHERE ticket_id = :t", {"t": old, "live": live})
    for target in (old, live):
        _refused(engine, "DELETE FROM ticket_events WHERE ticket_id = :t", {"t": target})
    assert _events(engine) == [(live, "created", {"note": "x"}), (old, "created", {"note": "-"})]
    engine.dispose()


def test_the_redaction_trigger_downgrades_to_the_strict_one(fresh_database_url):
    engine = sa.create_engine(sync_url(fresh_database_url))
    old = _one_event(engine, number="SF-T-old")
    _anonymise(engine, old)
    migrate.downgrade(fresh_database_url, "0007")
    try:
        _refused(engine, REDACT, {"d": "{}", "t": old})
        _refused(engine, "DELETE FROM ticket_events")
        with engine.begin() as conn:  # the other audit tables keep their triggers through the round trip
            conn.execute(sa.text("INSERT INTO kb_entries (id, topic, created_at, updated_at) "
                                 "VALUES ('e1', 'support-ratio', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"))
            conn.execute(sa.text("INSERT INTO kb_events (entry_id, action, actor_label, detail, created_at) "
                                 "VALUES ('e1', 'created', 'x', '{}', CURRENT_TIMESTAMP)"))
        _refused(engine, "UPDATE kb_events SET action = 'x'")
    finally:
        migrate.upgrade(fresh_database_url)
    with engine.begin() as conn:
        assert conn.execute(sa.text(REDACT), {"d": "{}", "t": old}).rowcount == 1
    _refused(engine, "UPDATE kb_events SET action = 'x'")
    _refused(engine, "DELETE FROM kb_events")
    assert _events(engine) == [(old, "created", {})]
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


def test_init_upgrades_an_existing_database(monkeypatch):
    """``hotline init`` on a database of an older revision brings it to head (here: 0007 -> the redaction
    trigger of 0008, which also redacts the events of tickets anonymised before it)."""
    from alembic.script import ScriptDirectory

    from api.cli import main
    from api.config import get_settings

    url = dbutil.create_migrated("older")
    migrate.downgrade(url, "0007")
    head = ScriptDirectory.from_config(migrate.alembic_config(url)).get_current_head()
    engine = sa.create_engine(sync_url(url))
    earlier = _one_event(engine, number="SF-T-earlier", kind="transferred",
                         data='{"from": "seoul", "to": "busan", "reason": "010-1234-5678 김철수", '
                              '"previous_assignee_id": null, "nested": [{"note": "x"}]}')
    live = _one_event(engine, number="SF-T-live", kind="resolved", data='{"note": "010-1234-5678", "via": "telegram"}')
    _anonymise(engine, earlier)  # anonymised before 0008: its events still carry the reason
    monkeypatch.setenv("HOTLINE_DATABASE_URL", url)
    get_settings.cache_clear()
    try:
        with engine.connect() as conn:
            assert conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar_one() == "0007"
        result = CliRunner().invoke(main, ["init"])
        assert result.exit_code == 0, result.output
        with engine.connect() as conn:
            assert conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar_one() == head
        marker = ANONYMISED_TEXT
        assert _events(engine) == [
            (earlier, "transferred", {"from": "seoul", "to": "busan", "reason": marker, "previous_assignee_id": None,
                                      "nested": [{"note": marker}]}),
            (live, "resolved", {"note": "010-1234-5678", "via": "telegram"})]
        old = _one_event(engine, number="SF-T-init")
        _anonymise(engine, old)
        with engine.begin() as conn:
            assert conn.execute(sa.text(REDACT), {"d": "{}", "t": old}).rowcount == 1
    finally:
        engine.dispose()
        get_settings.cache_clear()
        dbutil.drop_database(url)
