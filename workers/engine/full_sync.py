"""Full sync: every source product becomes a job of one run, on the `bulk` queue.

`start_full_sync` creates the run (status ``enumerating``) in the caller's transaction;
the `full_sync` task then lists the source and inserts the jobs. The listing also finds
SKUs shared by several source products: those jobs are failed at once with
``duplicate_sku_in_source`` (one history row each, every id named), which spares one
search per product in the workers. It lists the destination once too, into the run's SKU
index (`workers.engine.sku_index`), which spares the workers' search by SKU; the jobs
are then run in chunks (`workers.engine.bulk`). Progress (total/done/…) is on the run row and is
exact while the run goes. A redelivered enumeration inserts nothing twice (unique per
run and source id).
"""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from models import Account, Job, SyncRun, utcnow
from models.db import session_scope
from workers.catalog.port import Record, destination_of, source_of
from workers.engine import sku_index
from workers.engine.conflicts import duplicate_sku
from workers.engine.context import Dispatch, SyncContext
from workers.engine.jobs import NewJob, insert_jobs
from workers.engine.outcomes import close_job, finish_run_if_done
from workers.errors import ParkedError, SyncError, TerminalError


def start_full_sync(session: Session, account_id: int) -> SyncRun:
    """Create a full-sync run; enqueue the `full_sync` task with its id after commit."""
    account = session.get(Account, account_id)
    if account is None:
        raise LookupError(f"no account {account_id}")
    run = SyncRun(
        account_id=account_id, kind="full_sync", direction=account.direction, status="enumerating"
    )
    session.add(run)
    session.flush()
    return run


def enumerate_run(ctx: SyncContext, run_id: int) -> list[Dispatch]:
    """List every active source product into jobs of ``run_id``; returns jobs to enqueue."""
    with session_scope(ctx.database_url) as session:
        run = session.get(SyncRun, run_id)
        if run is None or run.status != "enumerating":
            return []  # already enumerated (a redelivered message)
        account_id, direction = run.account_id, run.direction
    system = source_of(direction)  # type: ignore[arg-type]
    try:
        records = list(ctx.catalogs(system, account_id).iter_all())
        destination = ctx.catalogs(destination_of(direction), account_id)  # type: ignore[arg-type]
        # Before any job exists, so every chunk finds it ready (see `sku_index`).
        sku_index.store(ctx.redis, run_id, destination.iter_all(include_inactive=True))
    except (TerminalError, ParkedError) as err:
        fail_run(ctx, run_id, err)
        return []
    by_sku: dict[str, list[Record]] = defaultdict(list)
    for record in records:
        if record.sku:
            by_sku[record.sku].append(record)
    shared = {sku: group for sku, group in by_sku.items() if len(group) > 1}
    with session_scope(ctx.database_url) as session:
        run = session.get(SyncRun, run_id, with_for_update=True)
        if run is None or run.status != "enumerating":
            return []
        created = insert_jobs(
            session,
            account_id=account_id,
            source_system=system,
            reason="full_sync",
            queue="bulk",
            run_id=run_id,
            changes=[NewJob(r.id, r.updated_at) for r in records],
        )
        run.total = len(created)
        run.status = "running"
        session.flush()
        conflicts = _fail_shared_skus(session, run, shared)
        finish_run_if_done(session, run_id)
    return [d for d in created if d.job_id not in conflicts]


def fail_run(ctx: SyncContext, run_id: int, error: SyncError) -> None:
    """The listing could not be done (retryable errors past the budget land here too)."""
    with session_scope(ctx.database_url) as session:
        session.execute(
            update(SyncRun)
            .where(SyncRun.id == run_id, SyncRun.status == "enumerating")
            .values(
                status="failed",
                finished_at=utcnow(),
                error_message=f"[{error.code}] {error.message}",
            )
        )


def _fail_shared_skus(session: Session, run: SyncRun, shared: dict[str, list[Record]]) -> set[int]:
    if not shared:
        return set()
    owner = {r.id: sku for sku, group in shared.items() for r in group}
    jobs = session.scalars(
        select(Job).where(Job.run_id == run.id, Job.source_id.in_(list(owner)))
    ).all()
    for job in jobs:
        sku = owner[job.source_id]
        err = duplicate_sku(job.source_system, sku, (r.id for r in shared[sku]), source=True)
        close_job(
            session,
            job,
            direction=run.direction,
            status="failed",
            code=err.code,
            message=err.message,
            sku=sku,
            details=err.details,
        )
    return {job.id for job in jobs}
