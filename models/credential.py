"""Vendor credentials per account. Token columns hold Fernet ciphertext, never clear text."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    ForeignKey,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, utcnow


class Credential(Base):
    __tablename__ = "credentials"
    __table_args__ = (
        UniqueConstraint("account_id", "system"),
        CheckConstraint("system IN ('hubspot', 'quickbooks')", name="system"),
        CheckConstraint("kind IN ('private_app', 'oauth')", name="kind"),
        CheckConstraint("status IN ('ok', 'needs_reauth')", name="status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    system: Mapped[str] = mapped_column(String(20))
    kind: Mapped[str] = mapped_column(String(20))
    access_token_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    refresh_token_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    access_expires_at: Mapped[datetime | None]
    refresh_expires_at: Mapped[datetime | None]
    scopes: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20), default="ok")
    status_reason: Mapped[str | None] = mapped_column(Text)
    # Bumped on every token change: lets a refresher detect that someone else refreshed.
    version: Mapped[int] = mapped_column(default=0)
    refreshed_at: Mapped[datetime | None]
    # Vendor-account facts the connectors need: rate-limit overrides for this account
    # (names of workers.ratelimit.limits builders; null = the vendor defaults) and the
    # vendor account's IANA time zone (HubSpot's daily limit resets at its midnight).
    rate_limits: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    time_zone: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
