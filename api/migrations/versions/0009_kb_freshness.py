"""kb_revisions.reviewed_on and kb_revisions.history_of: when an answer was last checked against its source, and
which current entry an earlier year's rule belongs to

Plain ADD COLUMN / DROP COLUMN on both databases (SQLite >= 3.35): no batch copy of kb_revisions, whose
append-only triggers stay as they are (adding or dropping a column is no UPDATE or DELETE of a row).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06
"""
from alembic import op
import sqlalchemy as sa

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('kb_revisions', sa.Column('reviewed_on', sa.Date(), nullable=True))
    op.add_column('kb_revisions', sa.Column('history_of', sa.String(length=100), nullable=True))


def downgrade() -> None:
    op.execute("ALTER TABLE kb_revisions DROP COLUMN history_of")
    op.execute("ALTER TABLE kb_revisions DROP COLUMN reviewed_on")
