"""centres: address, website and office hours besides the phone; center_events, the audit trail of centre settings

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06
"""
from alembic import op
import sqlalchemy as sa

import api.db


revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('centers', schema=None) as batch_op:
        batch_op.add_column(sa.Column('address', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('website', sa.String(length=300), nullable=True))
        batch_op.add_column(sa.Column('office_hours', sa.String(length=100), nullable=True))

    op.create_table('center_events',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('center_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('at', api.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('action', sa.String(length=24), nullable=False),
    sa.Column('actor_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('actor_label', sa.String(length=100), nullable=False),
    sa.Column('detail', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['actor_id'], ['staff.id'], name=op.f('fk_center_events_actor_id_staff')),
    sa.ForeignKeyConstraint(['center_id'], ['centers.id'], name=op.f('fk_center_events_center_id_centers'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_center_events'))
    )
    with op.batch_alter_table('center_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_center_events_center_id'), ['center_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('center_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_center_events_center_id'))
    op.drop_table('center_events')
    with op.batch_alter_table('centers', schema=None) as batch_op:
        batch_op.drop_column('office_hours')
        batch_op.drop_column('website')
        batch_op.drop_column('address')
