"""Polled changes in chunks (`workers.engine.bulk` with no run): batch reads, one batch SKU
search of each side, one batch write; what is odd still goes one product at a time."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from models.db import session_scope
from tests.engine.helpers import history, make_due, run_jobs
from tests.support.memory_catalog import MemoryCatalog
from workers.engine import CHUNK, Dispatch, SyncContext, SyncResult, poll_account, sync_chunk
from workers.engine.accounts import set_direction
from workers.errors import TransientError


def widget(sku: str | None, price: str = "19.99") -> dict[str, str | None]:
    return {"name": f"Widget {sku}", "hs_sku": sku, "description": "A widget", "price": price}


def poll_in_chunks(ctx: SyncContext, account_id: int) -> list[tuple[int, SyncResult]]:
    """One poll, its jobs run as the poll task announces them: in chunks."""
    ids = [d.job_id for d in poll_account(ctx, account_id)]
    results: list[tuple[int, SyncResult]] = []
    for start in range(0, len(ids), CHUNK):
        chunk = sync_chunk(ctx, ids[start : start + CHUNK])
        assert chunk.deferred == [] and chunk.queue == "sync"
        results += chunk.results
    return results


def outcomes(results: Sequence[tuple[int, SyncResult]]) -> Counter[str]:
    return Counter(r.outcome for _, r in results)


def test_polled_creates_and_edits_go_in_batches_with_no_search_per_product(
    ctx: SyncContext, account_id: int, hubspot: MemoryCatalog, quickbooks: MemoryCatalog
) -> None:
    sources = [hubspot.add(widget(f"P-{n:03}")) for n in range(CHUNK + 20)]
    existing = quickbooks.add({"Name": "Widget P-005", "Sku": "P-005", "UnitPrice": 1})
    quickbooks.add({"Name": "case only", "Sku": "p-006"})  # not the same SKU

    assert outcomes(poll_in_chunks(ctx, account_id)) == {"created": CHUNK + 19, "updated": 1}
    # Per chunk: one read and one SKU search of the source, one SKU search and one batch
    # write in the destination; nothing per product.
    assert Counter(hubspot.calls) == {"changed_between": 1, "get_many": 2, "find_by_skus": 2}
    assert Counter(quickbooks.calls) == {"find_by_skus": 2, "write_many": 2}
    assert [w.id for w in quickbooks.writes if w.op == "update"] == [existing.id]
    assert len(quickbooks.by_sku("p-006")) == 1 and len(quickbooks.by_sku("P-006")) == 1

    # Edits of linked products: the links say where they go; the destination is read in
    # one batch, never searched.
    hubspot.calls.clear()
    quickbooks.calls.clear()
    for source in sources[:30]:
        hubspot.edit(source.id, price="25")
    hubspot.edit(sources[30].id, description="A widget")  # touched, nothing to write
    assert outcomes(poll_in_chunks(ctx, account_id)) == {"updated": 30, "unchanged": 1}
    assert Counter(hubspot.calls) == {"changed_between": 1, "get_many": 1, "find_by_skus": 1}
    assert Counter(quickbooks.calls) == {"get_many": 1, "write_many": 1}
    entries = history(ctx)
    assert len(entries) == CHUNK + 20 + 31
    updated = [e for e in entries[-31:] if e.action == "updated"]
    assert len(updated) == 30
    assert all(e.changes == {"UnitPrice": ["19.99", "25"]} for e in updated)


def test_a_sku_two_source_products_share_is_refused_for_both_and_the_rest_syncs(
    ctx: SyncContext, account_id: int, hubspot: MemoryCatalog, quickbooks: MemoryCatalog
) -> None:
    hubspot.add(widget("D-1"))
    hubspot.add(widget("D-2"))
    first = hubspot.add(widget("D-3"))
    poll_in_chunks(ctx, account_id)
    # The second product with D-3 arrives alone: its chunk still sees the first one.
    hubspot.add(widget("D-3", price="5"))
    hubspot.edit(first.id, price="6")
    results = poll_in_chunks(ctx, account_id)
    assert outcomes(results) == {"failed": 2}
    codes = {(e.sku, e.error_code) for e in history(ctx)[-2:]}
    assert codes == {("D-3", "duplicate_sku_in_source")}
    assert len(quickbooks.writes) == 3  # only the first poll's creates


def test_a_link_to_a_deleted_destination_product_is_settled_alone(
    ctx: SyncContext, account_id: int, hubspot: MemoryCatalog, quickbooks: MemoryCatalog
) -> None:
    sources = [hubspot.add(widget(f"G-{n}")) for n in range(3)]
    poll_in_chunks(ctx, account_id)
    [gone] = quickbooks.by_sku("G-1")
    del quickbooks.products[gone.id]  # deleted in QBO behind our back
    for source in sources:
        hubspot.edit(source.id, price="7")
    quickbooks.calls.clear()
    results = poll_in_chunks(ctx, account_id)
    assert outcomes(results) == {"updated": 2, "created": 1}
    assert Counter(quickbooks.calls)["write_many"] == 1  # the two plain ones
    assert len(quickbooks.by_sku("G-1")) == 1  # made again, once
    assert history(ctx)[-1].sku == "G-1"


def test_a_failed_source_sku_search_retries_each_product_alone(
    ctx: SyncContext, account_id: int, hubspot: MemoryCatalog, quickbooks: MemoryCatalog
) -> None:
    for n in range(4):
        hubspot.add(widget(f"F-{n}"))
    dispatches: list[Dispatch] = poll_account(ctx, account_id)
    hubspot.fail_next("find_by_skus", TransientError("HubSpot answered 502", system="hubspot"))
    chunk = sync_chunk(ctx, [d.job_id for d in dispatches])
    assert outcomes(chunk.results) == {"retrying": 4}
    assert quickbooks.writes == []
    for dispatch in dispatches:
        make_due(ctx, dispatch.job_id)
    run_jobs(ctx, dispatches)  # the retries go the per-product way
    assert len(quickbooks.writes) == 4 and hubspot.calls.count("find_by_sku") == 4


def test_quickbooks_to_hubspot_polled_in_a_batch(
    ctx: SyncContext, account_id: int, hubspot: MemoryCatalog, quickbooks: MemoryCatalog
) -> None:
    with session_scope(ctx.database_url) as session:
        set_direction(session, account_id, "quickbooks_to_hubspot")
    for n in range(5):
        quickbooks.add({"Name": f"Gadget {n}", "Sku": f"Q-{n}", "UnitPrice": n + 1})
    inactive = quickbooks.add({"Name": "Old", "Sku": "Q-9"}, active=False)
    results = dict(poll_in_chunks(ctx, account_id))
    assert outcomes(results.items()) == {"created": 5, "skipped": 1}
    assert Counter(hubspot.calls)["write_many"] == 1 and "find_by_sku" not in hubspot.calls
    assert quickbooks.writes == []  # the source is never written
    assert [e.error_code for e in history(ctx) if e.action == "skipped"] == ["source_archived"]
    assert inactive.id not in {e.quickbooks_id for e in history(ctx) if e.action == "created"}
