"""runs wait out passing faults: status `waiting`, with a reason and a next attempt

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-07 18:45:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

_OLD = "status IN ('enumerating', 'running', 'finished', 'failed')"
_NEW = "status IN ('enumerating', 'waiting', 'running', 'finished', 'failed')"


def upgrade() -> None:
    op.add_column("sync_runs", sa.Column("wait_reason", sa.Text(), nullable=True))
    op.add_column(
        "sync_runs", sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True)
    )
    op.drop_constraint(op.f("ck_sync_runs_status"), "sync_runs", type_="check")
    op.create_check_constraint("status", "sync_runs", _NEW)


def downgrade() -> None:
    # A waiting full sync lists again from the start; a waiting poll has no jobs.
    op.execute(
        "UPDATE sync_runs SET status = 'enumerating' "
        "WHERE status = 'waiting' AND kind = 'full_sync'"
    )
    op.execute("DELETE FROM sync_runs WHERE status = 'waiting'")
    op.drop_constraint(op.f("ck_sync_runs_status"), "sync_runs", type_="check")
    op.create_check_constraint("status", "sync_runs", _OLD)
    op.drop_column("sync_runs", "next_attempt_at")
    op.drop_column("sync_runs", "wait_reason")
