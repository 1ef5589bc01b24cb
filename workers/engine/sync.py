"""sync_product: one attempt at one job, from claim to recorded outcome.

::

    claim (conditional UPDATE + lease; nothing to claim → duplicate delivery → return)
    fetch the CURRENT source product → archived/inactive: skipped `source_archived`
    map (DataError → terminal) → source SKU shared with another product → terminal
    per-(account, SKU) lock (busy → retry)
    resolve + write (`workers.engine.upsert`)
    ONE transaction, still under the lock: link + history row + job outcome + run
    progress (the job row fenced by the lease owner)

Errors decide what happens next (design §3): retryable → pending again after a backoff
with full jitter (Retry-After as a floor) and a Celery countdown of the same length;
long waits and `ParkedError` → parked in Postgres for the sweeper; terminal → failed
with code and message. The source system is only ever read.

Decisions: an archived (HubSpot) or inactive (QBO) source product is *skipped* with a
history row (`source_archived`) unless the account's lifecycle policy is `mirror`
(`workers.engine.lifecycle`): deactivating in the destination is a destructive act the
user opts into. Jobs of a direction that is no longer active are *skipped*
(`direction_changed`) so nothing is ever written back into the old source.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from models import Account, Job, utcnow
from models.db import session_scope
from workers.catalog.port import Catalog, Direction, Record, destination_of
from workers.engine import jobs, lifecycle
from workers.engine.account_view import load_mappings
from workers.engine.backoff import backoff_delay, should_park
from workers.engine.conflicts import duplicate_sku
from workers.engine.context import SyncContext
from workers.engine.guards import Skip, check_source_active, check_still_current
from workers.engine.lifecycle_policy import mirrors
from workers.engine.links import NewLink, link_for, linked_id, save_links
from workers.engine.locks import sku_lock
from workers.engine.outcomes import Attempt, record_attempt
from workers.engine.sweep import mark_queue_busy
from workers.engine.upsert import LeaseLost, Upsert, Written
from workers.errors import (
    DataError,
    LockBusy,
    ParkedError,
    RetryableError,
    SyncError,
    TerminalError,
    TransientError,
)
from workers.mapping import FieldMapping, Mapped, fingerprint, map_product

log = logging.getLogger(__name__)

LOCK_BUSY_RETRY_SECONDS = 1.0


@dataclass(frozen=True)
class Claimed:
    job: Job
    account: Account
    mappings: tuple[FieldMapping, ...]


@dataclass(frozen=True)
class SyncResult:
    """What the task does next: nothing, or ask Celery to retry after ``retry_in`` s."""

    outcome: str  # an action, "retrying", "parked", "duplicate" or "lease_lost"
    retry_in: float | None = None


def sync_product(ctx: SyncContext, job_id: int) -> SyncResult:
    owner = f"{ctx.worker_id}:{uuid.uuid4().hex[:8]}"
    claimed = claim_jobs(ctx, [job_id], owner)
    if not claimed:
        return SyncResult("duplicate")
    return run_claimed(ctx, claimed[0], owner, Lookup())


class Lookup:
    """How an attempt reads the vendors before writing: one call per product here; the
    bulk path (`workers.engine.bulk`) answers from reads it made for a whole chunk."""

    def current(self, source: Catalog, source_id: str) -> Record | None:
        return source.get(source_id)

    def sharing_sku(self, source: Catalog, sku: str) -> list[Record]:
        """The source's active products with this SKU."""
        return source.find_by_sku(sku, include_inactive=False)

    def linked(self, destination: Catalog, record_id: str) -> Record | None:
        return destination.get(record_id)

    def candidates(self, sku: str) -> list[Record] | None:
        """The destination's products with this SKU when known, else None (search)."""
        return None


def run_claimed(ctx: SyncContext, claimed: Claimed, owner: str, lookup: Lookup) -> SyncResult:
    """One attempt at a claimed job, to its recorded outcome."""
    mark_queue_busy(ctx, claimed.job.queue)
    attempt = new_attempt(claimed)
    try:
        written = _attempt(ctx, claimed, attempt, owner, lookup)
    except Exception as exc:
        return settle(ctx, attempt, owner, exc)
    return SyncResult(written.action)


def new_attempt(claimed: Claimed) -> Attempt:
    attempt = Attempt(job=claimed.job, direction=claimed.account.direction)
    attempt.set_id(claimed.job.source_system, claimed.job.source_id)
    return attempt


def settle(ctx: SyncContext, attempt: Attempt, owner: str, exc: Exception) -> SyncResult:
    """Record what an attempt that ended in ``exc`` means for its job (design §3)."""
    if isinstance(exc, LeaseLost):
        return SyncResult("lease_lost")
    if isinstance(exc, Skip):
        return _finish(ctx, attempt, owner, "skipped", exc.error)
    if isinstance(exc, TerminalError):
        return _finish(ctx, attempt, owner, "failed", exc)
    if isinstance(exc, ParkedError):
        return _park(ctx, attempt, owner, exc)
    if isinstance(exc, RetryableError):
        return _retry(ctx, attempt, owner, exc)
    # A bug or an infrastructure fault: retried within budget.
    log.error("job %s: unexpected %s", attempt.job.id, type(exc).__name__, exc_info=exc)
    err = TransientError(f"Internal error ({type(exc).__name__}).", code="internal_error")
    return _retry(ctx, attempt, owner, err)


def claim_jobs(
    ctx: SyncContext, job_ids: Sequence[int], owner: str, *, lease_seconds: float | None = None
) -> list[Claimed]:
    """The claims and everything their attempts read from Postgres, in one transaction;
    in id order. A job of a deleted account stays running: the sweeper closes it."""
    with session_scope(ctx.database_url) as session:
        taken = jobs.claim_many(
            session,
            job_ids,
            owner=owner,
            lease_seconds=lease_seconds or ctx.settings.job_lease_seconds,
            max_attempts=ctx.settings.max_attempts,
        )
        accounts: dict[int, Account | None] = {}
        mappings: dict[int, tuple[FieldMapping, ...]] = {}
        for account_id in {j.account_id for j in taken}:
            accounts[account_id] = account = session.get(Account, account_id)
            if account is not None:
                mappings[account_id] = load_mappings(session, account_id)
        return [
            Claimed(job, account, mappings[job.account_id])
            for job in taken
            if (account := accounts[job.account_id]) is not None
        ]


def read_and_map(
    ctx: SyncContext, claimed: Claimed, attempt: Attempt, lookup: Lookup
) -> tuple[Catalog, Record, Mapped]:
    """The source catalog, the CURRENT source product and its mapping, or `Skip` (account
    gone, other direction, archived source) or a mapping refusal (`DataError`)."""
    job, account = claimed.job, claimed.account
    check_still_current(account, job)
    source = ctx.catalogs(job.source_system, account.id)  # type: ignore[arg-type]
    fetched = lookup.current(source, job.source_id)
    if lifecycle.is_retired(account, job.source_id, fetched):
        raise lifecycle.Retire(fetched)
    current = check_source_active(job, fetched)
    attempt.sku = current.sku  # as stored, so a refused product is findable by SKU
    mapped = map_product(current, claimed.mappings, account.direction)  # type: ignore[arg-type]
    attempt.sku = mapped.sku
    attempt.notes.extend(mapped.notes)
    return source, current, mapped


def sku_busy() -> LockBusy:
    # A wait, not a failed try: the holder's lock ends with its lease at the latest (a
    # worker that lost Redis mid-attempt leaves it behind until then).
    return LockBusy(
        "Another worker is syncing this SKU right now.",
        retry_after=LOCK_BUSY_RETRY_SECONDS,
        waiting=True,
    )


def _attempt(
    ctx: SyncContext, claimed: Claimed, attempt: Attempt, owner: str, lookup: Lookup
) -> Written:
    job, account = claimed.job, claimed.account
    direction: Direction = account.direction  # type: ignore[assignment]
    try:
        source, current, mapped = read_and_map(ctx, claimed, attempt, lookup)
    except lifecycle.Retire as retired:
        source = ctx.catalogs(job.source_system, account.id)  # type: ignore[arg-type]
        return lifecycle.retire(ctx, account, attempt, owner, source, retired.current)
    destination = ctx.catalogs(destination_of(direction), account.id)
    if lifecycle.needs_lifecycle(account, current):
        lifecycle.absorb(ctx, account, attempt, owner, source, current)
    check_unique_in_source(source, current, mapped.sku, lookup)
    lock = sku_lock(ctx.redis, account.id, mapped.sku, ttl_seconds=ctx.settings.job_lease_seconds)
    if not lock.acquire():
        raise sku_busy()
    try:
        # The link is read under the lock, not at the claim: another job for this product
        # may have created it meanwhile, and a lagging search would not show that create.
        linked = _linked_target(ctx, job, destination.system)
        target = lookup.linked(destination, linked) if linked else None
        upsert = Upsert(
            settings=ctx.settings,
            database_url=ctx.database_url,
            account=account,
            direction=direction,
            source=source,
            destination=destination,
            attempt=attempt,
            owner=owner,
            lock=lock,
        )
        if mirrors(account) and linked and (target is None or not target.active):
            # Active in the source, archived or inactive in the destination: restored.
            written = upsert.restore(mapped, target)
        else:
            written = upsert.run(mapped, target, candidates=lookup.candidates(mapped.sku))
        # Recorded before the lock is released: the next holder must find the link (a
        # search might not show our create yet).
        with session_scope(ctx.database_url) as session:
            if written.destination is not None:
                attempt.set_id(destination.system, written.destination.id)
                link = NewLink(
                    source_id=current.id,
                    destination_id=written.destination.id,
                    sku=mapped.sku,
                    fingerprint=fingerprint(mapped),
                    written=written.action != "unchanged",
                )
                save_links(
                    session, account_id=account.id, source_system=source.system, links=[link]
                )
            record_attempt(
                session, attempt, owner=owner, job_status="succeeded", action=written.action
            )
    finally:
        lock.release()
    return written


def check_unique_in_source(source: Catalog, current: Record, sku: str, lookup: Lookup) -> None:
    """Refuse a SKU another active source product carries too (which one is meant?)."""
    others = [
        r.id
        for r in lookup.sharing_sku(source, sku)
        if r.sku == sku and r.id != current.id and r.active
    ]
    if others:
        raise duplicate_sku(source.system, sku, [current.id, *others], source=True)


def _linked_target(ctx: SyncContext, job: Job, system: str) -> str | None:
    with session_scope(ctx.database_url) as session:
        link = link_for(session, job.account_id, job.source_system, job.source_id)  # type: ignore[arg-type]
        return linked_id(link, system) if link else None


def _finish(
    ctx: SyncContext, attempt: Attempt, owner: str, status: str, error: SyncError
) -> SyncResult:
    action = "skipped" if status == "skipped" else "failed"
    with session_scope(ctx.database_url) as session:
        record_attempt(
            session,
            attempt,
            owner=owner,
            job_status=status,
            action=action,
            error=error,  # type: ignore[arg-type]
        )
    return SyncResult(action)


def _retry(ctx: SyncContext, attempt: Attempt, owner: str, err: RetryableError) -> SyncResult:
    s = ctx.settings
    job = attempt.job
    if should_park(err.retry_after, cap=s.retry_cap_seconds):
        return _park(ctx, attempt, owner, err, wait=err.retry_after)
    # Waiting for a rate limit (ours or the vendor's 429) or for another worker's SKU
    # lock is not a failed try: a storm across many jobs must not exhaust them.
    waiting = err.waiting
    if not waiting and job.attempts >= s.max_attempts:
        exhausted = DataError(
            f"Gave up after {job.attempts} attempts: {err.message}",
            code="attempts_exhausted",
            vendor_code=err.vendor_code,
            system=err.system,
            details={"last_error": err.code},
        )
        return _finish(ctx, attempt, owner, "failed", exhausted)
    delay = backoff_delay(
        job.attempts,
        base=s.retry_base_seconds,
        cap=s.retry_cap_seconds,
        retry_after=err.retry_after,
    )
    with session_scope(ctx.database_url) as session:
        record_attempt(
            session,
            attempt,
            owner=owner,
            job_status="pending",
            action="failed",
            error=err,
            next_attempt_at=utcnow() + timedelta(seconds=delay),
            # A timeout may have reached the vendor: keep the request id so a replay is
            # recognised. Any other retryable answer means the write did not happen.
            rotate_request=not isinstance(err, TransientError),
            refund_attempt=waiting,
        )
    return SyncResult("retrying", retry_in=delay)


def _park(
    ctx: SyncContext,
    attempt: Attempt,
    owner: str,
    err: SyncError,
    *,
    wait: float | None = None,
) -> SyncResult:
    until: datetime | None = getattr(err, "until", None)
    if wait is not None:
        until = utcnow() + timedelta(seconds=wait)
    elif until is None:
        # No known end (e.g. needs_reauth): look again after the longest countdown.
        until = utcnow() + timedelta(seconds=ctx.settings.retry_cap_seconds)
    with session_scope(ctx.database_url) as session:
        record_attempt(
            session,
            attempt,
            owner=owner,
            job_status="parked",
            action="failed",
            error=err,
            next_attempt_at=until,
        )
    return SyncResult("parked")
