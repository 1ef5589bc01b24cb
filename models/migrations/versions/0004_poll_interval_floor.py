"""poll interval floor of 1 second (compressed timings in end-to-end tests)

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25 19:10:00
"""

from __future__ import annotations

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_constraint(op.f("ck_accounts_poll_interval"), "accounts", type_="check")
    op.create_check_constraint("poll_interval", "accounts", "poll_interval_seconds >= 1")


def downgrade() -> None:
    op.drop_constraint(op.f("ck_accounts_poll_interval"), "accounts", type_="check")
    op.create_check_constraint("poll_interval", "accounts", "poll_interval_seconds >= 5")
