"""sync_product against behaving in-memory catalogs: creates, updates, no-ops, errors."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

from sqlalchemy import select

from models import ProductLink
from models.db import session_scope
from tests.engine.helpers import history, job, make_due, run_jobs
from tests.support.memory_catalog import MemoryCatalog
from workers.engine import SyncContext, poll_account, sync_product
from workers.engine.accounts import set_direction
from workers.engine.locks import sku_lock
from workers.errors import TransientError


def widget(sku: str | None = "WIDGET-001", **extra: str) -> dict[str, str | None]:
    return {
        "name": f"Widget {sku}",
        "hs_sku": sku,
        "description": "A widget",
        "price": "19.99",
    } | extra


def test_create_then_unchanged_then_one_update(
    ctx: SyncContext, account_id: int, hubspot: MemoryCatalog, quickbooks: MemoryCatalog
) -> None:
    source = hubspot.add(widget())
    run_jobs(ctx, poll_account(ctx, account_id))

    [item] = quickbooks.products.values()
    assert item.fields["Name"] == "Widget WIDGET-001"
    assert item.fields["Sku"] == "WIDGET-001"
    assert item.fields["UnitPrice"] == Decimal("19.99")
    assert item.fields["IncomeAccountRef"] == {"value": "79"}
    [entry] = history(ctx)
    assert (entry.status, entry.action) == ("succeeded", "created")
    assert (entry.hubspot_id, entry.quickbooks_id, entry.sku) == (source.id, item.id, "WIDGET-001")
    assert entry.changes["UnitPrice"] == [None, "19.99"]

    # The overlap re-reads the same change: no new job, nothing written.
    assert poll_account(ctx, account_id) == []
    hubspot.edit(source.id, price="25")
    run_jobs(ctx, poll_account(ctx, account_id))
    assert [w.op for w in quickbooks.writes] == ["create", "update"]
    assert quickbooks.writes[-1].fields == {"UnitPrice": Decimal("25")}
    assert history(ctx)[-1].changes == {"UnitPrice": ["19.99", "25"]}

    hubspot.edit(source.id, description="A widget")  # touched, mapped values equal
    run_jobs(ctx, poll_account(ctx, account_id))
    assert len(quickbooks.writes) == 2
    assert history(ctx)[-1].action == "unchanged"


def test_quickbooks_to_hubspot(
    ctx: SyncContext, account_id: int, hubspot: MemoryCatalog, quickbooks: MemoryCatalog
) -> None:
    with session_scope(ctx.database_url) as session:
        set_direction(session, account_id, "quickbooks_to_hubspot")
    item = quickbooks.add({"Name": "Gadget", "Sku": "G-1", "UnitPrice": Decimal("7.5")})
    run_jobs(ctx, poll_account(ctx, account_id))
    [product] = hubspot.products.values()
    assert product.fields["hs_sku"] == "G-1"
    assert product.fields["name"] == "Gadget"
    assert Decimal(product.fields["price"]) == Decimal("7.5")
    assert history(ctx)[-1].quickbooks_id == item.id
    assert quickbooks.writes == []  # the source is never written


def test_duplicate_delivery_writes_once(
    ctx: SyncContext, account_id: int, hubspot: MemoryCatalog, quickbooks: MemoryCatalog
) -> None:
    hubspot.add(widget())
    [dispatch] = poll_account(ctx, account_id)
    first = sync_product(ctx, dispatch.job_id)
    second = sync_product(ctx, dispatch.job_id)
    assert (first.outcome, second.outcome) == ("created", "duplicate")
    assert len(quickbooks.writes) == 1
    assert len(history(ctx)) == 1


def test_terminal_errors_recorded_while_the_rest_succeed(
    ctx: SyncContext, account_id: int, hubspot: MemoryCatalog, quickbooks: MemoryCatalog
) -> None:
    hubspot.add(widget("OK-1"))
    hubspot.add(widget(None))  # missing SKU
    hubspot.add(widget("BAD-PRICE", price="abc"))
    hubspot.add(widget("TWIN"))
    hubspot.add(widget("TWIN"))
    quickbooks.add({"Name": "a", "Sku": "TAKEN"})
    quickbooks.add({"Name": "b", "Sku": "TAKEN"})
    hubspot.add(widget("TAKEN"))
    run_jobs(ctx, poll_account(ctx, account_id))

    outcomes = {(e.sku, e.error_code) for e in history(ctx)}
    assert ("OK-1", None) in outcomes
    assert (None, "missing_sku") in outcomes
    assert ("BAD-PRICE", "invalid_price") in outcomes
    assert [e.error_code for e in history(ctx) if e.sku == "TWIN"] == [
        "duplicate_sku_in_source"
    ] * 2
    [taken] = [e for e in history(ctx) if e.sku == "TAKEN"]
    assert taken.error_code == "duplicate_sku_in_destination"
    assert len(taken.details["ids"]) == 2
    assert all(e.error_message for e in history(ctx) if e.error_code)
    assert [w.fields["Sku"] for w in quickbooks.writes] == ["OK-1"]


def test_sku_is_matched_exactly(
    ctx: SyncContext, account_id: int, hubspot: MemoryCatalog, quickbooks: MemoryCatalog
) -> None:
    existing = quickbooks.add({"Name": "Widget w-1", "Sku": "w-1"})
    hubspot.add(widget("W-1"))
    run_jobs(ctx, poll_account(ctx, account_id))
    assert history(ctx)[-1].action == "created"
    assert quickbooks.products[existing.id].fields["Sku"] == "w-1"


def test_renamed_sku_updates_the_linked_product(
    ctx: SyncContext, account_id: int, hubspot: MemoryCatalog, quickbooks: MemoryCatalog
) -> None:
    source = hubspot.add(widget("OLD"))
    run_jobs(ctx, poll_account(ctx, account_id))
    hubspot.edit(source.id, hs_sku="NEW")
    run_jobs(ctx, poll_account(ctx, account_id))
    [item] = quickbooks.products.values()
    assert item.fields["Sku"] == "NEW"
    with session_scope(ctx.database_url) as session:
        [link] = session.scalars(select(ProductLink)).all()
    assert (link.sku, link.quickbooks_id) == ("NEW", item.id)


def test_duplicate_name_is_disambiguated_once(
    ctx: SyncContext, account_id: int, hubspot: MemoryCatalog, quickbooks: MemoryCatalog
) -> None:
    quickbooks.add({"Name": "Widget", "Sku": "OTHER"})
    hubspot.add(widget("W-2", name="Widget"))
    run_jobs(ctx, poll_account(ctx, account_id))
    created = quickbooks.by_sku("W-2")
    assert len(created) == 1 and created[0].fields["Name"] != "Widget"
    entry = history(ctx)[-1]
    assert entry.action == "created" and "Widget" in entry.details["notes"][-1]


def test_transient_failure_retries_with_the_same_request_id(
    ctx: SyncContext, account_id: int, hubspot: MemoryCatalog, quickbooks: MemoryCatalog
) -> None:
    hubspot.add(widget())
    quickbooks.fail_next("create", TransientError("timed out", retry_after=5))
    [dispatch] = poll_account(ctx, account_id)
    before = job(ctx, dispatch.job_id).request_id
    first = sync_product(ctx, dispatch.job_id)
    assert first.outcome == "retrying" and first.retry_in is not None and first.retry_in >= 5
    pending = job(ctx, dispatch.job_id)
    assert pending.status == "pending" and pending.request_id == before
    assert sync_product(ctx, dispatch.job_id).outcome == "duplicate"  # not due yet
    make_due(ctx, dispatch.job_id)
    run_jobs(ctx, [dispatch])
    assert [w.request_id for w in quickbooks.writes] == [before]
    assert [e.status for e in history(ctx)] == ["retrying", "succeeded"]


def test_waiting_for_another_workers_sku_lock_never_exhausts_the_job(
    ctx: SyncContext, account_id: int, hubspot: MemoryCatalog, quickbooks: MemoryCatalog
) -> None:
    hubspot.add(widget())
    [dispatch] = poll_account(ctx, account_id)
    # Left behind by a worker that lost Redis mid-attempt: held until its lease ends.
    held = sku_lock(ctx.redis, account_id, "WIDGET-001", ttl_seconds=60)
    assert held.acquire()
    for _ in range(ctx.settings.max_attempts + 2):
        assert sync_product(ctx, dispatch.job_id).outcome == "retrying"
        make_due(ctx, dispatch.job_id)
    assert job(ctx, dispatch.job_id).attempts == 0
    held.release()
    assert run_jobs(ctx, [dispatch])[-1].outcome == "created"
    assert {e.error_code for e in history(ctx)} == {"lock_busy", None}


def test_archived_source_is_skipped(
    ctx: SyncContext, account_id: int, hubspot: MemoryCatalog, quickbooks: MemoryCatalog
) -> None:
    source = hubspot.add(widget())
    [dispatch] = poll_account(ctx, account_id)
    hubspot.archive(source.id)
    run_jobs(ctx, [dispatch])
    entry = history(ctx)[-1]
    assert (entry.status, entry.action, entry.error_code) == (
        "skipped",
        "skipped",
        "source_archived",
    )
    assert quickbooks.writes == []


def test_hubspot_create_with_unknown_outcome_waits_for_search_then_finds_it(
    ctx: SyncContext, account_id: int, hubspot: MemoryCatalog, quickbooks: MemoryCatalog
) -> None:
    with session_scope(ctx.database_url) as session:
        set_direction(session, account_id, "quickbooks_to_hubspot")
    quickbooks.add({"Name": "Lamp", "Sku": "L-1", "UnitPrice": Decimal("3")})
    # HubSpot creates the product but the response never arrives (no idempotency key).
    hubspot.fail_next("create", TransientError("read timed out"), after_acting=True)
    [dispatch] = poll_account(ctx, account_id)
    assert sync_product(ctx, dispatch.job_id).outcome == "retrying"
    assert job(ctx, dispatch.job_id).write_started_at is not None

    make_due(ctx, dispatch.job_id)
    assert sync_product(ctx, dispatch.job_id).outcome == "retrying"
    assert history(ctx)[-1].error_code == "awaiting_search_index"

    later = replace(ctx, settings=ctx.settings.replace(poll_overlap_seconds=0.0))
    make_due(ctx, dispatch.job_id)
    # Found, not re-created; recorded as the create it was.
    assert sync_product(later, dispatch.job_id).outcome == "created"
    assert len(hubspot.by_sku("L-1")) == 1
    assert job(ctx, dispatch.job_id).write_started_at is None
