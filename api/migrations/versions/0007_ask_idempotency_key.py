"""ask_logs.idempotency_key: a question the bot retries after a timeout is logged once

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-24
"""
from alembic import op
import sqlalchemy as sa

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('ask_logs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('idempotency_key', sa.String(length=100), nullable=True))
        batch_op.create_unique_constraint(batch_op.f('uq_ask_logs_idempotency_key'), ['idempotency_key'])


def downgrade() -> None:
    with op.batch_alter_table('ask_logs', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_ask_logs_idempotency_key'), type_='unique')
        batch_op.drop_column('idempotency_key')
