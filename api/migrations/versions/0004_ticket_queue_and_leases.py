"""ticket queue indexes (partial indexes for the active queue and the scheduler) and scheduler leases

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25
"""
from alembic import op
import sqlalchemy as sa

import api.db


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None

ACTIVE = "status <> 'resolved'"
UNANSWERED = "status <> 'resolved' AND first_responded_at IS NULL AND overdue_at IS NULL"
UNALERTED = "status <> 'resolved' AND admin_alerted_at IS NULL"


def _where(predicate: str) -> dict:
    return {"postgresql_where": sa.text(predicate), "sqlite_where": sa.text(predicate)}


def upgrade() -> None:
    op.create_table('scheduler_leases',
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('holder', sa.String(length=128), nullable=False),
    sa.Column('lease_until', api.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('last_run_at', api.db.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_scheduler_leases'))
    )
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.drop_index('ix_tickets_queue')
        batch_op.create_index('ix_tickets_queue', ['center_id', 'status', 'first_response_due', 'id'], unique=False)
        batch_op.create_index('ix_tickets_status_due', ['status', 'first_response_due', 'id'], unique=False)
        batch_op.create_index('ix_tickets_active_center_due', ['center_id', 'first_response_due', 'id'],
                              unique=False, **_where(ACTIVE))
        batch_op.create_index('ix_tickets_active_due', ['first_response_due', 'id'], unique=False, **_where(ACTIVE))
        batch_op.create_index('ix_tickets_unanswered_due', ['first_response_due'], unique=False,
                              **_where(UNANSWERED))
        batch_op.create_index('ix_tickets_unalerted_resolution_due', ['resolution_due'], unique=False,
                              **_where(UNALERTED))


def downgrade() -> None:
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.drop_index('ix_tickets_unalerted_resolution_due')
        batch_op.drop_index('ix_tickets_unanswered_due')
        batch_op.drop_index('ix_tickets_active_due')
        batch_op.drop_index('ix_tickets_active_center_due')
        batch_op.drop_index('ix_tickets_status_due')
        batch_op.drop_index('ix_tickets_queue')
        batch_op.create_index('ix_tickets_queue', ['center_id', 'status', 'first_response_due'], unique=False)
    op.drop_table('scheduler_leases')
