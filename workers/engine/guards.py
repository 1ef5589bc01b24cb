"""Why a job is skipped instead of applied: checked at the claim and again before a write."""

from __future__ import annotations

from models import Account, Job
from workers.catalog.port import Record, source_of
from workers.engine.conflicts import label
from workers.errors import SyncError


class Skip(Exception):
    """The job must not be applied; recorded as ``skipped`` with ``error.code``."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.error = SyncError(message, code=code)


def check_still_current(account: Account | None, job: Job) -> None:
    """Raise `Skip` when the account is gone, disabled, or syncs the other way now (a
    job of the old direction must never write back into the old source)."""
    if account is None:
        raise Skip("account_deleted", "The account no longer exists.")
    if source_of(account.direction) != job.source_system:  # type: ignore[arg-type]
        raise Skip(
            "direction_changed",
            f"The account now syncs {account.direction.replace('_', ' ')}; this change in "
            f"{label(job.source_system)} belongs to the previous direction and is not applied.",
        )
    if not account.enabled:
        raise Skip("account_disabled", "The account is disabled; nothing was written.")


def check_source_active(job: Job, current: Record | None) -> Record:
    """The source product as it is now, or `Skip` when it is archived (HubSpot), inactive
    (QBO) or merged away, and the account's lifecycle policy is `ignore`: the destination
    is left as it is (under `mirror` the job has gone to `workers.engine.lifecycle`)."""
    # A HubSpot id merged into another product reads as that product: not this one.
    if current is None or not current.active or current.id != job.source_id:
        raise Skip(
            "source_archived",
            f"{label(job.source_system)} product {job.source_id} is archived or inactive; "
            "the account's lifecycle policy is ignore, so the destination product is left as "
            "it is.",
        )
    return current
