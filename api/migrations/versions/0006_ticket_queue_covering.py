"""ticket queue: the active-queue partial indexes carry the filter columns (PostgreSQL INCLUDE), so that counting
a filtered queue (mine / unassigned / overdue) reads the index only

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-25
"""
from alembic import op
import sqlalchemy as sa


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None

ACTIVE = "status <> 'resolved'"
INCLUDE = ['assignee_id', 'first_responded_at', 'resolution_due']
INDEXES = {'ix_tickets_active_center_due': ['center_id', 'first_response_due', 'id'],
           'ix_tickets_active_due': ['first_response_due', 'id']}


def _recreate(include: list[str]) -> None:
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        for name, columns in INDEXES.items():
            batch_op.drop_index(name)
            kwargs = {'postgresql_include': include} if include else {}
            batch_op.create_index(name, columns, unique=False, postgresql_where=sa.text(ACTIVE),
                                  sqlite_where=sa.text(ACTIVE), **kwargs)


def upgrade() -> None:
    _recreate(INCLUDE)


def downgrade() -> None:
    _recreate([])
