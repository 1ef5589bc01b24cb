"""The shared rate budget on a real (throwaway) Redis, and against the QBO emulator's own
throttle with several worker processes (ledger-checked)."""

from __future__ import annotations

import multiprocessing
import time
import uuid
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from models.credential import Credential
from models.db import session_scope
from tests.connectors.conftest import QboWorld, spawn_find_skus
from tests.connectors.procs import hold_leases_and_die
from workers.errors import QuotaExhausted, RateLimited, TransientError
from workers.http.caller import VendorCaller
from workers.http.circuit import Circuit
from workers.ratelimit import RateBudget, hubspot_limits, limits_for, quickbooks_limits


def _budget(rclient: redis.Redis, system: str = "quickbooks", **kw: object) -> RateBudget:
    limits = limits_for(system, kw.pop("overrides", None))  # type: ignore[arg-type]
    return RateBudget(rclient, system, uuid.uuid4().hex[:8], limits, **kw)  # type: ignore[arg-type]


def test_window_refuses_beyond_limit_with_the_wait(rclient: redis.Redis) -> None:
    budget = _budget(rclient, "hubspot", overrides={"burst_per_10s": 3}, max_wait=0.2)
    for _ in range(3):
        budget.acquire().release()
    with pytest.raises(RateLimited) as caught:
        budget.acquire()
    assert 9.5 < (caught.value.retry_after or 0) <= 10.2  # the window plus its margin


def test_available_in_tells_the_wait_and_takes_nothing(rclient: redis.Redis) -> None:
    budget = _budget(rclient, "quickbooks", overrides={"batch_per_minute": 2}, max_wait=0)
    assert budget.available_in("batch") == 0.0
    for _ in range(5):  # asking never uses the budget up
        assert budget.available_in("batch") == 0.0
    budget.acquire("batch").release()
    budget.acquire("batch").release()
    assert 59 < budget.available_in("batch") <= 61.2
    assert budget.available_in("default") == 0.0  # only batches wait for the batch window
    budget.block(30)
    assert 29 < budget.available_in("default") <= 30


def test_a_request_counts_from_when_its_answer_came(rclient: redis.Redis) -> None:
    # The vendor counts a request somewhere between its send and its answer, a spread of
    # hundreds of milliseconds; dated at the send, the next could land in its window.
    budget = _budget(rclient, overrides={"per_second": 1}, max_wait=0)
    lease = budget.acquire()
    time.sleep(0.6)
    with pytest.raises(RateLimited) as caught:
        budget.acquire()
    assert (caught.value.retry_after or 0) <= 0.05  # in flight: look again shortly
    lease.release()
    with pytest.raises(RateLimited) as caught:
        budget.acquire()
    assert 1.0 < (caught.value.retry_after or 0) <= 1.15  # a window from the answer


def test_short_wait_is_absorbed_within_max_wait(rclient: redis.Redis) -> None:
    budget = _budget(rclient, overrides={"per_second": 2})
    started = time.monotonic()
    for _ in range(3):
        budget.acquire().release()
    assert 1.0 <= time.monotonic() - started < 2.0


def test_search_has_its_own_window_and_counts_toward_daily(rclient: redis.Redis) -> None:
    budget = _budget(rclient, "hubspot", overrides={"burst_per_10s": 1, "daily": 3}, max_wait=0)
    budget.acquire("default").release()
    budget.acquire("search").release()  # the burst bucket is full, search is exempt
    budget.acquire("search").release()
    with pytest.raises(QuotaExhausted) as caught:
        budget.acquire("search")
    assert caught.value.until is not None and caught.value.until > datetime.now(UTC)


def test_daily_quota_resumes_at_the_accounts_midnight(rclient: redis.Redis) -> None:
    zone = ZoneInfo("America/Los_Angeles")
    budget = RateBudget(
        rclient, "hubspot", uuid.uuid4().hex, hubspot_limits(daily=1), local_zone=zone
    )
    budget.acquire().release()
    with pytest.raises(QuotaExhausted) as caught:
        budget.acquire()
    until = caught.value.until
    assert until is not None
    local = until.astimezone(zone)
    assert (local.hour, local.minute) == (0, 0)
    assert timedelta(0) < until - datetime.now(UTC) <= timedelta(days=1)


def test_blocked_until_is_honoured_and_never_shortened(rclient: redis.Redis) -> None:
    budget = _budget(rclient, max_wait=0.1)
    budget.block(5)
    budget.block(1)
    assert 4.5 < budget.blocked_for() <= 5
    other_worker = RateBudget(
        rclient, "quickbooks", budget.account, quickbooks_limits(), max_wait=0.1
    )
    with pytest.raises(RateLimited) as caught:
        other_worker.acquire()
    assert 4.5 < (caught.value.retry_after or 0) <= 5


def test_accounts_do_not_share_a_budget(rclient: redis.Redis) -> None:
    a = _budget(rclient, overrides={"per_second": 1}, max_wait=0)
    b = _budget(rclient, overrides={"per_second": 1}, max_wait=0)
    a.acquire().release()
    b.acquire().release()
    with pytest.raises(RateLimited):
        a.acquire()


def test_concurrency_gate_frees_the_slots_of_a_killed_process(
    rclient: redis.Redis, redis_url: str
) -> None:
    account = uuid.uuid4().hex
    ctx = multiprocessing.get_context("spawn")
    proc = ctx.Process(target=hold_leases_and_die, args=(redis_url, account, 10, 1.0))
    proc.start()
    proc.join(30)
    assert proc.exitcode == 0
    budget = RateBudget(
        rclient,
        "quickbooks",
        account,
        limits_for("quickbooks", {"lease_seconds": 1.0}),
        max_wait=0.05,
    )
    assert budget.in_flight() == 10
    with pytest.raises(RateLimited):
        budget.acquire()
    # Past the leases (1 s: until then the dead worker's calls may still be counted) and
    # then the per-second window (1.15 s with its margin).
    time.sleep(2.3)
    budget.acquire().release()  # the dead worker's leases ran out


def test_release_frees_a_slot_at_once(rclient: redis.Redis) -> None:
    budget = _budget(rclient, overrides={"concurrency": 1}, max_wait=0.1)
    with budget.slot(), pytest.raises(RateLimited):
        budget.acquire()
    budget.acquire().release()


def test_unknown_override_is_refused() -> None:
    with pytest.raises(ValueError, match="per_hour"):
        limits_for("quickbooks", {"per_hour": 3})


def test_redis_down_is_transient() -> None:
    dead = redis.Redis(port=1, socket_connect_timeout=0.2, retry=Retry(NoBackoff(), 0))
    budget = RateBudget(dead, "quickbooks", "x", quickbooks_limits())
    with pytest.raises(TransientError):
        budget.acquire()


def test_28_worker_processes_never_exceed_the_emulators_limits(
    qbo: QboWorld, redis_url: str
) -> None:
    """2 processes x 6 threads x 3 calls against 10 rps / 10 in flight, 200 ms latency.

    A caller that finds no slot within max_wait gets our own RateLimited (Celery retries
    it later); what must never happen is the vendor throttling us."""
    with session_scope(qbo.database_url) as session:  # per-account override path
        row = session.query(Credential).filter_by(account_id=qbo.account_id).one()
        row.rate_limits = {"per_minute": 500, "per_second": 10, "concurrency": 10}
    qbo.admin.set_knobs(latency_ms=200)
    try:
        since = qbo.admin.last_seq()
        errors = spawn_find_skus(qbo, redis_url, processes=2, threads=6, calls=3)
    finally:
        qbo.admin.set_knobs(latency_ms=0)
    entries = [e for e in qbo.admin.ledger(since=since) if e["kind"] == "query"]
    assert all("shared quickbooks rate budget" in e for e in errors), errors
    assert len(entries) == 36 - len(errors) and len(errors) <= 6
    assert {e["status"] for e in entries} == {200}  # the emulator never throttled us
    starts = sorted(datetime.fromisoformat(e["time"].replace("Z", "+00:00")) for e in entries)
    for i, first in enumerate(starts):
        in_one_second = [t for t in starts[i:] if t - first < timedelta(seconds=1)]
        assert len(in_one_second) <= 10


def test_defaults_follow_the_vendor_and_token_kind() -> None:
    private = limits_for("hubspot")
    oauth = limits_for("hubspot", kind="oauth")
    assert (private.windows("default")[0].limit, private.daily) == (100, 250_000)
    assert (oauth.windows("default")[0].limit, oauth.daily) == (110, None)
    assert (
        limits_for("hubspot", {"burst_per_10s": 190}, kind="oauth").windows("default")[0].limit
        == 190
    )
    qbo = limits_for("quickbooks")
    assert [w.limit for w in qbo.windows("default")] == [500, 10] and qbo.concurrency == 10
    assert [w.limit for w in qbo.windows("batch")] == [500, 10, 120]


def test_a_caller_waits_for_an_open_circuit_or_the_budget(rclient: redis.Redis) -> None:
    account = uuid.uuid4().hex[:8]
    budget = RateBudget(rclient, "quickbooks", account, limits_for("quickbooks"), max_wait=0)
    circuit = Circuit(rclient, "quickbooks", account, threshold=2, cooldown_seconds=30)
    caller = VendorCaller(
        "quickbooks", "http://127.0.0.1:9", tokens=None, budget=budget,  # type: ignore[arg-type]
        timeouts=None, classify=lambda r: None, replay_on_401=False, circuit=circuit,  # type: ignore[arg-type]
    )  # fmt: skip
    assert caller.wait_for("batch") == 0.0
    circuit.failure()
    assert caller.wait_for("batch") == 0.0  # one failure: still closed
    circuit.failure()
    assert 29 < caller.wait_for("batch") <= 30  # open: nothing goes before it closes
    assert 29 < circuit.open_for() <= 30
