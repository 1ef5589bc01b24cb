"""When the broker comes back empty, every due job is announced again at once."""

from __future__ import annotations

from datetime import timedelta

import pytest
import redis
from sqlalchemy import update

from models import Job, utcnow
from models.db import session_scope
from tests.engine.helpers import job
from workers.engine import Dispatch, SyncContext, rescue, start_full_sync
from workers.engine import broker_watch as watch
from workers.engine.jobs import NewJob, insert_jobs


def _jobs(ctx: SyncContext, account_id: int, queue: str, count: int) -> list[Dispatch]:
    with session_scope(ctx.database_url) as session:
        return insert_jobs(
            session,
            account_id=account_id,
            source_system="hubspot",
            reason="poll",
            queue=queue,
            changes=[NewJob(f"{queue}-{n}", utcnow()) for n in range(count)],
        )


def test_an_emptied_broker_gets_every_due_job_and_listing_run_again(
    ctx: SyncContext,
    account_id: int,
    redis_client: redis.Redis,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(watch, "BATCH", 3)  # several transactions
    assert watch.broker_emptied(redis_client)  # the first check sets the marker
    due = _jobs(ctx, account_id, "sync", 4) + _jobs(ctx, account_id, "bulk", 3)
    later, running, done = _jobs(ctx, account_id, "sync", 3)[:3]
    with session_scope(ctx.database_url) as session:
        session.execute(
            update(Job)
            .where(Job.id == later.job_id)
            .values(next_attempt_at=utcnow() + timedelta(minutes=5))
        )
        session.execute(update(Job).where(Job.id == running.job_id).values(status="running"))
        session.execute(update(Job).where(Job.id == done.job_id).values(status="succeeded"))
        run_id = start_full_sync(session, account_id).id
        # Waiting, announced by the sweeper once due: that message may be what was lost.
        waiting = start_full_sync(session, account_id)
        waiting.status, waiting.next_attempt_at = "waiting", utcnow() + timedelta(minutes=5)
        session.flush()
        waiting_id = waiting.id
    assert rescue(ctx, redis_client).jobs == []  # the marker is there: nothing was lost
    redis_client.flushall()  # what a restart without persistence does
    before = utcnow()
    rescued = rescue(ctx, redis_client)
    mine = {d.job_id for d in [*due, later, running, done]}  # other suites share the db
    assert sorted(d for d in rescued.jobs if d.job_id in mine) == sorted(due)
    assert {run_id, waiting_id} <= set(rescued.runs)
    assert all(job(ctx, d.job_id).enqueued_at >= before for d in due)  # type: ignore[operator]
    assert rescue(ctx, redis_client).jobs == []  # once per loss


def test_an_emptied_broker_gets_jobs_waiting_out_a_countdown_again_with_its_rest(
    ctx: SyncContext, account_id: int, redis_client: redis.Redis
) -> None:
    """A retry or a chunk's wait was a countdown message, held unacked by a worker: if
    that worker died with the broker's copy, nothing but the rescue sends it again (the
    sweeper waits for an idle queue, and a busy one may never be idle)."""
    watch.broker_emptied(redis_client)
    soon = _jobs(ctx, account_id, "sync", 2)
    due_in = {soon[0].job_id: 3, soon[1].job_id: 3}
    with session_scope(ctx.database_url) as session:
        for job_id, seconds in due_in.items():
            session.execute(
                update(Job)
                .where(Job.id == job_id)
                .values(next_attempt_at=utcnow() + timedelta(seconds=seconds), attempts=1)
            )
    redis_client.flushall()
    rescued = rescue(ctx, redis_client)
    mine = {d.job_id for d in soon}
    assert not [d for d in rescued.jobs if d.job_id in mine]  # not due: not now
    [later] = [group for group in rescued.later if mine & {d.job_id for d in group.jobs}]
    assert sorted(later.jobs) == sorted(soon)  # due together: sent together
    assert 3 <= later.seconds <= 4  # when they are due, not before (the claim refuses)
    for dispatch in soon:
        row = job(ctx, dispatch.job_id)
        assert row.enqueued_at == row.next_attempt_at  # the sweeper waits a lease past it
