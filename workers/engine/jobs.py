"""Job rows: inserting them idempotently and claiming them with a lease.

A claim is one conditional UPDATE: it succeeds only for a job that is pending and due, or
running with an expired lease. Two deliveries of the same message race on that UPDATE
and exactly one wins; the loser returns without doing anything.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from models import Job, utcnow
from workers.engine.context import Dispatch
from workers.engine.outcomes import new_request_id

# A message may arrive a little before the row's due time (clock skew between hosts).
EARLY_TOLERANCE = timedelta(seconds=2)


@dataclass(frozen=True)
class NewJob:
    source_id: str
    source_updated_at: datetime | None


def insert_jobs(
    session: Session,
    *,
    account_id: int,
    source_system: str,
    reason: str,
    queue: str,
    changes: Iterable[NewJob],
    run_id: int | None = None,
    chunk: int = 500,
) -> list[Dispatch]:
    """Insert one pending job per change; re-inserts are silently ignored (the uniqueness
    rules on `models.job`). Returns the jobs that are new, to enqueue after commit."""
    now = utcnow()
    rows: list[dict[str, Any]] = [
        {
            "account_id": account_id,
            "run_id": run_id,
            "source_system": source_system,
            "source_id": c.source_id,
            "source_updated_at": c.source_updated_at,
            "reason": reason,
            "queue": queue,
            "status": "pending",
            "attempts": 0,
            "next_attempt_at": now,
            "enqueued_at": now,
            "request_id": new_request_id(),
            "request_generation": 0,
            "created_at": now,
            "updated_at": now,
        }
        for c in changes
    ]
    created: list[Dispatch] = []
    for start in range(0, len(rows), chunk):
        stmt = (
            insert(Job)
            .values(rows[start : start + chunk])
            .on_conflict_do_nothing()
            .returning(Job.id, Job.queue)
        )
        created.extend(Dispatch(job_id, q) for job_id, q in session.execute(stmt))
    return created


def claim_many(
    session: Session,
    job_ids: Sequence[int],
    *,
    owner: str,
    lease_seconds: float,
    max_attempts: int,
) -> list[Job]:
    """Take each job for one attempt (attempts += 1) in one UPDATE; returns those this
    owner took, in id order. Not taken: a job someone else has, one that is finished or
    not due yet (a duplicate or early delivery), or one whose attempts budget is spent
    (the sweeper fails it; a job that kills its process every time must not get one more
    try from a redelivered message)."""
    now = utcnow()
    stmt = (
        update(Job)
        .where(
            Job.id.in_(list(job_ids)),
            Job.attempts < max_attempts,
            or_(
                # A parked job whose time has come is claimable too: a chunk deferred on
                # an open circuit comes back by its own countdown, not by the sweeper.
                Job.status.in_(("pending", "parked"))
                & (Job.next_attempt_at <= now + EARLY_TOLERANCE),
                (Job.status == "running") & (Job.lease_expires_at < now),
            ),
        )
        .values(
            status="running",
            attempts=Job.attempts + 1,
            lease_owner=owner,
            lease_expires_at=now + timedelta(seconds=lease_seconds),
            park_reason=None,
            updated_at=now,
        )
        .returning(Job)
        .execution_options(synchronize_session=False)
    )
    return sorted(session.execute(stmt).scalars().all(), key=lambda j: j.id)


def release(session: Session, job_ids: Sequence[int], *, owner: str) -> list[int]:
    """Give claimed jobs back unstarted: pending and due, the claim's attempt not counted.
    Returns those that were still ours."""
    return defer(session, job_ids, owner=owner, until=utcnow())


def defer(
    session: Session,
    job_ids: Sequence[int],
    *,
    owner: str,
    until: datetime,
    reason: str | None = None,
    unwritten: bool = False,
) -> list[int]:
    """Give claimed jobs back to wait until ``until``, the claim's attempt not counted (a
    wait is not a try): pending, or parked with ``reason`` (a code, shown by `status`).
    ``unwritten``: the caller knows nothing was written for them (the rate budget, a 429
    or an open circuit refused the call), so a create noted as started is not one.
    Returns the ids that were still ours."""
    values: dict[str, Any] = {
        "status": "parked" if reason else "pending",
        "park_reason": reason,
        "attempts": Job.attempts - 1,
        "lease_owner": None,
        "lease_expires_at": None,
        "next_attempt_at": until,
        # The message comes back at `until`; the sweeper waits a lease past it.
        "enqueued_at": until,
        "updated_at": utcnow(),
    }
    if unwritten:
        values["write_started_at"] = None
    result = session.execute(
        update(Job)
        .where(Job.id.in_(list(job_ids)), Job.status == "running", Job.lease_owner == owner)
        .values(**values)
        .returning(Job.id)
    )
    return sorted(result.scalars().all())


def renew(session: Session, job_ids: Sequence[int], *, owner: str, lease_seconds: float) -> int:
    """Extend the lease of the jobs this owner still holds; returns how many."""
    result = session.execute(
        update(Job)
        .where(Job.id.in_(list(job_ids)), Job.status == "running", Job.lease_owner == owner)
        .values(lease_expires_at=utcnow() + timedelta(seconds=lease_seconds))
    )
    return int(result.rowcount)


def mark_write_started(session: Session, job_id: int, *, owner: str) -> bool:
    """Note, before a create call, that a write may happen (fenced by the lease)."""
    return job_id in mark_writes_started(session, [job_id], owner=owner)


def mark_writes_started(session: Session, job_ids: Sequence[int], *, owner: str) -> set[int]:
    """`mark_write_started` for many jobs in one UPDATE: the ids still ours."""
    result = session.execute(
        update(Job)
        .where(Job.id.in_(list(job_ids)), Job.status == "running", Job.lease_owner == owner)
        .values(write_started_at=utcnow())
        .returning(Job.id)
    )
    return set(result.scalars().all())


def rotate_request_id(session: Session, job_id: int, *, owner: str) -> str | None:
    """A fresh request id once the previous write's outcome is known (e.g. after 6240)."""
    request_id = new_request_id()
    result = session.execute(
        update(Job)
        .where(Job.id == job_id, Job.lease_owner == owner)
        .values(request_id=request_id, request_generation=Job.request_generation + 1)
    )
    return request_id if result.rowcount == 1 else None
