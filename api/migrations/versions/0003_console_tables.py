"""console tables: browser sessions, canned responses per centre, staff FAQ candidates

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24
"""
from alembic import op
import sqlalchemy as sa

import api.db


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('canned_responses',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('center_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('title', sa.String(length=100), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('created_by', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('created_at', api.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', api.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['center_id'], ['centers.id'], name=op.f('fk_canned_responses_center_id_centers'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['created_by'], ['staff.id'], name=op.f('fk_canned_responses_created_by_staff')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_canned_responses')),
    sa.UniqueConstraint('center_id', 'title', name=op.f('uq_canned_responses_center_id_title'))
    )
    with op.batch_alter_table('canned_responses', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_canned_responses_center_id'), ['center_id'], unique=False)

    op.create_table('console_sessions',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('staff_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('csrf_token', sa.String(length=64), nullable=False),
    sa.Column('created_at', api.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('last_seen_at', api.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', api.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('ip', sa.String(length=64), nullable=True),
    sa.Column('user_agent', sa.String(length=300), nullable=False),
    sa.ForeignKeyConstraint(['staff_id'], ['staff.id'], name=op.f('fk_console_sessions_staff_id_staff'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_console_sessions')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_console_sessions_token_hash'))
    )
    with op.batch_alter_table('console_sessions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_console_sessions_staff_id'), ['staff_id'], unique=False)

    op.create_table('faq_candidates',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('ticket_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('message_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('center_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('question', sa.Text(), nullable=False),
    sa.Column('answer', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('entry_id', sa.String(length=100), nullable=True),
    sa.Column('created_by', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('created_at', api.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('handled_by', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('handled_at', api.db.UTCDateTime(timezone=True), nullable=True),
    sa.CheckConstraint("status IN ('new', 'used', 'dismissed')", name=op.f('ck_faq_candidates_status')),
    sa.ForeignKeyConstraint(['center_id'], ['centers.id'], name=op.f('fk_faq_candidates_center_id_centers')),
    sa.ForeignKeyConstraint(['created_by'], ['staff.id'], name=op.f('fk_faq_candidates_created_by_staff')),
    sa.ForeignKeyConstraint(['handled_by'], ['staff.id'], name=op.f('fk_faq_candidates_handled_by_staff')),
    sa.ForeignKeyConstraint(['message_id'], ['ticket_messages.id'], name=op.f('fk_faq_candidates_message_id_ticket_messages')),
    sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], name=op.f('fk_faq_candidates_ticket_id_tickets')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_faq_candidates')),
    sa.UniqueConstraint('message_id', name=op.f('uq_faq_candidates_message_id'))
    )
    with op.batch_alter_table('faq_candidates', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_faq_candidates_center_id'), ['center_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_faq_candidates_status'), ['status'], unique=False)
        batch_op.create_index(batch_op.f('ix_faq_candidates_ticket_id'), ['ticket_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('faq_candidates', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_faq_candidates_ticket_id'))
        batch_op.drop_index(batch_op.f('ix_faq_candidates_status'))
        batch_op.drop_index(batch_op.f('ix_faq_candidates_center_id'))

    op.drop_table('faq_candidates')
    with op.batch_alter_table('console_sessions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_console_sessions_staff_id'))

    op.drop_table('console_sessions')
    with op.batch_alter_table('canned_responses', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_canned_responses_center_id'))

    op.drop_table('canned_responses')
