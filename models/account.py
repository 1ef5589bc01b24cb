"""Accounts: one HubSpot portal paired with one QuickBooks company (realm)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, utcnow

DIRECTION_VALUES = ("hubspot_to_quickbooks", "quickbooks_to_hubspot")
# What an archive, restore, deletion or merge in the source does to the destination
# (see `workers.engine.lifecycle`): `ignore` leaves the destination alone, `mirror`
# follows it. New and migrated accounts start with `ignore` (README, "What gets synced").
LIFECYCLE_POLICIES = ("ignore", "mirror")


class Account(Base):
    __tablename__ = "accounts"
    __table_args__ = (
        UniqueConstraint("name"),
        CheckConstraint(
            "direction IN ('hubspot_to_quickbooks', 'quickbooks_to_hubspot')", name="direction"
        ),
        CheckConstraint("poll_interval_seconds >= 1", name="poll_interval"),
        CheckConstraint("lifecycle_policy IN ('ignore', 'mirror')", name="lifecycle_policy"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    hubspot_portal_id: Mapped[str | None] = mapped_column(String(40))
    quickbooks_realm_id: Mapped[str | None] = mapped_column(String(40))
    direction: Mapped[str] = mapped_column(String(40), default="hubspot_to_quickbooks")
    # When the direction last changed: polling of the new source starts from here.
    direction_changed_at: Mapped[datetime] = mapped_column(default=utcnow)
    enabled: Mapped[bool] = mapped_column(default=True)
    poll_interval_seconds: Mapped[int] = mapped_column(default=60)

    # Defaults for QBO items the service creates (QBO requires account references).
    qbo_income_account_id: Mapped[str | None] = mapped_column(String(40))
    qbo_expense_account_id: Mapped[str | None] = mapped_column(String(40))
    qbo_asset_account_id: Mapped[str | None] = mapped_column(String(40))
    qbo_default_item_type: Mapped[str] = mapped_column(String(20), default="NonInventory")

    lifecycle_policy: Mapped[str] = mapped_column(
        String(10), default="ignore", server_default="ignore"
    )
    # Set when one poll (or full sync) saw more of the catalog archived than the mass-archive
    # guard allows: the account's archiving jobs then park until an operator releases them.
    lifecycle_held_at: Mapped[datetime | None]
    lifecycle_hold_reason: Mapped[str | None] = mapped_column(Text)

    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
