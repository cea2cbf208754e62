"""one live decision per person and gate (concurrent decisions count once)

Revision ID: 0006_one_live_decision
Revises: 0005_portal_delegations
Create Date: 2026-12-07 07:00:00

Before this revision only the code kept one valid decision per approver and gate; two
decisions arriving at once could both stay valid. Existing duplicates are resolved the way
the code always meant (the latest stands, earlier ones are marked no longer valid), then a
partial unique index makes the rule the database's.
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0006_one_live_decision'
down_revision: str | None = '0005_portal_delegations'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(sa.text(
        "UPDATE decisions SET valid = :no WHERE valid = :yes AND id NOT IN ("
        "SELECT MAX(id) FROM decisions WHERE valid = :yes GROUP BY task_id, person_id)"
    ).bindparams(no=False, yes=True))
    op.create_index('uq_decisions_live_per_person', 'decisions', ['task_id', 'person_id'],
                    unique=True, postgresql_where=sa.text('valid'),
                    sqlite_where=sa.text('valid'))


def downgrade() -> None:
    op.drop_index('uq_decisions_live_per_person', table_name='decisions')
