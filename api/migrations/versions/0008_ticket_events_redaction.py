"""ticket_events: still append-only, except that the retention job may redact the `data` of an anonymised
ticket's events (staff free text such as a resolve note or a transfer reason can hold personal data)

An UPDATE of a ticket_events row is allowed only when the row's ticket is anonymised (tickets.anonymised_at IS
NOT NULL) and nothing but `data` changes; every other UPDATE and every DELETE is refused, as before. The triggers
of kb_revisions and kb_events (forbid_change() on PostgreSQL) are untouched.

The events of tickets anonymised before this revision are redacted here, once, by the retention job's rule
(api.tickets.retention.redact_event_data); the job does it for every ticket it anonymises from now on.

SQLite: the new trigger reads `tickets`, and SQLite refuses to rename a table over a dropped one that a trigger
still names ("error in trigger ticket_events_no_update: no such table: main.tickets"). A later migration that
makes batch mode recreate `tickets` on SQLite (move and copy) must drop ticket_events_no_update first and create
it again afterwards (or run the batch under PRAGMA legacy_alter_table=ON).

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-26
"""
from alembic import op
import sqlalchemy as sa


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None

# The columns that must stay as they are when an event is redacted: everything but `data`.
FIXED = ('id', 'ticket_id', 'at', 'kind', 'actor_type', 'actor_id')
MESSAGE = 'ticket_events is append-only (only the data of events of anonymised tickets may be redacted)'
TICKET_ANONYMISED = ("EXISTS (SELECT 1 FROM tickets WHERE tickets.id = OLD.ticket_id "
                     "AND tickets.anonymised_at IS NOT NULL)")


def _postgresql_upgrade() -> None:
    unchanged = " AND ".join(f"NEW.{c} IS NOT DISTINCT FROM OLD.{c}" for c in FIXED)
    op.execute(f"""
        CREATE FUNCTION ticket_events_redact_only() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF TG_OP = 'UPDATE' AND {unchanged} AND {TICKET_ANONYMISED} THEN
                RETURN NEW;
            END IF;
            RAISE EXCEPTION '{MESSAGE}';
        END $$
    """)
    op.execute("DROP TRIGGER ticket_events_append_only ON ticket_events")
    op.execute("CREATE TRIGGER ticket_events_append_only BEFORE UPDATE OR DELETE ON ticket_events "
               "FOR EACH ROW EXECUTE FUNCTION ticket_events_redact_only()")


def _sqlite_upgrade() -> None:
    changed = " OR ".join(f"NEW.{c} IS NOT OLD.{c}" for c in FIXED)
    op.execute("DROP TRIGGER ticket_events_no_update")
    op.execute(f"CREATE TRIGGER ticket_events_no_update BEFORE UPDATE ON ticket_events "
               f"WHEN {changed} OR NOT {TICKET_ANONYMISED} "
               f"BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END")


def _redact_already_anonymised(chunk: int = 2000) -> None:
    from api.tickets.retention import redact_event_data

    events = sa.table('ticket_events', sa.column('id', sa.BigInteger), sa.column('ticket_id', sa.BigInteger),
                      sa.column('data', sa.JSON))
    tickets = sa.table('tickets', sa.column('id', sa.BigInteger), sa.column('anonymised_at'))
    anonymised = sa.select(tickets.c.id).where(tickets.c.anonymised_at.is_not(None))
    redact = (sa.update(events).where(events.c.id == sa.bindparam('event_id'))
              .values(data=sa.bindparam('clean', type_=sa.JSON)))
    bind = op.get_bind()
    last = 0
    while rows := bind.execute(sa.select(events.c.id, events.c.data)
                               .where(events.c.id > last, events.c.ticket_id.in_(anonymised))
                               .order_by(events.c.id).limit(chunk)).all():
        last = rows[-1].id
        changed = [{'event_id': event_id, 'clean': clean} for event_id, data in rows
                   if (clean := redact_event_data(data)) != data]
        if changed:
            bind.execute(redact, changed)


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        _postgresql_upgrade()
    else:
        _sqlite_upgrade()
    _redact_already_anonymised()


def downgrade() -> None:
    """Back to 0001's triggers: no UPDATE at all (redacted data stays redacted)."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER ticket_events_append_only ON ticket_events")
        op.execute("DROP FUNCTION ticket_events_redact_only()")
        op.execute("CREATE TRIGGER ticket_events_append_only BEFORE UPDATE OR DELETE ON ticket_events "
                   "FOR EACH ROW EXECUTE FUNCTION forbid_change()")
    else:
        op.execute("DROP TRIGGER ticket_events_no_update")
        op.execute("CREATE TRIGGER ticket_events_no_update BEFORE UPDATE ON ticket_events "
                   "BEGIN SELECT RAISE(ABORT, 'ticket_events is append-only'); END")
