"""The history: one row per product sync attempt, what users read to see what happened.

``status`` is how the attempt ended (``succeeded``, ``failed``, ``skipped``, or
``retrying``/``parked`` for an attempt that will be tried again); ``action`` is what it did
to the destination. ``changes`` maps each written field to ``[before, after]`` (JSON-safe
strings for money). Never holds secrets: error messages come from `SyncError.message`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, String, Text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, utcnow

HISTORY_STATUSES = ("succeeded", "failed", "skipped", "retrying", "parked")
# `archived`/`restored`: the lifecycle policy `mirror` archived (HubSpot) or inactivated
# (QuickBooks) the destination product, or made it active again; `configured`: an account
# setting that changes what is synced (the lifecycle policy, a mass-archive hold).
HISTORY_ACTIONS = (
    "created",
    "updated",
    "unchanged",
    "failed",
    "skipped",
    "archived",
    "restored",
    "configured",
)


class HistoryEntry(Base):
    __tablename__ = "sync_history"
    __table_args__ = (
        CheckConstraint(
            "status IN ('succeeded', 'failed', 'skipped', 'retrying', 'parked')", name="status"
        ),
        CheckConstraint(
            "action IN ('created', 'updated', 'unchanged', 'failed', 'skipped', 'archived', "
            "'restored', 'configured')",
            name="action",
        ),
        Index("ix_sync_history_account_time", "account_id", "finished_at"),
        Index("ix_sync_history_sku", "account_id", "sku"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    run_id: Mapped[int | None] = mapped_column(
        ForeignKey("sync_runs.id", ondelete="SET NULL"), index=True
    )
    job_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("jobs.id", ondelete="SET NULL"), index=True
    )
    direction: Mapped[str] = mapped_column(String(40))
    attempt: Mapped[int] = mapped_column(default=1)
    status: Mapped[str] = mapped_column(String(20))
    action: Mapped[str] = mapped_column(String(20))
    sku: Mapped[str | None] = mapped_column(String(200))
    hubspot_id: Mapped[str | None] = mapped_column(String(64))
    quickbooks_id: Mapped[str | None] = mapped_column(String(64))
    error_code: Mapped[str | None] = mapped_column(String(60))
    error_message: Mapped[str | None] = mapped_column(Text)
    vendor_code: Mapped[str | None] = mapped_column(String(40))
    changes: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    details: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime] = mapped_column(default=utcnow)
