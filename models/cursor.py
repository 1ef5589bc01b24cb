"""Poll cursors: how far each account's source has been read. Advanced by compare-and-set.

A cursor only moves in the same transaction that inserts the job rows for every change
up to its new value (G4), and only when ``version`` still holds the value the poller
read; a concurrent poller that lost the race commits nothing.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, utcnow


class Cursor(Base):
    __tablename__ = "cursors"
    __table_args__ = (
        UniqueConstraint("account_id", "source_system"),
        CheckConstraint("source_system IN ('hubspot', 'quickbooks')", name="source_system"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    source_system: Mapped[str] = mapped_column(String(20))
    value: Mapped[datetime]
    version: Mapped[int] = mapped_column(default=0)
    # Last completed poll (whether or not it moved the cursor): drives the beat tick.
    polled_at: Mapped[datetime | None]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
