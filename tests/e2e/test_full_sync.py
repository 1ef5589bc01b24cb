"""A full sync of 1,000 products on the `bulk` queue, then a second that writes nothing."""

from __future__ import annotations

import time

import pytest

from tests.support.stack import Stack

pytestmark = pytest.mark.e2e

PRODUCTS = 1000


def test_full_sync_of_a_thousand_then_a_second_that_writes_nothing(pipeline: Stack) -> None:
    acct = pipeline.new_account("hubspot_to_quickbooks")
    seeded = pipeline.hubspot_admin.vendor(
        "POST", f"hubspot/portals/{acct.portal_id}/seed", json={"count": PRODUCTS, "seed": 7}
    )
    assert seeded["created"] == PRODUCTS

    started = time.monotonic()
    first = acct.full_sync()
    progress = []

    def finished() -> bool:
        run = acct.run(first)
        progress.append(run.done)
        return run.status == "finished"

    pipeline.wait_for(finished, timeout=180, interval=0.5)
    elapsed = time.monotonic() - started
    run = acct.run(first)
    assert (run.total, run.done, run.created, run.failed) == (PRODUCTS, PRODUCTS, PRODUCTS, 0)
    assert any(0 < done < PRODUCTS for done in progress)  # readable while it ran
    history = [e for e in acct.history() if e.run_id == first]
    finals = [e for e in history if e.status in ("succeeded", "failed", "skipped")]
    assert len(finals) == PRODUCTS
    assert len({e.job_id for e in finals}) == PRODUCTS  # one final row per product
    assert len({i["Sku"] for i in acct.quickbooks_items()}) == PRODUCTS
    mark = len(acct.writes("quickbooks"))
    assert mark == PRODUCTS
    print(f"\nfull sync of {PRODUCTS}: {elapsed:.1f}s ({PRODUCTS / elapsed:.0f} products/s)")

    second = acct.full_sync()
    pipeline.wait_for(lambda: acct.run(second).status == "finished", timeout=180, interval=0.5)
    run = acct.run(second)
    assert (run.done, run.unchanged, run.created, run.updated) == (PRODUCTS, PRODUCTS, 0, 0)
    assert len(acct.writes("quickbooks")) == mark  # the ledger shows zero writes

    # Editing one product produces exactly one write.
    product = acct.hubspot_products()[0]
    acct.hubspot_update(product["id"], price="123.45")
    pipeline.wait_for(lambda: len(acct.writes("quickbooks")) > mark and acct.quiet(), timeout=30)
    time.sleep(2)  # a few more polls: still exactly one
    assert len(acct.writes("quickbooks")) == mark + 1
