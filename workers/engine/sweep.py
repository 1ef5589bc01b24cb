"""The sweeper: Postgres is the record, so anything Redis lost is found here.

Every sweep, in one transaction (rows locked with SKIP LOCKED so two sweepers split the
work instead of doubling it):

- running jobs whose lease expired (a worker died or hung) are made pending again, which
  also fences the old holder out: its outcome write is conditional on its lease;
- those that already used their attempts budget fail as ``attempts_exhausted`` (a job that
  kills its worker every time stops here), with a history row;
- parked jobs whose time has come become pending;
- pending jobs that are due and whose message is overdue by a whole lease (a lost publish,
  a flushed Redis) are announced again, unless their queue is visibly being worked
  through (a worker claimed a job from it within the last lease): a deep backlog is not
  a lost message, and re-announcing thousands of queued jobs every lease would only
  feed the workers duplicates. A message lost while its queue is busy is announced once
  the queue drains.

Re-announcing is always safe: the claim absorbs duplicates.
"""

from __future__ import annotations

import contextlib
from datetime import timedelta

import redis
from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from models import Account, Job, SyncRun, utcnow
from models.db import session_scope
from workers.engine.context import Dispatch, SyncContext
from workers.engine.outcomes import close_job

BATCH = 2000
QUEUES = ("sync", "bulk")
ACTIVE_KEY = "productsync:queue-busy:"
ENUMERATION_GRACE_LEASES = 10


def sweep(ctx: SyncContext) -> list[Dispatch]:
    """Fix up overdue jobs; returns the ones to announce (committed)."""
    s = ctx.settings
    now = utcnow()
    overdue = now - timedelta(seconds=s.job_lease_seconds)
    with session_scope(ctx.database_url) as session:
        rows = session.scalars(
            select(Job)
            .where(
                or_(
                    and_(Job.status == "running", Job.lease_expires_at < now),
                    and_(Job.status == "parked", Job.next_attempt_at <= now),
                    and_(
                        Job.status == "pending",
                        Job.queue.not_in(busy_queues(ctx)),
                        Job.next_attempt_at <= now,
                        or_(Job.enqueued_at.is_(None), Job.enqueued_at <= overdue),
                    ),
                )
            )
            .order_by(Job.next_attempt_at)
            .limit(BATCH)
            .with_for_update(skip_locked=True)
        ).all()
        announce: list[Dispatch] = []
        for job in rows:
            # The claim refuses a spent budget, so such a job can only end here.
            if job.status != "parked" and job.attempts >= s.max_attempts:
                _exhaust(session, job)
                continue
            job.status = "pending"
            job.lease_owner = None
            job.lease_expires_at = None
            job.park_reason = None
            job.enqueued_at = now
            job.next_attempt_at = min(job.next_attempt_at, now)
            announce.append(Dispatch(job.id, job.queue, job.run_id))
    return announce


def stalled_runs(ctx: SyncContext) -> list[int]:
    """Full syncs whose listing stopped: its message was probably lost (a flushed Redis)
    or its worker died. A listing beats (`full_sync.HEARTBEAT_LEASES`) at every slice it
    commits; one that never committed a slice is given a grace from its start. Announcing
    one again is safe: re-inserts are no-ops, only new jobs are announced."""
    now = utcnow()
    grace = timedelta(seconds=ENUMERATION_GRACE_LEASES * ctx.settings.job_lease_seconds)
    with session_scope(ctx.database_url) as session:
        return list(
            session.scalars(
                select(SyncRun.id).where(
                    SyncRun.status == "enumerating",
                    or_(
                        # The heartbeat lapsed (or a resumed wait's listing never beat).
                        SyncRun.next_attempt_at < now,
                        and_(SyncRun.next_attempt_at.is_(None), SyncRun.started_at < now - grace),
                    ),
                )
            )
        )


def mark_queue_busy(ctx: SyncContext, queue: str) -> None:
    """Called on every claim: the queue's messages are flowing (expires after a lease).
    Only a hint for the sweeper, so a Redis hiccup here never fails the job."""
    with contextlib.suppress(redis.RedisError):
        ctx.redis.set(ACTIVE_KEY + queue, 1, px=int(ctx.settings.job_lease_seconds * 1000))


def busy_queues(ctx: SyncContext) -> list[str]:
    return [q for q in QUEUES if ctx.redis.exists(ACTIVE_KEY + q)]


def _exhaust(session: Session, job: Job) -> None:
    account = session.get(Account, job.account_id)
    message = (
        f"Gave up after {job.attempts} attempts: the worker was lost each time "
        "(it crashed, was killed or timed out) before recording an outcome."
    )
    close_job(
        session,
        job,
        direction=account.direction if account else "",
        status="failed",
        code="attempts_exhausted",
        message=message,
    )
