"""credentials: per-account rate-limit overrides and vendor time zone

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25 19:20:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("credentials", sa.Column("rate_limits", sa.JSON(), nullable=True))
    op.add_column("credentials", sa.Column("time_zone", sa.String(length=64), nullable=True))


def downgrade() -> None:
    op.drop_column("credentials", "time_zone")
    op.drop_column("credentials", "rate_limits")
