"""A full sync of 1,000 products on the `bulk` queue, then a second that writes nothing."""

from __future__ import annotations

import math
import re
import time
from collections import Counter

import pytest
from sqlalchemy import update

from models import Account
from models.db import session_scope
from tests.support.stack import Stack
from tests.support.stack_account import StackAccount
from workers.engine.bulk import chunk_size

pytestmark = pytest.mark.e2e

PRODUCTS = 1000
POLL_EXPIRY = 5.0  # tasks.sync._expiry with the stack's one-second poll interval


def vendor_calls(pipeline: Stack, acct: StackAccount) -> int:
    """Every call the service made for this account, in both systems (emulator ledgers)."""
    hubspot = pipeline.hubspot_admin.counts(account=acct.portal_id)
    quickbooks = pipeline.quickbooks_admin.counts(account=acct.realm_id)
    return sum(hubspot.values()) + sum(quickbooks.values())


def by_path(pipeline: Stack, acct: StackAccount) -> Counter[str]:
    """Calls per system, kind and path shape: what a failed call budget spent calls on."""
    found: Counter[str] = Counter()
    for system, account in (("hubspot", acct.portal_id), ("quickbooks", acct.realm_id)):
        for e in pipeline.admin(system).ledger(account=account):
            found[f"{system} {e['kind']} {re.sub(r'/[0-9]+', '/N', e['path'])}"] += 1
    return found


def set_poll_interval(pipeline: Stack, acct: StackAccount, seconds: int) -> None:
    with session_scope(pipeline.database_url) as session:
        session.execute(
            update(Account).where(Account.id == acct.id).values(poll_interval_seconds=seconds)
        )


def writes(pipeline: Stack, acct: StackAccount, system: str) -> int:
    """Successful product write calls of the service in ``system``: single writes and
    batch writes (HubSpot batch/upsert|update, QBO /batch); batch reads and HubSpot's
    one-time write-id property do not count."""
    account = acct.portal_id if system == "hubspot" else acct.realm_id
    entries = pipeline.admin(system).ledger(account=account)
    return sum(
        1
        for e in entries
        if e["status"] is not None
        and e["status"] < 300
        and not e["path"].startswith("/crm/v3/properties")
        and (e["kind"] == "write" or re.search(r"/batch(/(upsert|create|update))?$", e["path"]))
    )


@pytest.mark.parametrize("direction", ["hubspot_to_quickbooks", "quickbooks_to_hubspot"])
def test_full_sync_of_a_thousand_then_a_second_that_writes_nothing(
    pipeline: Stack, direction: str
) -> None:
    acct = pipeline.new_account(direction)  # type: ignore[arg-type]
    # Polls would sync freshly seeded QBO items too (they changed just now): measure the
    # full sync alone, then poll again for the edit below.
    set_poll_interval(pipeline, acct, 3600)
    time.sleep(POLL_EXPIRY + 0.5)  # a poll announced before that has run or expired
    if direction == "hubspot_to_quickbooks":
        source, destination = "hubspot", "quickbooks"
        route, body = f"hubspot/portals/{acct.portal_id}/seed", {"seed": 7}
    else:
        source, destination = "quickbooks", "hubspot"
        route, body = f"quickbooks/realms/{acct.realm_id}/seed", {"rng_seed": 7}
    seeded = pipeline.admin(source).vendor("POST", route, json={"count": PRODUCTS, **body})
    assert seeded["created"] == PRODUCTS
    before = vendor_calls(pipeline, acct)

    # Batched, 1,000 products take about a second at zero latency: a little latency on
    # the destination stretches the run so that its progress can be watched.
    # (Into HubSpot a chunk holds 400 and writes four batches at once: more latency.)
    pipeline.admin(destination).set_knobs(latency_ms=50 if destination == "quickbooks" else 300)
    started = time.monotonic()
    first = acct.full_sync()
    progress = []

    def finished() -> bool:
        run = acct.run(first)
        progress.append(run.done)
        return run.status == "finished"

    try:
        pipeline.wait_for(finished, timeout=180, interval=0.2)
    finally:
        pipeline.admin(destination).set_knobs(latency_ms=0)
    elapsed = time.monotonic() - started
    run = acct.run(first)
    counts = (run.total, run.done, run.created, run.updated, run.skipped, run.failed)
    assert counts == (PRODUCTS, PRODUCTS, PRODUCTS, 0, 0, 0), [
        (e.action, e.error_code, e.error_message) for e in acct.history() if e.action != "created"
    ]
    assert any(0 < done < PRODUCTS for done in progress), progress  # readable while it ran
    history = [e for e in acct.history() if e.run_id == first]
    finals = [e for e in history if e.status in ("succeeded", "failed", "skipped")]
    assert len(finals) == PRODUCTS
    assert len({e.job_id for e in finals}) == PRODUCTS  # one final row per product
    assert all(e.hubspot_id and e.quickbooks_id for e in finals)
    products = (
        [p["properties"]["hs_sku"] for p in acct.hubspot_products()]
        if destination == "hubspot"
        else [i.get("Sku") for i in acct.quickbooks_items()]
    )
    assert len(products) == len(set(products)) == PRODUCTS  # each created once
    mark = writes(pipeline, acct, destination)
    # Batch writes: per chunk, HubSpot upserts of ≤ 100 or QBO batches of ≤ 30; a product
    # whose name QBO already has is written again, renamed.
    size = chunk_size(direction)
    per_chunk = math.ceil(size / 100) if destination == "hubspot" else math.ceil(size / 30)
    renamed = sum(1 for e in finals if "already has an item named" in str(e.details))
    budget = per_chunk * math.ceil(PRODUCTS / size) + renamed
    assert 0 < mark <= budget, (renamed, by_path(pipeline, acct))
    calls = vendor_calls(pipeline, acct) - before
    # Listings of both systems, one batch read per chunk, batch writes.
    assert calls / PRODUCTS <= 0.15, by_path(pipeline, acct)
    print(
        f"\nfull sync of {PRODUCTS} {direction}: {elapsed:.1f}s "
        f"({PRODUCTS / elapsed:.0f} products/s), {calls / PRODUCTS:.3f} calls per product"
    )

    before = vendor_calls(pipeline, acct)
    second = acct.full_sync()
    pipeline.wait_for(lambda: acct.run(second).status == "finished", timeout=180, interval=0.5)
    run = acct.run(second)
    assert (run.done, run.unchanged, run.created, run.updated) == (PRODUCTS, PRODUCTS, 0, 0)
    assert writes(pipeline, acct, destination) == mark  # the ledger shows zero writes
    assert (vendor_calls(pipeline, acct) - before) / PRODUCTS <= 0.1
    if direction == "quickbooks_to_hubspot":
        return

    # Editing one product produces exactly one write.
    mark = len(acct.writes("quickbooks"))
    set_poll_interval(pipeline, acct, int(pipeline.timings.poll_interval))
    product = acct.hubspot_products()[0]
    acct.hubspot_update(product["id"], price="123.45")
    pipeline.wait_for(lambda: len(acct.writes("quickbooks")) > mark and acct.quiet(), timeout=30)
    time.sleep(2)  # a few more polls: still exactly one
    assert len(acct.writes("quickbooks")) == mark + 1
