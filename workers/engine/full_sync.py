"""Full sync: every source product becomes a job of one run, on the `bulk` queue.

`start_full_sync` creates the run (status ``enumerating``) in the caller's transaction;
the `full_sync` task then lists the destination once, into the run's SKU index
(`workers.engine.sku_index`, which spares the workers' search by SKU), and then the
source, page by page. The listing is pipelined with the writes: each chunk's worth of
listed products is inserted as jobs (one short transaction, the run's ``total`` grows)
and handed to ``on_chunk`` to announce at once, so the first writes go out a page into
the listing instead of after it. That is what keeps a full sync near the vendors'
rate-limit floor: the listing (HubSpot lists 100 products a call) no longer comes on
top of the writes.

Under the lifecycle policy `mirror` the run also covers the linked products that are no
longer active in the source while their destination product still is: once the listing
is over, their jobs are inserted with the last slice, and their archive goes through the
mass-archive guard like a poll's (`lifecycle_policy.guard`).

A SKU shared by two source products cannot be known from a listing that is not over,
so each chunk checks its own SKUs against the source in one batch search
(`chunk_reads.prefetch`): both holders are refused with ``duplicate_sku_in_source``,
every id named, wherever they are in the listing.

The run stays ``enumerating`` until the listing is over (its jobs run meanwhile, and
`outcomes.finish_run_if_done` only finishes a ``running`` run); each committed slice
pushes ``next_attempt_at`` a little ahead, a heartbeat by which the sweeper tells a
listing that died from one that is long (`sweep.stalled_runs`). A listing that meets a
parked error waits (`workers.engine.run_wait`) and lists again from the start once the
cause is gone; the jobs it already inserted keep running, and re-inserts are no-ops
(unique per run and source id), so a listing redelivered or resumed announces only what
is new. Of each source product the listing keeps its id and modification time until its
chunk is inserted: the records themselves are dropped page by page.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from models import Account, ProductLink, SyncRun, utcnow
from models.db import session_scope
from workers.catalog.port import Record, System, destination_of, source_of
from workers.engine import sku_index
from workers.engine.bulk import CHUNK, chunk_size
from workers.engine.context import Dispatch, SyncContext
from workers.engine.jobs import NewJob, insert_jobs
from workers.engine.lifecycle_policy import guard, mirrors
from workers.engine.outcomes import finish_run_if_done
from workers.engine.readahead import read_ahead
from workers.engine.run_wait import resume_run, wait_run
from workers.errors import ParkedError, RetryableError, SyncError, TerminalError, TransientError

# A listing commits a slice every chunk; a listing silent for this many job leases died.
HEARTBEAT_LEASES = 2
READ_AHEAD_RECORDS = 2000  # two QBO pages, twenty HubSpot ones


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


def enumerate_run(
    ctx: SyncContext,
    run_id: int,
    on_chunk: Callable[[list[Dispatch]], object] | None = None,
) -> list[Dispatch]:
    """List every active source product into jobs of ``run_id``, a chunk at a time, each
    chunk handed to ``on_chunk`` once committed; returns every job it created.

    Postgres out of reach (a restart, a failover) is a condition that passes: it raises
    a `TransientError`, so the task lists again after a backoff (re-inserts are no-ops)
    instead of dying, which left the run to the sweeper's stall rule: ten leases from
    its start when no slice was committed yet (20 minutes at the default lease)."""
    with _database_passes():
        return _enumerate(ctx, run_id, on_chunk)


@contextmanager
def _database_passes() -> Iterator[None]:
    """Postgres out of reach, as the retryable error it is for a listing."""
    try:
        yield
    except OperationalError as exc:
        raise TransientError(
            f"the database is unavailable ({type(exc.orig).__name__}); listing again later",
            code="database_unavailable",
        ) from exc


def _enumerate(
    ctx: SyncContext, run_id: int, on_chunk: Callable[[list[Dispatch]], object] | None
) -> list[Dispatch]:
    with session_scope(ctx.database_url) as session:
        run = session.get(SyncRun, run_id)
        if run is None or run.status not in ("enumerating", "waiting"):
            return []  # already enumerated (a redelivered message)
        account_id, direction = run.account_id, run.direction
        account = session.get(Account, account_id)
        mirror = account is not None and mirrors(account)
    resume_run(ctx, run_id)
    listing = _Slices(ctx, run_id, account_id, direction, on_chunk or (lambda _: None), mirror)
    try:
        destination = ctx.catalogs(destination_of(direction), account_id)  # type: ignore[arg-type]
        # Before any job exists, so every chunk finds it ready (see `sku_index`).
        records = destination.iter_all(include_inactive=True)
        sku_index.store(ctx.redis, run_id, listing.noting_active(records))
        source = ctx.catalogs(listing.system, account_id).iter_all()
        # A page ahead: the next page's answer comes while this one's jobs are inserted.
        for record in read_ahead(source, buffer=READ_AHEAD_RECORDS):
            listing.add(record.id, record.updated_at)
    except RetryableError:
        listing.flush(last=False)  # the task lists again; what was listed runs meanwhile
        raise
    except ParkedError as err:
        listing.flush(last=False)  # what was listed runs while the listing waits
        wait_run(ctx, run_id, err)  # the sweeper announces it again once due
        return listing.created
    except TerminalError as err:
        listing.flush(last=False)
        fail_run(ctx, run_id, err)
        return listing.created
    listing.flush(last=True)
    return listing.created


class _Slices:
    """The listed products not yet inserted, and what inserting them created."""

    def __init__(
        self,
        ctx: SyncContext,
        run_id: int,
        account_id: int,
        direction: str,
        on_chunk: Callable[[list[Dispatch]], object],
        mirror: bool,
    ) -> None:
        self.ctx, self.run_id, self.account_id = ctx, run_id, account_id
        self.system = source_of(direction)  # type: ignore[arg-type]
        self.size = chunk_size(direction)
        self.on_chunk = on_chunk
        self.listed: list[NewJob] = []
        self.created: list[Dispatch] = []
        # For `mirror`: every source id listed, and the destination's active products.
        self.mirror = mirror
        self.seen: set[str] = set()
        self.active: set[str] = set()

    def noting_active(self, records: Iterable[Record]) -> Iterator[Record]:
        for record in records:
            if self.mirror and record.active:
                self.active.add(record.id)
            yield record

    def add(self, source_id: str, modified: datetime) -> None:
        self.listed.append(NewJob(source_id, modified))
        if self.mirror:
            self.seen.add(source_id)
        if len(self.listed) >= self.size:
            self.flush(last=False)

    def flush(self, *, last: bool) -> None:
        """Insert what is listed (``last``: the listing is over, the run runs on its own)."""
        heartbeat = utcnow() + timedelta(
            seconds=HEARTBEAT_LEASES * self.ctx.settings.job_lease_seconds
        )
        with session_scope(self.ctx.database_url) as session:
            run = session.get(SyncRun, self.run_id, with_for_update=True)
            if run is None or run.status not in ("enumerating", "waiting"):
                self.listed = []
                return  # cancelled, failed or over meanwhile
            if last and self.mirror and run.status == "enumerating":
                # Linked products gone from the source's active listing whose destination
                # product is still active: the lifecycle difference a full sync converges.
                retired = _retired(session, self.account_id, self.system, self.seen, self.active)
                self.listed += [NewJob(source_id, None) for source_id in retired]
                settings = self.ctx.settings
                guard(session, settings, self.account_id, len(retired), seen_by="A full sync")
            created = insert_jobs(
                session,
                account_id=self.account_id,
                source_system=self.system,
                reason="full_sync",
                queue="bulk",
                run_id=self.run_id,
                changes=self.listed,
            )
            run.total += len(created)
            if run.status == "enumerating":
                run.next_attempt_at = heartbeat
            if last and run.status == "enumerating":
                run.status = "running"
                run.wait_reason = run.next_attempt_at = None
            session.flush()
            finish_run_if_done(session, self.run_id)
        self.listed = []
        self.created += created
        if created:
            self.on_chunk(created)


def _retired(
    session: Session, account_id: int, system: System, listed: set[str], active: set[str]
) -> list[str]:
    """Source ids of links whose source product is not among the active ones listed while
    their destination product is active."""
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
    with _database_passes(), session_scope(ctx.database_url) as session:
        run = session.get(SyncRun, run_id)
        return chunk_size(run.direction) if run is not None else CHUNK


def fail_run(ctx: SyncContext, run_id: int, error: SyncError) -> None:
    """The listing could not be done (retryable errors past the budget land here too).
    Jobs it already inserted still run; the run says it failed and why."""
    with session_scope(ctx.database_url) as session:
        session.execute(
            update(SyncRun)
            .where(SyncRun.id == run_id, SyncRun.status.in_(("enumerating", "waiting")))
            .values(
                status="failed",
                finished_at=utcnow(),
                next_attempt_at=None,
                error_message=f"[{error.code}] {error.message}",
            )
        )
