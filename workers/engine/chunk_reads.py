"""A full-sync chunk's reads: everything its products need from the vendors, in batches.

ONE batch read of the CURRENT sources (HubSpot batch/read, QBO `Id IN (…)`); destination
candidates from product links, else the run's SKU index (`sku_index`); ONE batch read of
those destination ids. A read that fails for the whole chunk fails each product's attempt
with that error, so every job follows its own budget.
"""

from __future__ import annotations

from models.db import session_scope
from workers.catalog.port import Catalog, Record, destination_of, source_of
from workers.engine import sku_index
from workers.engine.context import SyncContext
from workers.engine.links import linked_id, links_by_id
from workers.engine.sync import Claimed, Lookup
from workers.errors import DataError, SyncError
from workers.mapping import map_product


def _linked_targets(ctx: SyncContext, claimed: list[Claimed], system: str) -> list[str]:
    """The destination ids linked to the chunk's products now (a hint for the batch read:
    each attempt reads its link again under its SKU lock)."""
    first = claimed[0].job
    with session_scope(ctx.database_url) as session:
        links = links_by_id(
            session,
            first.account_id,
            first.source_system,  # type: ignore[arg-type]
            [c.job.source_id for c in claimed],
        )
        return [target for link in links.values() if (target := linked_id(link, system))]


class ChunkLookup(Lookup):
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


def prefetch(ctx: SyncContext, claimed: list[Claimed]) -> Lookup:
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
    lookup = ChunkLookup()
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
