"""Full syncs in chunks: one message carries up to `CHUNK` job ids of one run.

::

    claim every job of the chunk in one conditional UPDATE (those not claimable are
    someone else's: a duplicate delivery, a retry already announced)
    ONE batch read of the CURRENT sources (HubSpot batch/read, QBO `Id IN (…)`)
    destination candidates: product links, else the run's SKU index (`sku_index`)
    ONE batch read of those destination ids
    then per product, exactly the per-product attempt (`sync.run_claimed`): skip archived,
    map, SKU lock, update only what differs (unchanged → zero writes) or create, and one
    transaction with link + history row + job outcome + run progress

A read that fails for the whole chunk fails each product's attempt with that error, so
every job follows its own budget: retryable → pending and re-announced one by one on the
per-product path; terminal or parked → recorded per product. A per-product error never
touches its neighbours.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import select

from models import Account, ProductLink
from models.db import session_scope
from workers.catalog.port import Catalog, Record, destination_of, source_of
from workers.engine import jobs, sku_index
from workers.engine.account_view import load_mappings
from workers.engine.context import SyncContext
from workers.engine.sync import Claimed, Lookup, SyncResult, linked_id, run_claimed
from workers.errors import DataError, SyncError
from workers.mapping import FieldMapping, map_product

# HubSpot's batch/read takes 100 ids; QBO's `Id IN (…)` more. Fewer jobs per message
# would spread a run over more processes, at one more pair of reads per chunk.
CHUNK = 100
# Of a job lease (the tasks' soft time limit): the rest of a slow chunk goes back to the
# queue rather than outliving its leases.
TIME_SHARE = 0.5


@dataclass(frozen=True)
class ChunkResult:
    """Each attempted job's result (a ``retry_in`` means announce that job again, alone,
    after that many seconds) and the claimed jobs the chunk gave back unstarted, to
    announce again as a chunk."""

    results: list[tuple[int, SyncResult]] = field(default_factory=list)
    deferred: list[int] = field(default_factory=list)


def sync_chunk(ctx: SyncContext, job_ids: Sequence[int]) -> ChunkResult:
    """Run the jobs of one chunk, for at most half a job lease (also the task's soft time
    limit): what is left then is given back, its attempts budget untouched."""
    owner = f"{ctx.worker_id}:{uuid.uuid4().hex[:8]}"
    budget = ctx.settings.job_lease_seconds * TIME_SHARE
    started = time.monotonic()
    claimed = _claim(ctx, job_ids, owner)
    if not claimed:
        return ChunkResult()
    lookup = _prefetch(ctx, claimed)
    outcome = ChunkResult()
    for position, item in enumerate(claimed):
        if time.monotonic() - started > budget:
            rest = [c.job.id for c in claimed[position:]]
            with session_scope(ctx.database_url) as session:
                outcome.deferred.extend(jobs.release(session, rest, owner=owner))
            break
        outcome.results.append((item.job.id, run_claimed(ctx, item, owner, lookup)))
    return outcome


def _claim(ctx: SyncContext, job_ids: Sequence[int], owner: str) -> list[Claimed]:
    with session_scope(ctx.database_url) as session:
        taken = jobs.claim_many(
            session,
            job_ids,
            owner=owner,
            lease_seconds=ctx.settings.job_lease_seconds,
            max_attempts=ctx.settings.max_attempts,
        )
        accounts: dict[int, Account | None] = {}
        mappings: dict[int, tuple[FieldMapping, ...]] = {}
        for account_id in {j.account_id for j in taken}:
            accounts[account_id] = account = session.get(Account, account_id)
            if account is not None:
                mappings[account_id] = load_mappings(session, account_id)
        # A job of a deleted account stays running: the sweeper closes it (as sync_product).
        return [
            Claimed(job, account, mappings[job.account_id])
            for job in taken
            if (account := accounts[job.account_id]) is not None
        ]


def _linked_targets(ctx: SyncContext, claimed: list[Claimed], system: str) -> list[str]:
    """The destination ids linked to the chunk's products now (a hint for the batch read:
    each attempt reads its link again under its SKU lock)."""
    first = claimed[0].job
    column = (
        ProductLink.hubspot_id if first.source_system == "hubspot" else ProductLink.quickbooks_id
    )
    with session_scope(ctx.database_url) as session:
        links = session.scalars(
            select(ProductLink).where(
                ProductLink.account_id == first.account_id,
                column.in_([c.job.source_id for c in claimed]),
            )
        ).all()
        return [target for link in links if (target := linked_id(link, system))]


class _ChunkLookup(Lookup):
    """Answers from the chunk's batch reads; a failed batch read fails each product."""

    def __init__(self) -> None:
        self.sources: dict[str, Record] = {}
        self.source_error: SyncError | None = None
        self.targets: dict[str, Record] = {}
        self.read: set[str] = set()  # destination ids the batch read asked for
        self.target_error: SyncError | None = None
        self.index: dict[str, list[str]] | None = None

    def current(self, source: Catalog, source_id: str) -> Record | None:
        if self.source_error is not None:
            raise self.source_error
        return self.sources.get(source_id)

    def linked(self, destination: Catalog, record_id: str) -> Record | None:
        if self.target_error is not None:
            raise self.target_error
        if record_id not in self.read:  # linked since the chunk's read (another job)
            return destination.get(record_id)
        return self.targets.get(record_id)

    def candidates(self, sku: str) -> list[Record] | None:
        if self.index is None:
            return None
        if self.target_error is not None:
            raise self.target_error
        return [self.targets[i] for i in self.index.get(sku, []) if i in self.targets]


def _prefetch(ctx: SyncContext, claimed: list[Claimed]) -> Lookup:
    first = claimed[0]
    account = first.account
    run_id = first.job.run_id
    same = all(
        c.account.id == account.id and c.job.run_id == run_id and c.mappings == first.mappings
        for c in claimed
    )
    system = source_of(account.direction)  # type: ignore[arg-type]
    if not same or run_id is None or system != first.job.source_system or not account.enabled:
        return Lookup()  # not a plain full-sync chunk: the per-product path decides
    lookup = _ChunkLookup()
    source = ctx.catalogs(system, account.id)
    try:
        lookup.sources = source.get_many([c.job.source_id for c in claimed])
    except SyncError as err:
        lookup.source_error = err
        return lookup
    skus = [
        sku
        for record in lookup.sources.values()
        if record.active and (sku := _mapped_sku(record, first)) is not None
    ]
    lookup.index = sku_index.lookup(ctx.redis, run_id, skus)
    target_system = destination_of(account.direction)  # type: ignore[arg-type]
    wanted = _linked_targets(ctx, claimed, target_system)
    for sku in skus:
        wanted += (lookup.index or {}).get(sku, [])
    if wanted:
        lookup.read = set(wanted)
        try:
            lookup.targets = ctx.catalogs(target_system, account.id).get_many(wanted)
        except SyncError as err:
            lookup.target_error = err
    return lookup


def _mapped_sku(record: Record, claimed: Claimed) -> str | None:
    try:
        return map_product(record, claimed.mappings, claimed.account.direction).sku  # type: ignore[arg-type]
    except DataError:
        return None  # the attempt maps again and records the refusal
