"""A full sync keeps to its batches through passing faults (issue 11): a 429 storm and a
QuickBooks 5xx burst that opens the circuit, during a full sync of 2,000 products. The
chunks wait, or go back to the queue whole, and come back as chunks; the oracle still
finds nothing lost and nothing duplicated."""

from __future__ import annotations

import time

from tests.e2e.test_full_sync import POLL_EXPIRY, by_path, set_poll_interval, vendor_calls
from tests.support import oracle
from tests.support.faults import circuit_worker, job_where
from tests.support.stack import Stack

PRODUCTS = 2000


def test_a_429_storm_and_an_open_circuit_during_a_full_sync_of_2000(pipeline: Stack) -> None:
    circuit_worker(pipeline, cooldown=2)
    acct = pipeline.new_account("hubspot_to_quickbooks", rate_limits={})  # the real limits
    set_poll_interval(pipeline, acct, 3600)  # the full sync alone
    time.sleep(POLL_EXPIRY + 0.5)
    route = f"hubspot/portals/{acct.portal_id}/seed"
    assert pipeline.hubspot_admin.vendor("POST", route, json={"count": PRODUCTS, "seed": 11})[
        "created"
    ] == PRODUCTS
    qbo = pipeline.quickbooks_admin
    # The first six batches are throttled, the next four fail: three in a row open the
    # circuit, which then refuses every call for its cooldown.
    qbo.add_fault("throttle", r"/batch$", account=acct.realm_id, times=6,
                  params={"retry_after": 1})  # fmt: skip
    qbo.add_fault("system_fault", r"/batch$", account=acct.realm_id, times=4)
    before = vendor_calls(pipeline, acct)

    run_id = acct.full_sync()
    pipeline.wait_for(lambda: acct.run(run_id).status == "finished", timeout=240, interval=0.5)
    verdict = oracle.check(pipeline, acct, timeout=60, polled=False)

    run = acct.run(run_id)
    assert (run.total, run.created, run.failed) == (PRODUCTS, PRODUCTS, 0)
    assert verdict.by_status() == {"succeeded": PRODUCTS}
    ledger = qbo.ledger(account=acct.realm_id)
    statuses = [e["status"] for e in ledger if e["path"].endswith("/batch")]
    assert statuses.count(429) == 6 and statuses.count(500) == 4  # the faults did happen
    # Still in batches: nothing went one product at a time for the faults; a name QBO
    # refused as a duplicate is written again renamed (alone when fewer than four remain).
    calls = by_path(pipeline, acct)
    renamed = [e for e in acct.history() if "already has an item named" in str(e.details)]
    singles = sum(n for path, n in calls.items() if path.endswith("/item"))
    assert singles <= len(renamed), calls
    per_product = (vendor_calls(pipeline, acct) - before) / PRODUCTS
    assert per_product <= 0.12, calls  # one at a time it would be about 3
    print(f"\nfull sync of {PRODUCTS} through a 429 storm and an open circuit: "
          f"{per_product:.3f} vendor calls per product")  # fmt: skip


def test_a_chunk_whose_worker_died_comes_back_as_a_chunk_soon(pipeline: Stack) -> None:
    acct = pipeline.new_account("hubspot_to_quickbooks")
    set_poll_interval(pipeline, acct, 3600)
    time.sleep(POLL_EXPIRY + 0.5)
    route = f"hubspot/portals/{acct.portal_id}/seed"
    pipeline.hubspot_admin.vendor("POST", route, json={"count": 180, "seed": 12})
    # QBO performs the first batches 3 s after they arrive: the worker dies meanwhile,
    # so their answers are lost too.
    pipeline.quickbooks_admin.add_fault(
        "hang", r"/batch$", method="POST", account=acct.realm_id, seconds=3.0, times=3
    )
    run_id = acct.full_sync()
    pipeline.wait_for(lambda: job_where(acct, lambda j: j.write_started_at is not None))
    [worker] = [p for p in pipeline.processes if p.name == "w1"]
    worker.kill()  # master and pool at once, the chunk and its lease keeper with them
    killed = time.monotonic()
    pipeline.processes.remove(worker)
    replacement = pipeline.start_worker("w1")

    pipeline.wait_for(lambda: acct.run(run_id).status == "finished", timeout=60)
    resumed = time.monotonic() - killed
    verdict = oracle.check(pipeline, acct, timeout=60, polled=False)

    assert verdict.by_status() == {"succeeded": 180}
    # The chunk's lease (5 s here: at most the job lease) ran out and the sweeper sent its
    # jobs again as a chunk of their run, not one message per product.
    log = replacement.output()
    assert "Task productsync.sync_chunk[" in log and "Task productsync.sync_product[" not in log
    lost = [e for e in acct.history() if "create was lost" in str(e.details)]
    assert lost and all(e.action == "created" for e in lost)
    print(f"\nchunk of a killed worker: run finished {resumed:.1f} s after the kill")
