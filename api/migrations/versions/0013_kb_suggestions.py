"""kb_suggestions: phrasings owners used for an entry (a clarify candidate tapped, an answer given 👍, a ticket
resolved citing the entry), waiting for an admin to accept or reject them

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06
"""
from alembic import op
import sqlalchemy as sa

import api.db


revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('kb_suggestions',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('entry_id', sa.String(length=100), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('source', sa.String(length=16), nullable=False),
    sa.Column('seen', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('ask_log_id', sa.BigInteger(), nullable=True),
    sa.Column('ticket_id', sa.BigInteger(), nullable=True),
    sa.Column('created_at', api.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('decided_at', api.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('decided_by', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('revision_id', sa.BigInteger(), nullable=True),
    sa.ForeignKeyConstraint(['decided_by'], ['staff.id'], name=op.f('fk_kb_suggestions_decided_by_staff')),
    sa.ForeignKeyConstraint(['entry_id'], ['kb_entries.id'], name=op.f('fk_kb_suggestions_entry_id_kb_entries')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_kb_suggestions')),
    sa.UniqueConstraint('entry_id', 'key', name=op.f('uq_kb_suggestions_entry_id_key'))
    )
    with op.batch_alter_table('kb_suggestions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_kb_suggestions_entry_id'), ['entry_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_kb_suggestions_status'), ['status'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('kb_suggestions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_kb_suggestions_status'))
        batch_op.drop_index(batch_op.f('ix_kb_suggestions_entry_id'))
    op.drop_table('kb_suggestions')
