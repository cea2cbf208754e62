"""delivery claims: a queued message is claimed by one deliverer before it is sent

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-07 09:00:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import plancycle.register.models


revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.add_column(sa.Column('claimed_by', sa.String(length=120), nullable=True))
        batch_op.add_column(sa.Column(
            'claimed_until', plancycle.register.models.UTCDateTime(timezone=True), nullable=True))
        batch_op.create_index('ix_notifications_deliverable', ['status', 'next_attempt_at'],
                              unique=False)


def downgrade() -> None:
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.drop_index('ix_notifications_deliverable')
        batch_op.drop_column('claimed_until')
        batch_op.drop_column('claimed_by')
