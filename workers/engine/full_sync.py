"""Full sync: every source product becomes a job of one run, on the `bulk` queue.

`start_full_sync` creates the run (status ``enumerating``) in the caller's transaction;
the `full_sync` task then lists the source and inserts the jobs; a listing that meets a
parked error waits (`workers.engine.run_wait`) and lists again once the cause is gone.
Under the lifecycle policy `mirror` the jobs also cover the linked products that are no
longer active in the source while their destination product still is (their archive
goes through the mass-archive guard like a poll's). The listing also finds SKUs shared
by several source products: those jobs are failed at once with
``duplicate_sku_in_source`` (one history row each, every id named), which spares one
search per product in the workers. It lists the destination once too, into the run's SKU
index (`workers.engine.sku_index`), which spares the workers' search by SKU; the jobs
are then run in chunks (`workers.engine.bulk`). Progress (total/done/…) is on the run row and is
exact while the run goes. A redelivered enumeration inserts nothing twice (unique per
run and source id).

Of each source product the listing keeps its id, its modification time and its SKU's
first holder (every holder of a SKU that products share): the records themselves, with
every mapped field, are dropped page by page, and job rows are built and inserted a
slice at a time, so 100,000 products cost small tuples, not records and rows all at once.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from models import Account, Job, ProductLink, SyncRun, utcnow
from models.db import session_scope
from workers.catalog.port import Record, System, destination_of, source_of
from workers.engine import sku_index
from workers.engine.bulk import CHUNK, chunk_size
from workers.engine.conflicts import duplicate_sku
from workers.engine.context import Dispatch, SyncContext
from workers.engine.jobs import NewJob, insert_jobs
from workers.engine.lifecycle_policy import guard, mirrors
from workers.engine.outcomes import close_job, finish_run_if_done
from workers.engine.run_wait import resume_run, wait_run
from workers.errors import ParkedError, SyncError, TerminalError

INSERT_SLICE = 1000  # job rows built and inserted at a time


@dataclass
class _Listing:
    """What the enumeration keeps of the source: (id, modified) per product, and the
    SKUs held by two or more products with every holder's id."""

    products: list[tuple[str, datetime]] = field(default_factory=list)
    shared: dict[str, list[str]] = field(default_factory=dict)

    @classmethod
    def of(cls, records: Iterable[Record]) -> _Listing:
        listing = cls()
        first: dict[str, str] = {}  # sku -> its first holder
        for record in records:
            listing.products.append((record.id, record.updated_at))
            if not record.sku:
                continue
            holder = first.setdefault(record.sku, record.id)
            holders = listing.shared.get(record.sku, [holder])
            if record.id not in holders:  # a paged listing may repeat a product
                listing.shared[record.sku] = [*holders, record.id]
        return listing


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
        if run is None or run.status not in ("enumerating", "waiting"):
            return []  # already enumerated (a redelivered message)
        account_id, direction = run.account_id, run.direction
        account = session.get(Account, account_id)
        mirror = account is not None and mirrors(account)
    resume_run(ctx, run_id)
    system = source_of(direction)  # type: ignore[arg-type]
    active: set[str] = set()  # the destination's active products (for `mirror`)
    try:
        listing = _Listing.of(ctx.catalogs(system, account_id).iter_all())
        destination = ctx.catalogs(destination_of(direction), account_id)  # type: ignore[arg-type]
        # Before any job exists, so every chunk finds it ready (see `sku_index`).
        sku_index.store(
            ctx.redis, run_id, _noting_active(destination.iter_all(include_inactive=True), active)
        )
    except ParkedError as err:
        wait_run(ctx, run_id, err)  # the sweeper announces it again once due
        return []
    except TerminalError as err:
        fail_run(ctx, run_id, err)
        return []
    products = listing.products
    with session_scope(ctx.database_url) as session:
        run = session.get(SyncRun, run_id, with_for_update=True)
        if run is None or run.status != "enumerating":
            return []
        retired: list[str] = []
        if mirror:
            # Linked products gone from the source's active listing whose destination
            # product is still active: the lifecycle difference a full sync converges.
            retired = _retired(session, account_id, system, listing, active)
            products = [*products, *((i, None) for i in retired)]  # type: ignore[misc]
            guard(session, ctx.settings, account_id, len(retired), seen_by="A full sync")
        created: list[Dispatch] = []
        for start in range(0, len(products), INSERT_SLICE):
            created += insert_jobs(
                session,
                account_id=account_id,
                source_system=system,
                reason="full_sync",
                queue="bulk",
                run_id=run_id,
                changes=[NewJob(i, t) for i, t in products[start : start + INSERT_SLICE]],
            )
        run.total = len(created)
        run.status = "running"
        run.wait_reason = run.next_attempt_at = None
        session.flush()
        conflicts = _fail_shared_skus(session, run, listing.shared)
        finish_run_if_done(session, run_id)
    return [d for d in created if d.job_id not in conflicts]


def _noting_active(records: Iterable[Record], active: set[str]) -> Iterator[Record]:
    for record in records:
        if record.active:
            active.add(record.id)
        yield record


def _retired(
    session: Session, account_id: int, system: System, listing: _Listing, active: set[str]
) -> list[str]:
    """Source ids of links whose source product is not among the active ones listed while
    their destination product is active."""
    listed = {record_id for record_id, _ in listing.products}
    pairs = session.execute(
        select(ProductLink.hubspot_id, ProductLink.quickbooks_id).where(
            ProductLink.account_id == account_id
        )
    )
    return [
        source_id
        for hubspot_id, quickbooks_id in pairs
        for source_id, destination_id in [
            (hubspot_id, quickbooks_id) if system == "hubspot" else (quickbooks_id, hubspot_id)
        ]
        if source_id is not None and source_id not in listed and destination_id in active
    ]


def run_chunk_size(ctx: SyncContext, run_id: int) -> int:
    """How many of the run's jobs go in one chunk (`bulk.chunk_size`)."""
    with session_scope(ctx.database_url) as session:
        run = session.get(SyncRun, run_id)
        return chunk_size(run.direction) if run is not None else CHUNK


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


def _fail_shared_skus(session: Session, run: SyncRun, shared: dict[str, list[str]]) -> set[int]:
    if not shared:
        return set()
    owner = {record_id: sku for sku, ids in shared.items() for record_id in ids}
    jobs = session.scalars(
        select(Job).where(Job.run_id == run.id, Job.source_id.in_(list(owner)))
    ).all()
    for job in jobs:
        sku = owner[job.source_id]
        err = duplicate_sku(job.source_system, sku, shared[sku], source=True)
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
