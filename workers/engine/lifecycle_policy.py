"""An account's lifecycle policy and its mass-archive hold, as the operator sets them.

The policy (`ignore` or `mirror`) says whether an archive, restore, deletion or merge in
the source reaches the destination (`workers.engine.lifecycle` does the work). Under
`mirror`, the mass-archive guard watches each poll and full sync: when one of them sees
more of the account's linked products archived than ``PRODUCTSYNC_MASS_ARCHIVE_PERCENT``
(and at least ``PRODUCTSYNC_MASS_ARCHIVE_MINIMUM``), the account is *held*: its archiving
jobs park (`mass_archive`) instead of deactivating half a catalog because of an import
gone wrong or a script run against the wrong portal. A person then looks and either
releases the hold (the parked archives go ahead) or sets the policy to `ignore` (they end
skipped, the destination untouched). Every change here is a history row of the account
(action `configured`, or `skipped`/`parked` for the hold itself), like any other change.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.orm import Session

from models import Account, HistoryEntry, Job, ProductLink, utcnow
from models.account import LIFECYCLE_POLICIES
from workers.catalog.port import source_of
from workers.engine.conflicts import label
from workers.engine.context import Dispatch
from workers.settings import Settings

HOLD_CODE = "mass_archive"
# A held archive looks again after this long (its history then says it is still held);
# a release makes it due at once.
HELD_RECHECK = timedelta(days=1)


def mirrors(account: Account) -> bool:
    return account.lifecycle_policy == "mirror"


def trips(settings: Settings, retired: int, linked: int) -> bool:
    """Whether ``retired`` archives seen at once, among ``linked`` linked products, are a
    mass archive: at least the minimum, and more than the share."""
    return (
        retired >= settings.mass_archive_minimum
        and retired * 100 > linked * settings.mass_archive_percent
    )


def linked_count(session: Session, account_id: int) -> int:
    """The catalog the guard measures against: the products the service links."""
    return int(
        session.scalar(
            select(func.count())
            .select_from(ProductLink)
            .where(ProductLink.account_id == account_id)
        )
        or 0
    )


def guard(
    session: Session, settings: Settings, account_id: int, retired: int, *, seen_by: str
) -> bool:
    """Hold the account when ``retired`` archives seen by one poll or full sync
    (``seen_by``) are a mass archive. In the caller's transaction, the one that inserts
    their jobs, so no job of them can run before the hold. Returns True when held now."""
    if retired <= 0:
        return False
    account = session.get(Account, account_id, with_for_update=True)
    if account is None or not mirrors(account) or account.lifecycle_held_at is not None:
        return False
    linked = linked_count(session, account_id)
    if not trips(settings, retired, linked):
        return False
    source = label(source_of(account.direction))  # type: ignore[arg-type]
    reason = (
        f"{seen_by} saw {retired} of the {linked} linked products archived or deleted in "
        f"{source} at once (more than {settings.mass_archive_percent} %): archiving them in "
        f"the destination is held. Check {source}; then `productsync accounts set "
        f"{account.name} --release-held` archives them, or `--lifecycle ignore` leaves the "
        "destination as it is."
    )
    account.lifecycle_held_at = utcnow()
    account.lifecycle_hold_reason = reason
    account_event(
        session,
        account,
        status="parked",
        action="skipped",
        code=HOLD_CODE,
        message=reason,
        details={"retired": retired, "linked": linked, "seen_by": seen_by},
    )
    return True


def set_policy(session: Session, account: Account, policy: str, *, by: str) -> list[Dispatch]:
    """Change the policy (a history row says so). Leaving `mirror` also ends a hold: the
    held jobs run again and, under `ignore`, end skipped. Returns jobs to announce."""
    if policy not in LIFECYCLE_POLICIES:
        raise ValueError(f"lifecycle policy must be one of {', '.join(LIFECYCLE_POLICIES)}")
    before = account.lifecycle_policy
    if policy == before:
        return []
    account.lifecycle_policy = policy
    account_event(
        session,
        account,
        status="succeeded",
        action="configured",
        message=f"Lifecycle policy changed from {before} to {policy} ({by}).",
        changes={"lifecycle_policy": [before, policy]},
    )
    if policy != "mirror" and account.lifecycle_held_at is not None:
        return release(session, account, by=by)
    return []


def release(session: Session, account: Account, *, by: str) -> list[Dispatch]:
    """End the hold: the parked archives are due now. Returns them, to announce after
    commit. Nothing held: nothing happens (no history row)."""
    if account.lifecycle_held_at is None:
        return []
    reason = account.lifecycle_hold_reason
    account.lifecycle_held_at = None
    account.lifecycle_hold_reason = None
    now = utcnow()
    rows = session.execute(
        update(Job)
        .where(
            Job.account_id == account.id,
            Job.status == "parked",
            Job.park_reason == HOLD_CODE,
        )
        .values(status="pending", park_reason=None, next_attempt_at=now, enqueued_at=now)
        .returning(Job.id, Job.queue, Job.run_id)
    ).all()
    account_event(
        session,
        account,
        status="succeeded",
        action="configured",
        message=f"Mass-archive hold released ({by}): {len(rows)} held jobs run now.",
        changes={"lifecycle_hold": [reason, None]},
    )
    return [
        Dispatch(job_id, queue, run_id if queue == "bulk" else None)
        for job_id, queue, run_id in rows
    ]


def account_event(
    session: Session,
    account: Account,
    *,
    status: str,
    action: str,
    message: str,
    code: str | None = None,
    changes: dict[str, Any] | None = None,
    details: dict[str, Any] | None = None,
    product: dict[str, str | None] | None = None,
) -> None:
    """A history row outside any job: about the account (no SKU, no ids), or about a
    product another product's job acted on (``product``: its sku and ids)."""
    now = utcnow()
    session.execute(
        insert(HistoryEntry).values(
            account_id=account.id,
            direction=account.direction,
            attempt=0,
            **(product or {}),
            status=status,
            action=action,
            error_code=code,
            error_message=message,
            changes=changes,
            details=details,
            started_at=now,
            finished_at=now,
        )
    )
