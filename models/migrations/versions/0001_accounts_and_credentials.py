"""accounts and credentials

Revision ID: 0001
Revises:
Create Date: 2026-11-25 18:58:50.494063
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table(
        "accounts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("hubspot_portal_id", sa.String(length=40), nullable=True),
        sa.Column("quickbooks_realm_id", sa.String(length=40), nullable=True),
        sa.Column("direction", sa.String(length=40), nullable=False),
        sa.Column("direction_changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("poll_interval_seconds", sa.Integer(), nullable=False),
        sa.Column("qbo_income_account_id", sa.String(length=40), nullable=True),
        sa.Column("qbo_expense_account_id", sa.String(length=40), nullable=True),
        sa.Column("qbo_asset_account_id", sa.String(length=40), nullable=True),
        sa.Column("qbo_default_item_type", sa.String(length=20), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "direction IN ('hubspot_to_quickbooks', 'quickbooks_to_hubspot')",
            name=op.f("ck_accounts_direction"),
        ),
        sa.CheckConstraint("poll_interval_seconds >= 5", name=op.f("ck_accounts_poll_interval")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_accounts")),
        sa.UniqueConstraint("name", name=op.f("uq_accounts_name")),
    )
    op.create_table(
        "credentials",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("system", sa.String(length=20), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("access_token_enc", sa.LargeBinary(), nullable=True),
        sa.Column("refresh_token_enc", sa.LargeBinary(), nullable=True),
        sa.Column("access_expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("refresh_expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("scopes", sa.Text(), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("status_reason", sa.Text(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("refreshed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("kind IN ('private_app', 'oauth')", name=op.f("ck_credentials_kind")),
        sa.CheckConstraint("status IN ('ok', 'needs_reauth')", name=op.f("ck_credentials_status")),
        sa.CheckConstraint(
            "system IN ('hubspot', 'quickbooks')", name=op.f("ck_credentials_system")
        ),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_credentials_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_credentials")),
        sa.UniqueConstraint("account_id", "system", name=op.f("uq_credentials_account_id_system")),
    )


def downgrade() -> None:

    op.drop_table("credentials")
    op.drop_table("accounts")
