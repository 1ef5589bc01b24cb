"""lifecycle policy per account, its mass-archive hold, and the lifecycle history actions

Existing accounts get `ignore` (today's behaviour: archiving is not synced); a person
opts an account into `mirror` with `productsync accounts set NAME --lifecycle mirror`.

Revision ID: 0007_lifecycle
Revises: 0006_webhooks
Create Date: 2026-12-07 21:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007_lifecycle"
down_revision = "0006_webhooks"
branch_labels = None
depends_on = None

_OLD_ACTIONS = "action IN ('created', 'updated', 'unchanged', 'failed', 'skipped')"
_NEW_ACTIONS = (
    "action IN ('created', 'updated', 'unchanged', 'failed', 'skipped', 'archived', "
    "'restored', 'configured')"
)


def upgrade() -> None:
    op.add_column(
        "accounts",
        sa.Column(
            "lifecycle_policy", sa.String(length=10), server_default="ignore", nullable=False
        ),
    )
    op.add_column(
        "accounts", sa.Column("lifecycle_held_at", sa.DateTime(timezone=True), nullable=True)
    )
    op.add_column("accounts", sa.Column("lifecycle_hold_reason", sa.Text(), nullable=True))
    op.create_check_constraint(
        "lifecycle_policy", "accounts", "lifecycle_policy IN ('ignore', 'mirror')"
    )
    op.drop_constraint(op.f("ck_sync_history_action"), "sync_history", type_="check")
    op.create_check_constraint("action", "sync_history", _NEW_ACTIONS)


def downgrade() -> None:
    # What the old schema cannot say: an archive or restore was an update of the
    # destination; a setting change was not a product sync at all.
    op.execute(
        "UPDATE sync_history SET action = 'updated' WHERE action IN ('archived', 'restored')"
    )
    op.execute("DELETE FROM sync_history WHERE action = 'configured'")
    op.drop_constraint(op.f("ck_sync_history_action"), "sync_history", type_="check")
    op.create_check_constraint("action", "sync_history", _OLD_ACTIONS)
    op.drop_constraint(op.f("ck_accounts_lifecycle_policy"), "accounts", type_="check")
    op.drop_column("accounts", "lifecycle_hold_reason")
    op.drop_column("accounts", "lifecycle_held_at")
    op.drop_column("accounts", "lifecycle_policy")
