"""Broker loss is noticed: when Redis comes back empty, every due job is announced again
at once, instead of waiting for the sweeper's idle-lease rule (the backstop).

A marker key lives in the broker's Redis, next to the queues. Whatever empties the
broker (a restart without persistence, a failover to an empty replica, a FLUSHALL)
takes the marker with the messages; a restart that reloads its data (append-only file)
brings both back. `rescue` sets the marker if it is missing (SET NX, so of two
watchers only one rescues) and, when it was missing, returns:

- every job that is pending and due, in either queue (the claim absorbs the duplicate
  of one whose message did survive, or that a poll announced since);
- every pending job due within a countdown (`retry_cap_seconds`): its message was a
  countdown (a retry, a chunk waiting out a rate limit), held by a worker as unacked,
  and gone with the broker's copy when that worker died too (the kombu crash after a
  restart does that). Announced again with the rest of its countdown; later ones never
  had a message, the sweeper sends them when due;
- every full sync still listing (its `full_sync` message may be gone too), or waiting
  out a parked error: the sweeper's message that resumes a waiting one may be what was
  lost, and it is sent again only ten leases later (`run_wait.RESEND_LEASES`). One
  still waiting lists again at once and waits again with the cause it finds (a vendor
  call at most; broker losses are rare).

The very first check after installation finds no marker either and announces the due
jobs once: harmless, for the same reason.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import redis
from sqlalchemy import func, select, update

from models import Job, SyncRun, utcnow
from models.db import session_scope
from workers.engine.context import Dispatch, SyncContext

log = logging.getLogger(__name__)

MARKER = "productsync:broker-marker"
BATCH = 2000  # jobs marked announced per transaction


@dataclass(frozen=True)
class Later:
    """Jobs to announce again after ``seconds`` (by then every one of them is due)."""

    jobs: list[Dispatch]
    seconds: float


@dataclass
class Rescue:
    """What the broker lost: jobs to announce again (``later``: after a countdown), and
    full syncs to list again."""

    jobs: list[Dispatch] = field(default_factory=list)
    runs: list[int] = field(default_factory=list)
    later: list[Later] = field(default_factory=list)


def broker_emptied(broker: redis.Redis) -> bool:
    """True when the marker was gone, i.e. the broker lost what it held; sets it again."""
    return bool(broker.set(MARKER, uuid.uuid4().hex, nx=True))


def rescue(ctx: SyncContext, broker: redis.Redis) -> Rescue:
    """When the broker lost its messages: the due jobs and listing runs (committed as
    announced now, so the sweeper does not send them again a lease later)."""
    if not broker_emptied(broker):
        return Rescue()
    horizon = timedelta(seconds=ctx.settings.retry_cap_seconds)
    found = Rescue()
    for job_id, queue, run_id, due in _pending_jobs(ctx, horizon):
        wait = (due - utcnow()).total_seconds()
        if wait <= 0:
            found.jobs.append(Dispatch(job_id, queue, run_id))
        else:
            found.later.append(Later([Dispatch(job_id, queue, run_id)], wait))
    found.later = _grouped(found.later)
    with session_scope(ctx.database_url) as session:
        found.runs = list(
            session.scalars(
                select(SyncRun.id).where(
                    SyncRun.kind == "full_sync", SyncRun.status.in_(("enumerating", "waiting"))
                )
            )
        )
    log.warning(
        "the broker lost its messages (marker gone): announcing %s due jobs, %s due within "
        "%.0f s and %s listing full syncs again",
        len(found.jobs),
        sum(len(group.jobs) for group in found.later),
        horizon.total_seconds(),
        len(found.runs),
    )
    return found


def _grouped(later: list[Later]) -> list[Later]:
    """Jobs due within the same second together (a chunk's retries are due at once)."""
    groups: dict[int, Later] = {}
    for one in later:
        second = int(one.seconds) + 1
        groups.setdefault(second, Later([], float(second))).jobs.extend(one.jobs)
    return [groups[second] for second in sorted(groups)]


def _pending_jobs(
    ctx: SyncContext, horizon: timedelta
) -> list[tuple[int, str, int | None, datetime]]:
    """Pending jobs due before ``horizon`` from now, marked announced (for when due)."""
    found: list[tuple[int, str, int | None, datetime]] = []
    last = 0
    while True:
        now = utcnow()
        with session_scope(ctx.database_url) as session:
            ids = list(
                session.scalars(
                    select(Job.id)
                    .where(
                        Job.status == "pending",
                        Job.next_attempt_at <= now + horizon,
                        Job.id > last,
                    )
                    .order_by(Job.id)
                    .limit(BATCH)
                    .with_for_update(skip_locked=True)
                )
            )
            if not ids:
                return found
            rows = session.execute(
                update(Job)
                .where(Job.id.in_(ids), Job.status == "pending")
                .values(enqueued_at=func.greatest(Job.next_attempt_at, now))
                .returning(Job.id, Job.queue, Job.run_id, Job.next_attempt_at)
            ).all()
        found += sorted((job_id, queue, run_id, due) for job_id, queue, run_id, due in rows)
        last = ids[-1]
