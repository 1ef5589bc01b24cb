"""Sync runs: one poll that found changes, or one full sync, with live progress counts.

Counters are bumped in the same transaction that records each job's outcome, so they are
readable (and exact) while the run is going. A run is ``enumerating`` while a full sync
is still listing products, then ``running`` until done == total, then ``finished``.

A run that meets a passing condition (an open circuit, a daily quota, a long Retry-After,
a token that needs reconnecting) is ``waiting``: ``wait_reason`` says why and
``next_attempt_at`` when it is tried again (see `workers.engine.run_wait`). Only a
terminal error makes a run ``failed``. A poll that must wait leaves one ``waiting`` run
of kind ``poll`` (no jobs) for its account, removed by the next poll that gets through.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, utcnow


class SyncRun(Base):
    __tablename__ = "sync_runs"
    __table_args__ = (
        CheckConstraint("kind IN ('poll', 'full_sync')", name="kind"),
        CheckConstraint(
            "status IN ('enumerating', 'waiting', 'running', 'finished', 'failed')",
            name="status",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(20))
    direction: Mapped[str] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(20), default="running")
    total: Mapped[int] = mapped_column(default=0)
    done: Mapped[int] = mapped_column(default=0)  # every finished job, whatever the outcome
    created: Mapped[int] = mapped_column(default=0)
    updated: Mapped[int] = mapped_column(default=0)
    unchanged: Mapped[int] = mapped_column(default=0)
    failed: Mapped[int] = mapped_column(default=0)
    skipped: Mapped[int] = mapped_column(default=0)
    error_message: Mapped[str | None] = mapped_column(Text)
    wait_reason: Mapped[str | None] = mapped_column(Text)
    next_attempt_at: Mapped[datetime | None]
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]
