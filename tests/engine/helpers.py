"""Driving the engine in-process for engine tests (the e2e tests use real workers)."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import func, select, update

from models import HistoryEntry, Job, utcnow
from models.db import session_scope
from workers.engine import Dispatch, SyncContext, SyncResult, sync_product


def make_due(ctx: SyncContext, job_id: int) -> None:
    """Skip a retry's wait (what the passing of time would do)."""
    with session_scope(ctx.database_url) as session:
        session.execute(update(Job).where(Job.id == job_id).values(next_attempt_at=utcnow()))


def run_jobs(ctx: SyncContext, dispatches: Iterable[Dispatch], rounds: int = 5) -> list[SyncResult]:
    """Run each job like a worker would, following retries (up to ``rounds`` each)."""
    results = []
    for dispatch in dispatches:
        for _ in range(rounds):
            result = sync_product(ctx, dispatch.job_id)
            results.append(result)
            if result.retry_in is None:
                break
            make_due(ctx, dispatch.job_id)
    return results


def history(ctx: SyncContext) -> list[HistoryEntry]:
    with session_scope(ctx.database_url) as session:
        return list(session.scalars(select(HistoryEntry).order_by(HistoryEntry.id)).all())


def job(ctx: SyncContext, job_id: int) -> Job:
    with session_scope(ctx.database_url) as session:
        found = session.get(Job, job_id)
        assert found is not None
        return found


def count_jobs(ctx: SyncContext) -> int:
    with session_scope(ctx.database_url) as session:
        return int(session.scalar(select(func.count()).select_from(Job)) or 0)
