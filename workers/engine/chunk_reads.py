"""A chunk's reads: everything its products need from the vendors, in batches.

ONE batch read of the CURRENT sources (HubSpot batch/read, QBO `Id IN (…)`); ONE batch
SKU search of the source, for the active products sharing the chunk's SKUs (a SKU must be
unique in the source, and neither a poll page nor a listing still under way can tell);
destination candidates from product links, else the run's SKU index (`sku_index`), else
(a poll's chunk, or the index is gone: expired, or Redis lost it) ONE batch SKU search of
the destination for the products without a link; ONE batch read of the linked and
indexed destination ids. A short rate-limit wait is sat out (`chunk_waits.patiently`); a
read refused as a whole (a longer wait, an open circuit) makes the whole chunk wait
(`ChunkLookup.wait`); any other read that fails for the whole chunk fails each product's
attempt with that error, so every job follows its own budget.
"""

from __future__ import annotations

from models.db import session_scope
from workers.catalog.port import Catalog, Record, destination_of, source_of
from workers.engine import sku_index
from workers.engine.chunk_waits import Wait, patiently, wait_for
from workers.engine.context import SyncContext
from workers.engine.links import linked_id, links_by_id
from workers.engine.sync import Claimed, Lookup
from workers.errors import DataError, SyncError
from workers.mapping import map_product


def _linked_targets(ctx: SyncContext, claimed: list[Claimed], system: str) -> dict[str, str]:
    """Source id → the destination id linked to it now (a hint for the batch read: each
    attempt reads its link again under its SKU lock)."""
    first = claimed[0].job
    with session_scope(ctx.database_url) as session:
        links = links_by_id(
            session,
            first.account_id,
            first.source_system,  # type: ignore[arg-type]
            [c.job.source_id for c in claimed],
        )
        return {
            source_id: target
            for source_id, link in links.items()
            if (target := linked_id(link, system))
        }


class ChunkLookup(Lookup):
    """Answers from the chunk's batch reads; a failed batch read fails each product."""

    def __init__(self) -> None:
        self.sources: dict[str, Record] = {}
        self.source_error: SyncError | None = None
        self.in_source: dict[str, list[Record]] = {}  # mapped SKU → active source products
        self.targets: dict[str, Record] = {}
        self.read: set[str] = set()  # destination ids the batch reads answered for
        self.target_error: SyncError | None = None
        self.index: dict[str, list[str]] | None = None
        # The run's index lists every SKU (absent: none); a search only the SKUs it asked.
        self.index_complete = False

    def current(self, source: Catalog, source_id: str) -> Record | None:
        if self.source_error is not None:
            raise self.source_error
        return self.sources.get(source_id)

    def sharing_sku(self, source: Catalog, sku: str) -> list[Record]:
        if self.source_error is not None:
            raise self.source_error
        if sku in self.in_source:
            return self.in_source[sku]
        return super().sharing_sku(source, sku)  # not searched (its mapping failed then)

    def forget(self, sku: str) -> None:
        """The run's index is stale for this SKU: the attempt searches the destination."""
        if self.index is not None:
            self.index.pop(sku, None)
        self.index_complete = False

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
        ids = self.index.get(sku)
        if ids is None and not self.index_complete:
            return None  # not searched (the product had a link): the attempt searches
        return [self.targets[i] for i in ids or [] if i in self.targets]

    def wait(self, *, cap: float) -> Wait | None:
        """The wait a read refused as a whole asks of the chunk (nothing was written)."""
        for error in (self.source_error, self.target_error):
            wait = wait_for(error, cap=cap)
            if wait is not None:
                return wait
        return None


def prefetch(ctx: SyncContext, claimed: list[Claimed], *, deadline: float) -> Lookup:
    first = claimed[0]
    account = first.account
    run_id = first.job.run_id
    same = all(
        c.account.id == account.id and c.job.run_id == run_id and c.mappings == first.mappings
        for c in claimed
    )
    system = source_of(account.direction)  # type: ignore[arg-type]
    if not same or system != first.job.source_system or not account.enabled:
        return Lookup()  # not a plain chunk: the per-product path decides
    lookup = ChunkLookup()
    source = ctx.catalogs(system, account.id)
    try:
        ids = [c.job.source_id for c in claimed]
        lookup.sources = patiently(lambda: source.get_many(ids), deadline=deadline)
        mapped = _mapped_skus(lookup.sources, first)
        skus = list(dict.fromkeys(mapped.values()))
        lookup.in_source = patiently(
            lambda: source.find_by_skus(skus, include_inactive=False) if skus else {},
            deadline=deadline,
        )
    except SyncError as err:
        lookup.source_error = err
        return lookup
    target_system = destination_of(account.direction)  # type: ignore[arg-type]
    destination = ctx.catalogs(target_system, account.id)
    linked = _linked_targets(ctx, claimed, target_system)
    if run_id is not None:
        lookup.index = sku_index.lookup(ctx.redis, run_id, list(mapped.values()))
    lookup.index_complete = lookup.index is not None
    try:
        if lookup.index is None:
            # No run index (a poll's chunk, or the run's index is gone): one search for the
            # SKUs that have no link.
            unlinked = [sku for source_id, sku in mapped.items() if source_id not in linked]
            lookup.index = {}  # a failed search fails each product through `candidates`
            found = (
                patiently(lambda: destination.find_by_skus(unlinked), deadline=deadline)
                if unlinked
                else {}
            )
            lookup.index = {sku: [r.id for r in records] for sku, records in found.items()}
            lookup.targets = {r.id: r for records in found.values() for r in records}
            lookup.read = set(lookup.targets)
        wanted = list(linked.values())
        if lookup.index_complete:
            wanted += [i for sku in mapped.values() for i in lookup.index.get(sku, [])]
        wanted = [i for i in dict.fromkeys(wanted) if i not in lookup.read]
        if wanted:
            lookup.read |= set(wanted)
            lookup.targets |= patiently(lambda: destination.get_many(wanted), deadline=deadline)
    except SyncError as err:
        lookup.target_error = err
    return lookup


def _mapped_skus(sources: dict[str, Record], claimed: Claimed) -> dict[str, str]:
    """Source id → mapped SKU, for the active sources that map (an attempt maps again and
    records a refusal)."""
    skus: dict[str, str] = {}
    for record in sources.values():
        if not record.active:
            continue
        try:
            sku = map_product(record, claimed.mappings, claimed.account.direction).sku  # type: ignore[arg-type]
        except DataError:
            continue
        skus[record.id] = sku
    return skus
