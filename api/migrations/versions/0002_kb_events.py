"""kb_events: append-only log of knowledge-base changes (audit trail and the matcher cache's version stamp)

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""
from alembic import op
import sqlalchemy as sa

import api.db


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('kb_events',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('created_at', api.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('entry_id', sa.String(length=100), nullable=True),
    sa.Column('action', sa.String(length=24), nullable=False),
    sa.Column('revision_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('actor_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('actor_label', sa.String(length=100), nullable=False),
    sa.Column('detail', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['actor_id'], ['staff.id'], name=op.f('fk_kb_events_actor_id_staff')),
    sa.ForeignKeyConstraint(['entry_id'], ['kb_entries.id'], name=op.f('fk_kb_events_entry_id_kb_entries')),
    sa.ForeignKeyConstraint(['revision_id'], ['kb_revisions.id'], name=op.f('fk_kb_events_revision_id_kb_revisions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_kb_events'))
    )
    with op.batch_alter_table('kb_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_kb_events_entry_id'), ['entry_id'], unique=False)
    # Append-only like kb_revisions (forbid_change() exists since 0001 on PostgreSQL).
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE TRIGGER kb_events_append_only BEFORE UPDATE OR DELETE ON kb_events "
                   "FOR EACH ROW EXECUTE FUNCTION forbid_change()")
    else:
        for action in ("UPDATE", "DELETE"):
            op.execute(f"CREATE TRIGGER kb_events_no_{action.lower()} BEFORE {action} ON kb_events "
                       f"BEGIN SELECT RAISE(ABORT, 'kb_events is append-only'); END")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS kb_events_append_only ON kb_events")
    else:
        for action in ("update", "delete"):
            op.execute(f"DROP TRIGGER IF EXISTS kb_events_no_{action}")
    with op.batch_alter_table('kb_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_kb_events_entry_id'))
    op.drop_table('kb_events')
