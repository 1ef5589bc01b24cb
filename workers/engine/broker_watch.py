"""Broker loss is noticed: when Redis comes back empty, every due job is announced again
at once, instead of waiting for the sweeper's idle-lease rule (the backstop).

A marker key lives in the broker's Redis, next to the queues. Whatever empties the
broker (a restart without persistence, a failover to an empty replica, a FLUSHALL)
takes the marker with the messages; a restart that reloads its data (append-only file)
brings both back. `rescue` sets the marker if it is missing (SET NX, so of two
watchers only one rescues) and, when it was missing, returns:

- every job that is pending and due, in either queue (the claim absorbs the duplicate
  of one whose message did survive, or that a poll announced since);
- every full sync still listing (its `full_sync` message may be gone too).

The very first check after installation finds no marker either and announces the due
jobs once: harmless, for the same reason.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, field

import redis
from sqlalchemy import select, update

from models import Job, SyncRun, utcnow
from models.db import session_scope
from workers.engine.context import Dispatch, SyncContext

log = logging.getLogger(__name__)

MARKER = "productsync:broker-marker"
BATCH = 2000  # jobs marked announced per transaction


@dataclass
class Rescue:
    """What the broker lost: jobs to announce again, and full syncs to list again."""

    jobs: list[Dispatch] = field(default_factory=list)
    runs: list[int] = field(default_factory=list)


def broker_emptied(broker: redis.Redis) -> bool:
    """True when the marker was gone, i.e. the broker lost what it held; sets it again."""
    return bool(broker.set(MARKER, uuid.uuid4().hex, nx=True))


def rescue(ctx: SyncContext, broker: redis.Redis) -> Rescue:
    """When the broker lost its messages: the due jobs and listing runs (committed as
    announced now, so the sweeper does not send them again a lease later)."""
    if not broker_emptied(broker):
        return Rescue()
    found = Rescue(jobs=_due_jobs(ctx))
    with session_scope(ctx.database_url) as session:
        found.runs = list(
            session.scalars(select(SyncRun.id).where(SyncRun.status == "enumerating"))
        )
    log.warning(
        "the broker lost its messages (marker gone): announcing %s due jobs and %s "
        "listing full syncs again",
        len(found.jobs),
        len(found.runs),
    )
    return found


def _due_jobs(ctx: SyncContext) -> list[Dispatch]:
    found: list[Dispatch] = []
    last = 0
    while True:
        now = utcnow()
        with session_scope(ctx.database_url) as session:
            ids = list(
                session.scalars(
                    select(Job.id)
                    .where(Job.status == "pending", Job.next_attempt_at <= now, Job.id > last)
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
                .values(enqueued_at=now)
                .returning(Job.id, Job.queue, Job.run_id)
            ).all()
        found += [Dispatch(job_id, queue, run_id) for job_id, queue, run_id in sorted(rows)]
        last = ids[-1]
