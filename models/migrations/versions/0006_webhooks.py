"""webhook jobs: reason `webhook`, under the poll's uniqueness rule

A webhook's job and the poll's job of the same change must be one row, so the partial
unique index on (account, source system, source id, source updated_at) now covers both
reasons.

Revision ID: 0006_webhooks
Revises: 0005
Create Date: 2026-12-07 21:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006_webhooks"
down_revision = "0005"
branch_labels = None
depends_on = None

_COLUMNS = ["account_id", "source_system", "source_id", "source_updated_at"]


def _unique_change(where: str) -> None:
    op.drop_index("uq_jobs_poll_change", table_name="jobs")
    op.create_index(
        "uq_jobs_poll_change", "jobs", _COLUMNS, unique=True, postgresql_where=sa.text(where)
    )


def upgrade() -> None:
    op.drop_constraint(op.f("ck_jobs_reason"), "jobs", type_="check")
    op.create_check_constraint(
        "reason", "jobs", "reason IN ('poll', 'webhook', 'full_sync', 'retry', 'manual')"
    )
    _unique_change("reason IN ('poll', 'webhook')")


def downgrade() -> None:
    # Kept as retries (no uniqueness rule): their work is not lost.
    op.execute("UPDATE jobs SET reason = 'retry' WHERE reason = 'webhook'")
    _unique_change("reason = 'poll'")
    op.drop_constraint(op.f("ck_jobs_reason"), "jobs", type_="check")
    op.create_check_constraint(
        "reason", "jobs", "reason IN ('poll', 'full_sync', 'retry', 'manual')"
    )
