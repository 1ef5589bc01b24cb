"""HTTP faults: 429 storms, daily quota, 5xx bursts, timeouts after the server acted,
stale SyncTokens, non-retryable 4xx. Real client rate limits here (vendor defaults)."""

from __future__ import annotations

from datetime import timedelta

import redis
from sqlalchemy import update

from models import Job, utcnow
from models.db import session_scope
from tests.support import oracle
from tests.support.faults import (
    QBO_WRITE,
    arrivals,
    circuit_worker,
    finished,
    job_where,
    max_in_window,
)
from tests.support.stack import Stack, StackAccount

QBO_PER_SECOND = 10  # the vendor default the client enforces (workers.ratelimit.limits)


def _throttled_account(stack: Stack) -> StackAccount:
    return stack.new_account("hubspot_to_quickbooks", rate_limits={})


def _storm(pipeline: Stack, retry_after: int | None) -> tuple[StackAccount, list]:  # type: ignore[type-arg]
    pipeline.start_worker("w2")
    acct = _throttled_account(pipeline)
    params = {"retry_after": retry_after} if retry_after else {}
    pipeline.quickbooks_admin.add_fault("throttle", account=acct.realm_id, times=4, params=params)
    for n in range(12):
        acct.hubspot_create(name=f"Storm {n}", hs_sku=f"STORM-{n}", price="1")
    verdict = oracle.check(pipeline, acct, timeout=60)
    assert verdict.by_status() == {"succeeded": 12}
    entries = pipeline.quickbooks_admin.ledger(account=acct.realm_id)
    assert max_in_window(entries, 1.0) <= QBO_PER_SECOND  # never above the limit
    return acct, entries


def test_429_storm_with_retry_after_across_workers(pipeline: Stack) -> None:
    _, entries = _storm(pipeline, retry_after=2)
    timed = arrivals(entries)
    throttled = [t for t, e in timed if e["status"] == 429]
    assert len(throttled) == 4
    # After the first 429 reached a worker, no worker sent anything until its deadline
    # (requests already in flight when it was answered are allowed: 0.3 s grace).
    first = throttled[0]
    quiet = [
        e for t, e in timed if first + timedelta(seconds=0.3) < t < first + timedelta(seconds=2)
    ]
    assert [e for e in quiet if e["status"] != 429] == [], quiet


def test_429_storm_without_retry_after(pipeline: Stack) -> None:
    _, entries = _storm(pipeline, retry_after=None)
    assert len([e for e in entries if e["status"] == 429]) == 4  # no retry storm


def test_daily_quota_exhausted_parks_then_resumes(pipeline: Stack) -> None:
    acct = pipeline.new_account("quickbooks_to_hubspot", rate_limits={})
    daily = {
        "status": "error",
        "message": "You have reached your daily limit.",
        "errorType": "RATE_LIMIT",
        "policyName": "DAILY",
        "category": "RATE_LIMITS",
    }
    pipeline.hubspot_admin.add_fault("status", account=acct.portal_id, status=429, body=daily)
    acct.quickbooks_create(Name="Quota", Sku="QUOTA-1", UnitPrice=3)
    job = pipeline.wait_for(lambda: job_where(acct, lambda j: j.status == "parked"))
    assert job.park_reason == "quota" and job.next_attempt_at > utcnow() + timedelta(minutes=1)
    calls = len(pipeline.hubspot_admin.ledger(account=acct.portal_id))
    verdict = oracle.check(pipeline, acct)  # parked with a reason is a valid end state
    assert len(pipeline.hubspot_admin.ledger(account=acct.portal_id)) == calls  # waits
    # Midnight in the portal's time zone: the vendor's block and the due time pass.
    client = redis.Redis.from_url(pipeline.redis.url)
    for key in client.scan_iter(match="*:blocked"):
        client.delete(key)
    with session_scope(pipeline.database_url) as session:
        session.execute(update(Job).where(Job.id == job.id).values(next_attempt_at=utcnow()))
    pipeline.wait_for(lambda: job_where(acct, lambda j: j.status == "succeeded"))
    verdict = oracle.check(pipeline, acct)
    assert verdict.by_status() == {"succeeded": 1}


def test_5xx_burst_is_retried_with_backoff(pipeline: Stack) -> None:
    acct = pipeline.new_account("hubspot_to_quickbooks")
    pipeline.quickbooks_admin.add_fault("system_fault", QBO_WRITE, account=acct.realm_id, times=3)
    acct.hubspot_create(name="Burst", hs_sku="BURST-1", price="8")
    verdict = oracle.check(pipeline, acct)
    [job] = verdict.jobs
    assert (job.status, job.attempts) == ("succeeded", 4)
    assert [e.status for e in acct.history()] == ["retrying"] * 3 + ["succeeded"]


def test_5xx_bursts_open_the_circuit_which_recovers(pipeline: Stack) -> None:
    cooldown = 2.0
    circuit_worker(pipeline, cooldown=cooldown)
    acct = pipeline.new_account("hubspot_to_quickbooks")
    pipeline.quickbooks_admin.add_fault("system_fault", account=acct.realm_id, times=3)
    for n in range(3):
        acct.hubspot_create(name=f"Circuit {n}", hs_sku=f"CIRCUIT-{n}", price="1")
    # Parked is a valid end state for the oracle: first wait for the circuit to close.
    pipeline.wait_for(
        lambda: finished(acct, 3) and not job_where(acct, lambda j: j.status == "parked"),
        timeout=40,
    )
    verdict = oracle.check(pipeline, acct, timeout=60)
    assert verdict.by_status() == {"succeeded": 3}
    # The 500s were retries; the open circuit held the jobs back without a try (a poll's
    # chunk waits whole, its jobs parked as circuit_open; one alone is parked with a row).
    history = acct.history()
    assert any(e.status == "retrying" for e in history)
    assert all(e.status == "parked" for e in history if e.error_code == "circuit_open")
    # While open, nothing reached QuickBooks for this company; then a trial closed it.
    timed = arrivals(pipeline.quickbooks_admin.ledger(account=acct.realm_id))
    opened = [t for t, e in timed if e["status"] == 500][-1]
    pause = (opened + timedelta(seconds=0.3), opened + timedelta(seconds=cooldown - 0.2))
    assert [e["path"] for t, e in timed if pause[0] < t < pause[1]] == []


def test_timeout_after_the_server_acted_creates_once_in_quickbooks(pipeline: Stack) -> None:
    acct = pipeline.new_account("hubspot_to_quickbooks")
    # Longer than the client's 5 s read timeout; the item is created anyway.
    pipeline.quickbooks_admin.add_fault(
        "hang", QBO_WRITE, method="POST", account=acct.realm_id, seconds=5.5
    )
    acct.hubspot_create(name="Timed out", hs_sku="TIMEOUT-Q", price="6")
    verdict = oracle.check(pipeline, acct)
    [job] = verdict.jobs
    assert job.status == "succeeded" and job.attempts >= 2
    assert oracle.creates_by_sku(pipeline, acct, "quickbooks")["TIMEOUT-Q"] == 1


def test_lost_response_after_the_server_acted_creates_once_in_hubspot(pipeline: Stack) -> None:
    acct = pipeline.new_account("quickbooks_to_hubspot")
    pipeline.hubspot_admin.add_fault(
        "lose_response", r"/batch/upsert$", method="POST", account=acct.portal_id
    )
    # HubSpot's search shows a new product seconds late: the retry cannot rely on it.
    lag = {"search_lag_create_ms": 3000, "search_lag_update_ms": 3000}
    pipeline.hubspot_admin.set_knobs(**lag)
    try:
        acct.quickbooks_create(Name="Lost answer", Sku="LOST-H", UnitPrice=6)
        verdict = oracle.check(pipeline, acct)
    finally:
        pipeline.hubspot_admin.set_knobs(**{k: pipeline.timings.search_lag_ms for k in lag})
    [job] = verdict.jobs
    assert job.status == "succeeded" and job.attempts >= 2
    assert oracle.creates_by_sku(pipeline, acct, "hubspot")["LOST-H"] == 1


def test_stale_synctoken_race_ends_with_the_newest_values(pipeline: Stack) -> None:
    acct = pipeline.new_account("hubspot_to_quickbooks")
    product = acct.hubspot_create(name="Racy", hs_sku="RACE-1", price="1")
    oracle.check(pipeline, acct)
    pipeline.quickbooks_admin.add_fault(
        "stale_synctoken", QBO_WRITE, method="POST", account=acct.realm_id, times=2
    )
    acct.hubspot_update(product, price="2.50", name="Racy v2")
    verdict = oracle.check(pipeline, acct)  # G1 compares with the current source values
    assert verdict.jobs[-1].status == "succeeded"
    assert any(e.vendor_code == "5010" for e in acct.history())


def test_non_retryable_4xx_fails_at_once_with_a_clear_error(pipeline: Stack) -> None:
    acct = pipeline.new_account("hubspot_to_quickbooks")
    error = {
        "Message": "A business validation error has occurred",
        "Detail": "Business Validation Error: Unit price is not valid.",
        "code": "6000",
        "element": "",
    }
    fault = {"Fault": {"Error": [error], "type": "ValidationFault"}, "time": "2026-01-01T00:00:00Z"}
    pipeline.quickbooks_admin.add_fault(
        "status", QBO_WRITE, method="POST", account=acct.realm_id, status=400, body=fault
    )
    acct.hubspot_create(name="Refused", hs_sku="REFUSED-1", price="1")
    verdict = oracle.check(pipeline, acct)
    [job] = verdict.jobs
    assert (job.status, job.attempts) == ("failed", 1)  # zero retries
    [entry] = acct.history()
    assert entry.vendor_code == "6000" and "Unit price" in (entry.error_message or "")
    creates = pipeline.quickbooks_admin.ledger(account=acct.realm_id, path=QBO_WRITE)
    assert len(creates) == 1


def test_a_full_sync_listing_that_opens_the_circuit_waits_and_then_finishes(
    pipeline: Stack,
) -> None:
    circuit_worker(pipeline, cooldown=2)
    acct = pipeline.new_account("hubspot_to_quickbooks")
    for n in range(4):
        acct.hubspot_create(name=f"Listed {n}", hs_sku=f"LISTED-{n}", price="1")
    # HubSpot fails for this portal (the listing, and the polls in between, which would
    # otherwise reset the count): three 500s in a row open the circuit.
    pipeline.hubspot_admin.add_fault("status", account=acct.portal_id, status=500, times=5)
    run_id = acct.full_sync()
    waiting = pipeline.wait_for(
        lambda: (r := acct.run(run_id)).status == "waiting" and r, timeout=30, interval=0.05
    )
    assert waiting.wait_reason is not None and waiting.wait_reason.startswith("[circuit_open]")
    assert waiting.next_attempt_at is not None and waiting.finished_at is None
    done = pipeline.wait_for(lambda: (r := acct.run(run_id)).status == "finished" and r, timeout=60)
    assert (done.total, done.failed, done.wait_reason) == (4, 0, None)
    oracle.check(pipeline, acct, timeout=60)
