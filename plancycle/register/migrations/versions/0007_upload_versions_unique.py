"""upload versions unique per task

Two uploads of the same task at the same moment (a portal and a CLI upload) both read the
highest version and took the next one. A unique index on (task_id, version) makes the second
insert fail, and the upload path retries with the next free version. Registers that already
hold duplicated versions get them renumbered in upload order first.

Revision ID: 0007_upload_versions
Revises: 0006_one_live_decision
Create Date: 2026-12-07 08:00:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0007_upload_versions'
down_revision: str | None = '0006_one_live_decision'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _renumber_duplicates() -> None:
    bind = op.get_bind()
    uploads = sa.table("uploads", sa.column("id", sa.Integer), sa.column("task_id", sa.Integer),
                       sa.column("version", sa.Integer))
    duplicated = bind.execute(
        sa.select(uploads.c.task_id).group_by(uploads.c.task_id, uploads.c.version)
        .having(sa.func.count() > 1)).scalars().all()
    for task_id in sorted(set(duplicated)):
        ids = bind.execute(sa.select(uploads.c.id).where(uploads.c.task_id == task_id)
                           .order_by(uploads.c.id)).scalars().all()
        for version, upload_id in enumerate(ids, start=1):
            bind.execute(sa.update(uploads).where(uploads.c.id == upload_id)
                         .values(version=version))


def upgrade() -> None:
    _renumber_duplicates()
    with op.batch_alter_table('uploads', schema=None) as batch_op:
        batch_op.create_index('uq_uploads_task_version', ['task_id', 'version'], unique=True)


def downgrade() -> None:
    with op.batch_alter_table('uploads', schema=None) as batch_op:
        batch_op.drop_index('uq_uploads_task_version')
