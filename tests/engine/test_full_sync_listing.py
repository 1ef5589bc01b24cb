"""What a full sync's enumeration keeps of the source listing: one job per product,
announced a chunk at a time while the listing goes, and SKU conflicts only between
different products (found by each chunk's search of the source)."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from dataclasses import replace

import pytest
from sqlalchemy import select
from sqlalchemy.engine import make_url

from models import Job, SyncRun
from models.db import session_scope
from tests.engine.helpers import history
from tests.support.memory_catalog import MemoryCatalog
from workers.catalog.port import Record
from workers.engine import (
    Dispatch,
    SyncContext,
    enumerate_run,
    run_chunk_size,
    start_full_sync,
    sync_chunk,
)
from workers.errors import RetryableError


class _Repeating(MemoryCatalog):
    """Its listing returns the first product twice (a page boundary that moved), and
    lists the rest only once the first chunk was announced (it would wait forever for a
    listing that announces nothing before it ends)."""

    def __init__(self, system: str) -> None:
        super().__init__(system)  # type: ignore[arg-type]
        self.announced = threading.Event()
        self.waited_for_it: bool | None = None

    def iter_all(self, *, include_inactive: bool = False) -> Iterator[Record]:
        records = list(super().iter_all(include_inactive=include_inactive))
        yield from [records[0], records[0]]
        self.waited_for_it = self.announced.wait(timeout=10)
        yield from records[1:]


def test_the_listing_announces_chunks_as_it_goes_and_each_chunk_finds_shared_skus(
    ctx: SyncContext, account_id: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("workers.engine.full_sync.chunk_size", lambda _: 2)
    run: list[int] = []
    source = _Repeating("hubspot")
    twice = source.add({"name": "Twice", "hs_sku": "TWICE", "price": "1"})
    for n in range(3):
        source.add({"name": f"Shared {n}", "hs_sku": "SHARED", "price": "1"})
    source.add({"name": "Alone", "hs_sku": "ALONE", "price": "1"})
    destination = MemoryCatalog("quickbooks")
    listing = replace(
        ctx, catalogs=lambda system, _: source if system == "hubspot" else destination
    )
    with session_scope(ctx.database_url) as session:
        run.append(start_full_sync(session, account_id).id)
    chunks: list[list[Dispatch]] = []
    progress: list[tuple[str, int]] = []

    def announce(chunk: list[Dispatch]) -> None:
        with session_scope(ctx.database_url) as session:
            row = session.get(SyncRun, run[0])
            assert row is not None
            progress.append((row.status, row.total))
        chunks.append(chunk)
        source.announced.set()

    dispatches = enumerate_run(listing, run[0], announce)

    # Every two listed are committed and announced while the listing goes on (it lists
    # the rest only once the first chunk is out); the product listed twice is one job.
    assert source.waited_for_it is True
    assert [len(c) for c in chunks] == [1, 2, 2]
    assert progress == [("enumerating", 1), ("enumerating", 3), ("enumerating", 5)]
    with session_scope(ctx.database_url) as session:
        jobs = {j.id: j.source_id for j in session.scalars(select(Job)).all()}
        row = session.get(SyncRun, run[0])
        assert row is not None and (row.status, row.total, row.failed) == ("running", 5, 0)
    assert [d for c in chunks for d in c] == dispatches
    assert sorted(jobs[d.job_id] for d in dispatches) == sorted(source.products)

    for chunk in chunks:
        sync_chunk(listing, [d.job_id for d in chunk])
    shared = [e for e in history(ctx) if e.sku == "SHARED"]
    assert [e.error_code for e in shared] == ["duplicate_sku_in_source"] * 3
    assert all(sorted(e.details["ids"]) == sorted(_ids(source, "SHARED")) for e in shared)
    assert {r.sku for r in destination.products.values()} == {"TWICE", "ALONE"}
    assert twice.id in {e.hubspot_id for e in history(ctx) if e.action == "created"}
    with session_scope(ctx.database_url) as session:
        row = session.get(SyncRun, run[0])
        assert row is not None and (row.status, row.done, row.failed) == ("finished", 5, 3)


def _ids(catalog: MemoryCatalog, sku: str) -> list[str]:
    return [r.id for r in catalog.by_sku(sku)]


class _LaggingSearch(MemoryCatalog):
    """HubSpot's search index lags its writes: products in ``unindexed`` are not found."""

    def __init__(self) -> None:
        super().__init__("hubspot")
        self.unindexed: set[str] = set()

    def find_by_skus(self, skus, *, include_inactive: bool = True):  # type: ignore[no-untyped-def]
        found = super().find_by_skus(skus, include_inactive=include_inactive)
        return {sku: [r for r in rs if r.id not in self.unindexed] for sku, rs in found.items()}

    def find_by_sku(self, sku: str, *, include_inactive: bool = True) -> list[Record]:
        return self.find_by_skus([sku], include_inactive=include_inactive)[sku]


def test_a_shared_sku_the_source_search_misses_is_still_written_once(
    ctx: SyncContext, account_id: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two chunks, one SKU, and a source search that shows neither holder's twin: the
    second chunk's create finds the first one's link, searches the destination and
    refuses, instead of creating the SKU twice."""
    monkeypatch.setattr("workers.engine.full_sync.chunk_size", lambda _: 1)
    source = _LaggingSearch()
    first = source.add({"name": "First", "hs_sku": "TWIN", "price": "1"})
    second = source.add({"name": "Second", "hs_sku": "TWIN", "price": "2"})
    source.unindexed = {first.id, second.id}  # both just created
    destination = MemoryCatalog("quickbooks")
    listing = replace(
        ctx, catalogs=lambda system, _: source if system == "hubspot" else destination
    )
    with session_scope(ctx.database_url) as session:
        run_id = start_full_sync(session, account_id).id
    chunks: list[list[Dispatch]] = []
    enumerate_run(listing, run_id, chunks.append)
    for chunk in chunks:
        sync_chunk(listing, [d.job_id for d in chunk])

    assert [r.sku for r in destination.products.values()] == ["TWIN"]
    refused = [e for e in history(ctx) if e.action == "failed"]
    assert [(e.hubspot_id, e.error_code) for e in refused] == [
        (second.id, "duplicate_sku_in_source")
    ]
    assert refused[0].details["ids"] == sorted([first.id, second.id])


def test_a_listing_that_cannot_reach_postgres_is_retried_not_dropped(
    ctx: SyncContext, account_id: int
) -> None:
    """A Postgres restart as the listing starts: the task must retry (a retryable error),
    or the run waits for the sweeper's stall rule, ten leases from its start."""
    with session_scope(ctx.database_url) as session:
        run_id = start_full_sync(session, account_id).id
    unreachable = make_url(ctx.database_url).set(host="127.0.0.1", port=_closed_port())
    down = replace(ctx, database_url=unreachable.render_as_string(hide_password=False))
    with pytest.raises(RetryableError) as raised:
        run_chunk_size(down, run_id)  # the task's first read
    assert raised.value.code == "database_unavailable"
    with pytest.raises(RetryableError) as raised:
        enumerate_run(down, run_id)
    assert raised.value.code == "database_unavailable"
    assert enumerate_run(ctx, run_id) == []  # back up: it lists (an empty source here)
    with session_scope(ctx.database_url) as session:
        assert session.get(SyncRun, run_id).status == "finished"  # type: ignore[union-attr]


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])  # nothing listens there once closed
