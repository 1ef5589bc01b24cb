"""What a full sync's enumeration keeps of the source listing: one job per product, and
SKU conflicts only between different products."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import pytest
from sqlalchemy import select

from models import Job, SyncRun
from models.db import session_scope
from tests.engine.helpers import history
from tests.support.memory_catalog import MemoryCatalog
from workers.catalog.port import Record
from workers.engine import SyncContext, enumerate_run, start_full_sync


class _Repeating(MemoryCatalog):
    """Its listing returns the first product twice (a page boundary that moved)."""

    def iter_all(self, *, include_inactive: bool = False) -> Iterator[Record]:
        records = list(super().iter_all(include_inactive=include_inactive))
        yield from [records[0], *records]


def test_a_product_listed_twice_is_one_job_and_no_sku_conflict(
    ctx: SyncContext, account_id: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("workers.engine.full_sync.INSERT_SLICE", 2)  # several slices
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
        run_id = start_full_sync(session, account_id).id
    dispatches = enumerate_run(listing, run_id)
    with session_scope(ctx.database_url) as session:
        jobs = {j.id: j.source_id for j in session.scalars(select(Job)).all()}
        run = session.get(SyncRun, run_id)
        assert run is not None and (run.total, run.failed) == (5, 3)
    assert sorted(jobs[d.job_id] for d in dispatches) == sorted([twice.id, *_ids(source, "ALONE")])
    shared = [e for e in history(ctx) if e.sku == "SHARED"]
    assert [e.error_code for e in shared] == ["duplicate_sku_in_source"] * 3
    assert shared[0].details["ids"] == sorted(_ids(source, "SHARED"))


def _ids(catalog: MemoryCatalog, sku: str) -> list[str]:
    return [r.id for r in catalog.by_sku(sku)]
