"""Jobs: one row per product change to sync. Postgres is the record, Redis the doorbell.

A Celery message carries only a job id. Workers *claim* a job with a conditional UPDATE
that sets a lease; a second delivery of the same message finds nothing to claim. The
sweeper re-enqueues jobs whose message may have been lost (pending and due, or running
with an expired lease).

Uniqueness (what makes re-inserts no-ops, ``INSERT … ON CONFLICT DO NOTHING``):

- a poll or webhook job is unique per (account, source system, source id, source
  updated_at): the overlap window re-sees the same change many times, a vendor delivers
  a webhook twice, or a webhook and then the poll report the same change: it becomes one
  job; a *newer* change of the same product is a new job (never swallowed by an older
  running one);
- a full-sync job is unique per (run, source id): a redelivered enumeration adds nothing.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, utcnow

JOB_STATUSES = ("pending", "running", "succeeded", "failed", "parked", "skipped")
OPEN_STATUSES = ("pending", "running", "parked")
JOB_REASONS = ("poll", "webhook", "full_sync", "retry", "manual")


class Job(Base):
    __tablename__ = "jobs"
    __table_args__ = (
        CheckConstraint(
            "status IN ('pending', 'running', 'succeeded', 'failed', 'parked', 'skipped')",
            name="status",
        ),
        CheckConstraint(
            "reason IN ('poll', 'webhook', 'full_sync', 'retry', 'manual')", name="reason"
        ),
        CheckConstraint("source_system IN ('hubspot', 'quickbooks')", name="source_system"),
        CheckConstraint("queue IN ('sync', 'bulk')", name="queue"),
        Index(
            "uq_jobs_poll_change",
            "account_id",
            "source_system",
            "source_id",
            "source_updated_at",
            unique=True,
            postgresql_where=text("reason IN ('poll', 'webhook')"),
        ),
        Index(
            "uq_jobs_run_source",
            "run_id",
            "source_id",
            unique=True,
            postgresql_where=text("reason = 'full_sync'"),
        ),
        Index("ix_jobs_sweep", "status", "next_attempt_at"),
        Index("ix_jobs_account_status", "account_id", "status"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    run_id: Mapped[int | None] = mapped_column(
        ForeignKey("sync_runs.id", ondelete="SET NULL"), index=True
    )
    source_system: Mapped[str] = mapped_column(String(20))
    source_id: Mapped[str] = mapped_column(String(64))
    # What the poll saw; the worker always re-fetches the current product anyway.
    source_updated_at: Mapped[datetime | None]
    reason: Mapped[str] = mapped_column(String(20))
    queue: Mapped[str] = mapped_column(String(20), default="sync")
    status: Mapped[str] = mapped_column(String(20), default="pending")
    attempts: Mapped[int] = mapped_column(default=0)
    lease_owner: Mapped[str | None] = mapped_column(String(120))
    lease_expires_at: Mapped[datetime | None]
    # Due time; also when a delayed retry message is expected (the sweeper waits a lease
    # past `enqueued_at` before assuming a message was lost).
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    enqueued_at: Mapped[datetime | None]
    park_reason: Mapped[str | None] = mapped_column(String(40))
    # Stable per logical write (QBO `requestid`); rotated only once an outcome is known.
    request_id: Mapped[str] = mapped_column(String(64))
    request_generation: Mapped[int] = mapped_column(default=0)
    # Set (and committed) before a create call: a retry after an unknown outcome waits
    # for the vendor's search index to settle before trusting "not found".
    write_started_at: Mapped[datetime | None]
    error_code: Mapped[str | None] = mapped_column(String(60))
    error_message: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
