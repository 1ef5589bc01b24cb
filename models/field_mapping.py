"""Per-account field mappings: which HubSpot property feeds which QBO Item field.

Stored in the vendors' own vocabulary (``hs_sku`` ↔ ``Sku``); one row per pair, unique per
account on each side so no field is written from two sources. Validated when saved
(`workers.engine.accounts.set_mappings`), never trusted blindly at sync time.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, utcnow

CONVERTERS = ("name", "sku", "text", "description", "money", "product_type")


class FieldMappingRow(Base):
    __tablename__ = "field_mappings"
    __table_args__ = (
        UniqueConstraint("account_id", "hubspot_field"),
        UniqueConstraint("account_id", "quickbooks_field"),
        CheckConstraint(
            "converter IN ('name', 'sku', 'text', 'description', 'money', 'product_type')",
            name="converter",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    hubspot_field: Mapped[str] = mapped_column(String(100))
    quickbooks_field: Mapped[str] = mapped_column(String(100))
    converter: Mapped[str] = mapped_column(String(20))
    position: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
