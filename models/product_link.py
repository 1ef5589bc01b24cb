"""Product links: which HubSpot product and which QBO item are the same product.

Resolution goes through the link by id first, so a SKU renamed in the source updates the
linked destination instead of orphaning it. ``fingerprint`` is the hash of the mapped
fields last written, for audits and cheap change checks.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, utcnow


class ProductLink(Base):
    __tablename__ = "product_links"
    __table_args__ = (
        UniqueConstraint("account_id", "hubspot_id"),
        UniqueConstraint("account_id", "quickbooks_id"),
        Index("ix_product_links_account_sku", "account_id", "sku"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    sku: Mapped[str] = mapped_column(String(200))
    hubspot_id: Mapped[str | None] = mapped_column(String(64))
    quickbooks_id: Mapped[str | None] = mapped_column(String(64))
    fingerprint: Mapped[str | None] = mapped_column(String(64))
    last_written_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
