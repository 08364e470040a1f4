"""telegram_updates.claimed_by: the bot process holding a claim, so that a repeated claim is idempotent

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25
"""
from alembic import op
import sqlalchemy as sa


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('telegram_updates', schema=None) as batch_op:
        batch_op.add_column(sa.Column('claimed_by', sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('telegram_updates', schema=None) as batch_op:
        batch_op.drop_column('claimed_by')
