"""initial schema

Revision ID: 0001
Revises: 
Create Date: 2026-11-24
"""
from alembic import op
import sqlalchemy as sa

import api.db


revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('ask_logs',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('created_at', api.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('chat_id', sa.BigInteger(), nullable=True),
    sa.Column('channel', sa.String(length=16), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('outcome', sa.String(length=16), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('entry_id', sa.String(length=100), nullable=True),
    sa.Column('topic', sa.String(length=64), nullable=True),
    sa.Column('score', sa.Float(), nullable=False),
    sa.Column('candidates', sa.JSON(), nullable=False),
    sa.Column('feedback', sa.String(length=8), nullable=True),
    sa.Column('reviewed', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ask_logs'))
    )
    with op.batch_alter_table('ask_logs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ask_logs_chat_id'), ['chat_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_ask_logs_created_at'), ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_ask_logs_outcome'), ['outcome'], unique=False)

    op.create_table('centers',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('host', sa.String(length=100), nullable=False),
    sa.Column('phone', sa.String(length=30), nullable=True),
    sa.Column('opens', sa.Time(), nullable=False),
    sa.Column('closes', sa.Time(), nullable=False),
    sa.Column('telegram_chat_id', sa.BigInteger(), nullable=True),
    sa.Column('created_at', api.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_centers')),
    sa.UniqueConstraint('code', name=op.f('uq_centers_code')),
    sa.UniqueConstraint('telegram_chat_id', name=op.f('uq_centers_telegram_chat_id'))
    )
    op.create_table('conversations',
    sa.Column('chat_id', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('state', sa.JSON(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('updated_at', api.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('chat_id', name=op.f('pk_conversations'))
    )
    op.create_table('kb_entries',
    sa.Column('id', sa.String(length=100), nullable=False),
    sa.Column('topic', sa.String(length=64), nullable=False),
    sa.Column('published_revision_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('created_at', api.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', api.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_kb_entries'))
    )
    with op.batch_alter_table('kb_entries', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_kb_entries_topic'), ['topic'], unique=False)

    op.create_table('telegram_updates',
    sa.Column('update_id', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('claimed_at', api.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('done_at', api.db.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('update_id', name=op.f('pk_telegram_updates'))
    )
    op.create_table('center_closures',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('center_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['center_id'], ['centers.id'], name=op.f('fk_center_closures_center_id_centers'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_center_closures')),
    sa.UniqueConstraint('center_id', 'day', name=op.f('uq_center_closures_center_id_day'))
    )
    with op.batch_alter_table('center_closures', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_center_closures_center_id'), ['center_id'], unique=False)

    op.create_table('companies',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('business_number', sa.String(length=10), nullable=True),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('address', sa.Text(), nullable=False),
    sa.Column('region_sido', sa.String(length=50), nullable=True),
    sa.Column('region_sigungu', sa.String(length=50), nullable=True),
    sa.Column('center_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('created_at', api.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', api.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['center_id'], ['centers.id'], name=op.f('fk_companies_center_id_centers')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_companies')),
    sa.UniqueConstraint('business_number', name=op.f('uq_companies_business_number'))
    )
    with op.batch_alter_table('companies', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_companies_center_id'), ['center_id'], unique=False)

    op.create_table('staff',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('username', sa.String(length=64), nullable=False),
    sa.Column('display_name', sa.String(length=100), nullable=False),
    sa.Column('password_hash', sa.String(length=255), nullable=False),
    sa.Column('role', sa.String(length=16), nullable=False),
    sa.Column('center_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('is_active', sa.Boolean(), nullable=False),
    sa.Column('telegram_user_id', sa.BigInteger(), nullable=True),
    sa.Column('failed_logins', sa.Integer(), nullable=False),
    sa.Column('locked_until', api.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('password_changed_at', api.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('created_at', api.db.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("role = 'admin' OR center_id IS NOT NULL", name=op.f('ck_staff_agent_has_center')),
    sa.CheckConstraint("role IN ('admin', 'agent')", name=op.f('ck_staff_role')),
    sa.ForeignKeyConstraint(['center_id'], ['centers.id'], name=op.f('fk_staff_center_id_centers')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_staff')),
    sa.UniqueConstraint('telegram_user_id', name=op.f('uq_staff_telegram_user_id')),
    sa.UniqueConstraint('username', name=op.f('uq_staff_username'))
    )
    with op.batch_alter_table('staff', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_staff_center_id'), ['center_id'], unique=False)

    op.create_table('kb_revisions',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('entry_id', sa.String(length=100), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('title', sa.Text(), nullable=False),
    sa.Column('paraphrases', sa.JSON(), nullable=False),
    sa.Column('keywords', sa.JSON(), nullable=False),
    sa.Column('answer', sa.Text(), nullable=False),
    sa.Column('source_title', sa.Text(), nullable=False),
    sa.Column('source_url', sa.Text(), nullable=False),
    sa.Column('year', sa.Integer(), nullable=True),
    sa.Column('valid_from', sa.Date(), nullable=True),
    sa.Column('valid_to', sa.Date(), nullable=True),
    sa.Column('author_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('author_label', sa.String(length=100), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('created_at', api.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['author_id'], ['staff.id'], name=op.f('fk_kb_revisions_author_id_staff')),
    sa.ForeignKeyConstraint(['entry_id'], ['kb_entries.id'], name=op.f('fk_kb_revisions_entry_id_kb_entries')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_kb_revisions')),
    sa.UniqueConstraint('entry_id', 'number', name=op.f('uq_kb_revisions_entry_id_number'))
    )
    with op.batch_alter_table('kb_revisions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_kb_revisions_entry_id'), ['entry_id'], unique=False)

    op.create_table('kb_synonyms',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('term', sa.String(length=100), nullable=False),
    sa.Column('variant', sa.String(length=100), nullable=False),
    sa.Column('created_by', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('created_at', api.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['created_by'], ['staff.id'], name=op.f('fk_kb_synonyms_created_by_staff')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_kb_synonyms')),
    sa.UniqueConstraint('term', 'variant', name=op.f('uq_kb_synonyms_term_variant'))
    )
    with op.batch_alter_table('kb_synonyms', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_kb_synonyms_term'), ['term'], unique=False)

    op.create_table('owner_chats',
    sa.Column('chat_id', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('company_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('display_name', sa.String(length=200), nullable=False),
    sa.Column('created_at', api.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', api.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['company_id'], ['companies.id'], name=op.f('fk_owner_chats_company_id_companies')),
    sa.PrimaryKeyConstraint('chat_id', name=op.f('pk_owner_chats'))
    )
    with op.batch_alter_table('owner_chats', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_owner_chats_company_id'), ['company_id'], unique=False)

    op.create_table('tickets',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('number', sa.String(length=32), nullable=False),
    sa.Column('center_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('company_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('chat_id', sa.BigInteger(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('text_hash', sa.String(length=64), nullable=False),
    sa.Column('address', sa.Text(), nullable=False),
    sa.Column('region_sido', sa.String(length=50), nullable=True),
    sa.Column('region_sigungu', sa.String(length=50), nullable=True),
    sa.Column('company_name', sa.String(length=200), nullable=True),
    sa.Column('business_number', sa.String(length=10), nullable=True),
    sa.Column('contact_name', sa.String(length=100), nullable=True),
    sa.Column('phone', sa.String(length=20), nullable=True),
    sa.Column('assignee_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('ask_log_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('created_at', api.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', api.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('first_response_due', api.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('resolution_due', api.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('first_responded_at', api.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('resolved_at', api.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('overdue_at', api.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('admin_alerted_at', api.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('rating', sa.Integer(), nullable=True),
    sa.Column('rating_comment', sa.Text(), nullable=True),
    sa.Column('rated_at', api.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('anonymised_at', api.db.UTCDateTime(timezone=True), nullable=True),
    sa.CheckConstraint("status IN ('open', 'assigned', 'resolved')", name=op.f('ck_tickets_status')),
    sa.CheckConstraint('rating IS NULL OR (rating BETWEEN 1 AND 5)', name=op.f('ck_tickets_rating_range')),
    sa.ForeignKeyConstraint(['ask_log_id'], ['ask_logs.id'], name=op.f('fk_tickets_ask_log_id_ask_logs')),
    sa.ForeignKeyConstraint(['assignee_id'], ['staff.id'], name=op.f('fk_tickets_assignee_id_staff')),
    sa.ForeignKeyConstraint(['center_id'], ['centers.id'], name=op.f('fk_tickets_center_id_centers')),
    sa.ForeignKeyConstraint(['company_id'], ['companies.id'], name=op.f('fk_tickets_company_id_companies')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_tickets')),
    sa.UniqueConstraint('number', name=op.f('uq_tickets_number'))
    )
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_tickets_assignee_id'), ['assignee_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_tickets_chat_id'), ['chat_id'], unique=False)
        batch_op.create_index('ix_tickets_chat_text', ['chat_id', 'text_hash', 'created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_tickets_company_id'), ['company_id'], unique=False)
        batch_op.create_index('ix_tickets_queue', ['center_id', 'status', 'first_response_due'], unique=False)

    op.create_table('outbox',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('chat_id', sa.BigInteger(), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('buttons', sa.JSON(), nullable=True),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('ticket_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('dedupe_key', sa.String(length=128), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', api.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('lease_until', api.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('lease_token', sa.String(length=64), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('telegram_message_id', sa.BigInteger(), nullable=True),
    sa.Column('created_at', api.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('sent_at', api.db.UTCDateTime(timezone=True), nullable=True),
    sa.CheckConstraint("status IN ('pending', 'sent', 'failed')", name=op.f('ck_outbox_status')),
    sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], name=op.f('fk_outbox_ticket_id_tickets')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_outbox')),
    sa.UniqueConstraint('dedupe_key', name=op.f('uq_outbox_dedupe_key'))
    )
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_outbox_chat_id'), ['chat_id'], unique=False)
        batch_op.create_index('ix_outbox_due', ['status', 'next_attempt_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_outbox_ticket_id'), ['ticket_id'], unique=False)

    op.create_table('ticket_events',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('ticket_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('at', api.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('actor_type', sa.String(length=16), nullable=False),
    sa.Column('actor_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('data', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['actor_id'], ['staff.id'], name=op.f('fk_ticket_events_actor_id_staff')),
    sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], name=op.f('fk_ticket_events_ticket_id_tickets')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ticket_events'))
    )
    with op.batch_alter_table('ticket_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ticket_events_ticket_id'), ['ticket_id'], unique=False)

    op.create_table('ticket_messages',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('ticket_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('direction', sa.String(length=8), nullable=False),
    sa.Column('author_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('attachment', sa.JSON(), nullable=True),
    sa.Column('created_at', api.db.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("direction IN ('owner', 'staff', 'system')", name=op.f('ck_ticket_messages_direction')),
    sa.ForeignKeyConstraint(['author_id'], ['staff.id'], name=op.f('fk_ticket_messages_author_id_staff')),
    sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], name=op.f('fk_ticket_messages_ticket_id_tickets'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ticket_messages'))
    )
    with op.batch_alter_table('ticket_messages', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ticket_messages_ticket_id'), ['ticket_id'], unique=False)
    # kb_entries <-> kb_revisions reference each other: add the entry's pointer once both exist.
    with op.batch_alter_table('kb_entries', schema=None) as batch_op:
        batch_op.create_foreign_key('fk_kb_entries_published_revision_id_kb_revisions', 'kb_revisions',
                                    ['published_revision_id'], ['id'])
    _create_append_only_triggers()


APPEND_ONLY = ("ticket_events", "kb_revisions")


def _create_append_only_triggers() -> None:
    """The audit trail and the KB history can be inserted into, never edited or deleted."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute("""
            CREATE FUNCTION forbid_change() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                RAISE EXCEPTION '% is append-only', TG_TABLE_NAME;
            END $$
        """)
        for table in APPEND_ONLY:
            op.execute(f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                       f"FOR EACH ROW EXECUTE FUNCTION forbid_change()")
    else:
        for table in APPEND_ONLY:
            for action in ("UPDATE", "DELETE"):
                op.execute(f"CREATE TRIGGER {table}_no_{action.lower()} BEFORE {action} ON {table} "
                           f"BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END")


def _drop_append_only_triggers() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in APPEND_ONLY:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
        op.execute("DROP FUNCTION IF EXISTS forbid_change()")
    else:
        for table in APPEND_ONLY:
            for action in ("update", "delete"):
                op.execute(f"DROP TRIGGER IF EXISTS {table}_no_{action}")


def downgrade() -> None:
    _drop_append_only_triggers()
    with op.batch_alter_table('kb_entries', schema=None) as batch_op:
        batch_op.drop_constraint('fk_kb_entries_published_revision_id_kb_revisions', type_='foreignkey')
    with op.batch_alter_table('ticket_messages', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ticket_messages_ticket_id'))

    op.drop_table('ticket_messages')
    with op.batch_alter_table('ticket_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ticket_events_ticket_id'))

    op.drop_table('ticket_events')
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_outbox_ticket_id'))
        batch_op.drop_index('ix_outbox_due')
        batch_op.drop_index(batch_op.f('ix_outbox_chat_id'))

    op.drop_table('outbox')
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.drop_index('ix_tickets_queue')
        batch_op.drop_index(batch_op.f('ix_tickets_company_id'))
        batch_op.drop_index('ix_tickets_chat_text')
        batch_op.drop_index(batch_op.f('ix_tickets_chat_id'))
        batch_op.drop_index(batch_op.f('ix_tickets_assignee_id'))

    op.drop_table('tickets')
    with op.batch_alter_table('owner_chats', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_owner_chats_company_id'))

    op.drop_table('owner_chats')
    with op.batch_alter_table('kb_synonyms', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_kb_synonyms_term'))

    op.drop_table('kb_synonyms')
    with op.batch_alter_table('kb_revisions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_kb_revisions_entry_id'))

    op.drop_table('kb_revisions')
    with op.batch_alter_table('staff', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_staff_center_id'))

    op.drop_table('staff')
    with op.batch_alter_table('companies', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_companies_center_id'))

    op.drop_table('companies')
    with op.batch_alter_table('center_closures', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_center_closures_center_id'))

    op.drop_table('center_closures')
    op.drop_table('telegram_updates')
    with op.batch_alter_table('kb_entries', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_kb_entries_topic'))

    op.drop_table('kb_entries')
    op.drop_table('conversations')
    op.drop_table('centers')
    with op.batch_alter_table('ask_logs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ask_logs_outcome'))
        batch_op.drop_index(batch_op.f('ix_ask_logs_created_at'))
        batch_op.drop_index(batch_op.f('ix_ask_logs_chat_id'))

    op.drop_table('ask_logs')
