"""The full sync's chunked path (`workers.engine.bulk`) against in-memory catalogs."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

import pytest
from sqlalchemy import select

from models import Job, SyncRun
from models.db import session_scope
from tests.engine.helpers import history, make_due, run_jobs
from tests.engine.helpers import job as job_row
from tests.support.memory_catalog import MemoryCatalog
from workers.engine import (
    CHUNK,
    Dispatch,
    SyncContext,
    SyncResult,
    enumerate_run,
    sku_index,
    start_full_sync,
    sync_chunk,
)
from workers.engine.bulk import Deferral
from workers.engine.locks import sku_lock
from workers.errors import TransientError, ValidationFailed


def widget(sku: str | None, price: str = "19.99") -> dict[str, str | None]:
    return {"name": f"Widget {sku}", "hs_sku": sku, "description": "A widget", "price": price}


def full_sync(ctx: SyncContext, account_id: int) -> tuple[int, list[Dispatch]]:
    with session_scope(ctx.database_url) as session:
        run_id = start_full_sync(session, account_id).id
    return run_id, enumerate_run(ctx, run_id)


def run_chunks(ctx: SyncContext, dispatches: Sequence[Dispatch]) -> list[tuple[int, SyncResult]]:
    ids = [d.job_id for d in dispatches]
    results: list[tuple[int, SyncResult]] = []
    for start in range(0, len(ids), CHUNK):
        chunk = sync_chunk(ctx, ids[start : start + CHUNK])
        assert chunk.deferred == []
        results += chunk.results
    return results


def run_row(ctx: SyncContext, run_id: int) -> SyncRun:
    with session_scope(ctx.database_url) as session:
        run = session.get(SyncRun, run_id)
        assert run is not None
        return run


def test_full_sync_reads_in_batches_never_searches_and_resyncs_with_zero_writes(
    ctx: SyncContext, account_id: int, hubspot: MemoryCatalog, quickbooks: MemoryCatalog
) -> None:
    for n in range(CHUNK * 2 + 5):
        hubspot.add(widget(f"B-{n:03}"))
    # In the destination already: one inactive match (updated, not duplicated), one SKU
    # held twice (refused), one matching only by case (not a match: created).
    inactive = quickbooks.add({"Name": "old", "Sku": "B-001", "UnitPrice": 1}, active=False)
    quickbooks.add({"Name": "t1", "Sku": "B-002"})
    quickbooks.add({"Name": "t2", "Sku": "B-002"})
    quickbooks.add({"Name": "case", "Sku": "b-003"})
    run_id, dispatches = full_sync(ctx, account_id)
    results = run_chunks(ctx, dispatches)

    assert len(results) == CHUNK * 2 + 5
    assert "find_by_sku" not in quickbooks.calls and "get" not in hubspot.calls
    assert Counter(quickbooks.calls)["write_many"] == 3  # one batch write per chunk
    assert Counter(hubspot.calls)["get_many"] == 3  # one batch read per chunk
    # Only the first chunk holds SKUs the destination has: the others read nothing there.
    assert Counter(quickbooks.calls)["get_many"] == 1
    run = run_row(ctx, run_id)
    assert (run.status, run.done, run.created, run.updated, run.failed) == (
        "finished",
        CHUNK * 2 + 5,
        CHUNK * 2 + 3,
        1,
        1,
    )
    entries = history(ctx)
    assert len(entries) == CHUNK * 2 + 5 and len({e.job_id for e in entries}) == len(entries)
    [dup] = [e for e in entries if e.sku == "B-002"]
    assert dup.error_code == "duplicate_sku_in_destination" and len(dup.details["ids"]) == 2
    [matched] = [e for e in entries if e.sku == "B-001"]
    assert (matched.action, matched.quickbooks_id) == ("updated", inactive.id)
    assert all(e.hubspot_id and e.quickbooks_id for e in entries if e.action == "created")
    assert len(quickbooks.by_sku("B-003")) == 1

    writes = len(quickbooks.writes)
    quickbooks.calls.clear()
    second, dispatches = full_sync(ctx, account_id)
    assert {r.outcome for _, r in run_chunks(ctx, dispatches)} == {
        "unchanged",
        "failed",
    }
    assert len(quickbooks.writes) == writes  # zero writes for unchanged products
    assert "find_by_sku" not in quickbooks.calls and "write_many" not in quickbooks.calls
    run = run_row(ctx, second)
    assert (run.status, run.unchanged, run.failed) == ("finished", CHUNK * 2 + 4, 1)


def test_a_failed_batch_read_retries_each_job_alone_and_a_redelivery_does_nothing(
    ctx: SyncContext, account_id: int, hubspot: MemoryCatalog, quickbooks: MemoryCatalog
) -> None:
    for n in range(5):
        hubspot.add(widget(f"R-{n}"))
    _, dispatches = full_sync(ctx, account_id)
    hubspot.fail_next("get_many", TransientError("HubSpot answered 502", system="hubspot"))
    results = run_chunks(ctx, dispatches)
    assert [r.outcome for _, r in results] == ["retrying"] * 5
    assert all(r.retry_in is not None for _, r in results)
    assert [e.status for e in history(ctx)] == ["retrying"] * 5
    assert quickbooks.writes == []

    for dispatch in dispatches:
        make_due(ctx, dispatch.job_id)
    run_jobs(ctx, dispatches)  # the retries go the per-product way
    assert len(quickbooks.writes) == 5
    with session_scope(ctx.database_url) as session:
        assert set(session.scalars(select(Job.status)).all()) == {"succeeded"}
    assert run_chunks(ctx, dispatches) == []  # a late duplicate of the chunk claims nothing
    assert len(quickbooks.writes) == 5 and len(history(ctx)) == 10


def test_a_product_refused_in_a_chunk_never_fails_its_neighbours(
    ctx: SyncContext, account_id: int, hubspot: MemoryCatalog, quickbooks: MemoryCatalog
) -> None:
    hubspot.add(widget("N-1"))
    hubspot.add(widget(None))  # missing SKU
    hubspot.add(widget("N-2", price="abc"))
    hubspot.add(widget("N-3"))
    archived = hubspot.add(widget("N-4"))
    _, dispatches = full_sync(ctx, account_id)
    hubspot.archive(archived.id)  # after the listing: the chunk's fresh read sees it
    quickbooks.fail_next("create", ValidationFailed("Invalid Number", system="quickbooks"))
    results = dict(run_chunks(ctx, dispatches))
    assert Counter(r.outcome for r in results.values()) == {
        "created": 1,
        "failed": 3,
        "skipped": 1,
    }
    codes = {(e.sku, e.error_code) for e in history(ctx)}
    assert {(None, "missing_sku"), ("N-2", "invalid_price"), (None, "source_archived")} <= codes
    assert all(e.error_message for e in history(ctx) if e.error_code)
    assert len(quickbooks.writes) == 1


def test_without_an_index_the_chunk_searches_its_skus_in_one_call(
    ctx: SyncContext, account_id: int, hubspot: MemoryCatalog, quickbooks: MemoryCatalog
) -> None:
    hubspot.add(widget("S-1"))
    existing = quickbooks.add({"Name": "Widget S-1", "Sku": "S-1"})
    run_id, dispatches = full_sync(ctx, account_id)
    sku_index.drop(ctx.redis, run_id)  # expired, or Redis lost it
    [(_, result)] = run_chunks(ctx, dispatches)
    assert result.outcome == "updated"
    assert quickbooks.calls.count("find_by_skus") == 1  # one search for the chunk
    assert "find_by_sku" not in quickbooks.calls
    assert [w.id for w in quickbooks.writes] == [existing.id]


def test_a_chunk_out_of_time_gives_its_jobs_back_unstarted(
    ctx: SyncContext,
    account_id: int,
    hubspot: MemoryCatalog,
    quickbooks: MemoryCatalog,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for n in range(3):
        hubspot.add(widget(f"T-{n}"))
    _, dispatches = full_sync(ctx, account_id)
    ids = [d.job_id for d in dispatches]
    monkeypatch.setattr("workers.engine.bulk.TIME_SHARE", 0.0)
    chunk = sync_chunk(ctx, ids)
    assert (chunk.results, chunk.deferred) == ([], [Deferral(ids, 0.0)])
    with session_scope(ctx.database_url) as session:
        rows = session.scalars(select(Job)).all()
        assert {(j.status, j.attempts, j.lease_owner) for j in rows} == {("pending", 0, None)}
    assert quickbooks.writes == [] and history(ctx) == []

    monkeypatch.setattr("workers.engine.bulk.TIME_SHARE", 0.5)
    assert [r.outcome for _, r in run_chunks(ctx, dispatches)] == ["created"] * 3


def test_a_lost_batch_answer_is_settled_per_product_without_a_duplicate(
    ctx: SyncContext, account_id: int, hubspot: MemoryCatalog, quickbooks: MemoryCatalog
) -> None:
    for n in range(4):
        hubspot.add(widget(f"L-{n}"))
    _, dispatches = full_sync(ctx, account_id)
    lost = TransientError("QuickBooks timed out", system="quickbooks")
    quickbooks.fail_next("write_many", lost, after_acting=True)  # written, answer lost
    results = run_chunks(ctx, dispatches)
    assert [r.outcome for _, r in results] == ["retrying"] * 4
    assert len(quickbooks.writes) == 4
    for dispatch in dispatches:
        assert job_row(ctx, dispatch.job_id).write_started_at is not None
        make_due(ctx, dispatch.job_id)
    run_jobs(ctx, dispatches)  # searches first (a write may have happened): no duplicate
    assert len(quickbooks.writes) == 4 and quickbooks.calls.count("find_by_sku") == 4
    # Found, already right: created by the batch whose answer was lost, and said so.
    assert {e.action for e in history(ctx)[-4:]} == {"created"}
    assert all("create was lost" in str((e.details or {}).get("notes")) for e in history(ctx)[-4:])


def test_odd_products_of_a_chunk_go_one_at_a_time_and_the_rest_in_one_batch(
    ctx: SyncContext,
    account_id: int,
    hubspot: MemoryCatalog,
    quickbooks: MemoryCatalog,
) -> None:
    for n in range(5):
        hubspot.add(widget(f"O-{n}"))
    quickbooks.add({"Name": "Widget O-1", "Sku": "elsewhere"})  # the name QBO will refuse
    busy = sku_lock(ctx.redis, account_id, "O-2", ttl_seconds=60)
    assert busy.acquire()  # another worker syncs O-2 right now
    _, dispatches = full_sync(ctx, account_id)
    results = dict(run_chunks(ctx, dispatches))
    busy.release()

    assert Counter(r.outcome for r in results.values()) == {"created": 4, "retrying": 1}
    # The name QBO refused is made unique and sent in a second batch, not one by one.
    assert Counter(quickbooks.calls)["write_many"] == 2 and "create" not in quickbooks.calls
    entries = {e.sku: e for e in history(ctx)}
    assert entries["O-2"].error_code == "lock_busy"
    renamed = entries["O-1"]
    assert (
        renamed.action == "created" and "already has an item named" in renamed.details["notes"][0]
    )
    [written] = quickbooks.by_sku("O-1")
    assert written.fields["Name"] != "Widget O-1"
    assert renamed.changes["Name"] == [None, written.fields["Name"]]


def test_without_an_index_linked_products_are_read_and_only_the_rest_searched(
    ctx: SyncContext, account_id: int, hubspot: MemoryCatalog, quickbooks: MemoryCatalog
) -> None:
    for n in range(4):
        hubspot.add(widget(f"X-{n}"))
    _, dispatches = full_sync(ctx, account_id)
    run_chunks(ctx, dispatches)
    [gone] = quickbooks.by_sku("X-1")
    del quickbooks.products[gone.id]  # deleted in QuickBooks behind our back
    hubspot.add(widget("X-9"))  # new since: no link
    quickbooks.calls.clear()
    run_id, dispatches = full_sync(ctx, account_id)
    sku_index.drop(ctx.redis, run_id)
    searched: list[Sequence[str]] = []
    find_by_skus = quickbooks.find_by_skus
    quickbooks.find_by_skus = lambda skus, **kw: searched.append(skus) or find_by_skus(skus, **kw)  # type: ignore[method-assign]
    results = dict(run_chunks(ctx, dispatches))
    assert Counter(r.outcome for r in results.values()) == {"unchanged": 3, "created": 2}
    assert searched == [["X-9"]]  # linked products are read by id, not searched
    # The stale link goes the per-product way: it searches, then creates X-1 again, once.
    assert quickbooks.calls.count("find_by_sku") == 1 and len(quickbooks.by_sku("X-1")) == 1
    assert Counter(quickbooks.calls)["get_many"] == 1
