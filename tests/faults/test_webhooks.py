"""Webhooks under faults, with the real pieces: the emulators' senders, `productsync web`
as the receiver, a real worker (and beat where the poll matters).

* forged or stale signature → 401, nothing enqueued;
* ten deliveries of one change (and the later poll) → one job, one write;
* a webhook that never arrives → the poll still syncs the change;
* a storm of 1,000 events/s → every delivery answered 200, jobs made once, memory flat.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests

from tests.support import oracle
from tests.support.faults import stop_processes
from tests.support.stack import HUBSPOT_CLIENT, Stack, StackAccount
from tests.support.webhook_sink import webhook_sink


@pytest.fixture
def web(stack: Stack) -> Iterator[str]:
    """The module's stack, with `productsync web` as the receiver; no beat or worker yet
    (each test starts what it needs)."""
    stop_processes(stack)
    url = stack.start_web()
    yield url
    stop_processes(stack)
    for system in ("hubspot", "quickbooks"):
        stack.admin(system).vendor("DELETE", f"{system}/webhooks")


def signed(body: bytes, uri: str, *, secret: str = HUBSPOT_CLIENT[1],
           stamp: int | None = None) -> dict[str, str]:
    """HubSpot v3 headers, from the documented formula."""
    text = str(int(time.time() * 1000) if stamp is None else stamp)
    message = ("POST" + uri + body.decode() + text).encode()
    digest = hmac.new(secret.encode(), message, hashlib.sha256).digest()
    return {"X-HubSpot-Signature-v3": base64.b64encode(digest).decode(),
            "X-HubSpot-Request-Timestamp": text, "Content-Type": "application/json"}


def event(acct: StackAccount, product_id: str, at: datetime) -> dict[str, object]:
    return {"eventId": 1, "subscriptionId": 1, "portalId": int(acct.portal_id), "appId": 1,
            "occurredAt": int(at.timestamp() * 1000), "attemptNumber": 0,
            "subscriptionType": "product.propertyChange", "objectId": int(product_id),
            "changeSource": "CRM", "propertyName": "price", "propertyValue": "1"}


def test_an_edit_arrives_by_webhook_without_any_poll(web: str, stack: Stack) -> None:
    acct = stack.new_account("hubspot_to_quickbooks")
    stack.start_worker("w1", queues=("sync",))  # no beat: no poll, no sweeper
    stack.send_webhooks_to(web)
    started = time.monotonic()
    acct.hubspot_create(name="Hooked widget", hs_sku="HOOK-1", price="12.50")
    items = stack.wait_for(acct.quickbooks_items, timeout=30)
    took = time.monotonic() - started
    assert [(i["Sku"], str(i["UnitPrice"])) for i in items] == [("HOOK-1", "12.5")]
    assert {j.reason for j in acct.jobs()} == {"webhook"}
    print(f"create → QuickBooks by webhook in {took:.2f}s")
    oracle.check(stack, acct, polled=False)


@pytest.mark.parametrize("fault", ["forged", "stale"])
def test_forged_or_stale_delivery_is_401_and_nothing_is_enqueued(
    web: str, stack: Stack, fault: str
) -> None:
    acct = stack.new_account("hubspot_to_quickbooks")
    product = acct.hubspot_create(name="Target", hs_sku="FORGE-1", price="1")
    body = json.dumps([event(acct, product, datetime.now(UTC))]).encode()
    uri = f"{web}/webhooks/hubspot"
    headers = (
        signed(body, uri, secret="not-the-app-secret") if fault == "forged"
        else signed(body, uri, stamp=int(time.time() * 1000) - 6 * 60 * 1000)
    )
    response = requests.post(uri, data=body, headers=headers, timeout=10)
    assert response.status_code == 401
    assert acct.jobs() == []


def test_ten_deliveries_and_the_poll_make_one_job_and_one_write(web: str, stack: Stack) -> None:
    acct = stack.new_account("hubspot_to_quickbooks")
    product = acct.hubspot_create(name="Once", hs_sku="ONCE-1", price="5")
    with webhook_sink() as sink:
        # HubSpot signs the receiver's URL; the sink catches the delivery so that the test
        # can deliver it ten times at once, as a vendor retrying a lost ack would.
        stack.admin("hubspot").vendor("PUT", "hubspot/webhooks", json={
            "target_url": sink.url, "signed_url": f"{web}/webhooks/hubspot",
            "batch_window_ms": 20})
        acct.hubspot_update(product, price="6")
        (captured,) = sink.wait_for(lambda seen: len(seen) >= 1)
    headers = {k: v for k, v in captured.headers.items()
               if k.startswith("x-hubspot") or k == "content-type"}
    mark = stack.quickbooks_admin.last_seq()

    def deliver(_: int) -> int:
        uri = f"{web}/webhooks/hubspot"
        return requests.post(uri, data=captured.body, headers=headers, timeout=10).status_code

    with ThreadPoolExecutor(10) as pool:
        assert list(pool.map(deliver, range(10))) == [200] * 10
    stack.start_worker("w1", queues=("poll", "sync"))
    stack.start_beat()  # the poll sees the same change after the settle window
    verdict = oracle.check(stack, acct)
    webhook_jobs = [j for j in verdict.jobs if j.source_updated_at and j.reason == "webhook"]
    assert len(webhook_jobs) == 1
    assert not [j for j in verdict.jobs if j.reason == "poll"]  # the poll added nothing
    writes = acct.writes("quickbooks", since=mark)
    assert len(writes) == 1, writes


def test_a_lost_webhook_is_caught_by_the_poll(web: str, stack: Stack) -> None:
    acct = stack.new_account("hubspot_to_quickbooks")
    with webhook_sink() as sink:
        # Deliveries go somewhere that answers 200 and forgets them: lost for us.
        stack.admin("hubspot").vendor("PUT", "hubspot/webhooks",
                                      json={"target_url": sink.url, "batch_window_ms": 20})
        stack.start_worker("w1", queues=("poll", "sync"))
        stack.start_beat()
        acct.hubspot_create(name="Missed", hs_sku="MISS-1", price="3")
        sink.wait_for(lambda seen: len(seen) >= 1)
        verdict = oracle.check(stack, acct)
    assert [(j.reason, j.status) for j in verdict.jobs] == [("poll", "succeeded")]
    assert [i["Sku"] for i in acct.quickbooks_items()] == ["MISS-1"]


def _rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


def test_a_storm_of_1000_events_a_second_is_absorbed(web: str, stack: Stack) -> None:
    acct = stack.new_account("hubspot_to_quickbooks")
    products = [acct.hubspot_create(name=f"Storm {n}", hs_sku=f"STORM-{n}", price="1")
                for n in range(50)]
    (web_process,) = [p for p in stack.processes if p.name == "web"]
    stack.start_worker("w1", queues=("sync",), concurrency=4)
    uri = f"{web}/webhooks/hubspot"
    base = datetime.now(UTC)
    # 5 s at 1,000 events/s: ten POSTs of 100 events a second. Each product changes
    # once a second, and HubSpot repeats every change (each event twice).
    bodies = []
    for second in range(5):
        at = base + timedelta(seconds=second)
        for part in range(10):
            events = [event(acct, products[(part * 5 + i // 10) % 50], at) for i in range(100)]
            bodies.append((second, json.dumps(events).encode()))
    requests.post(uri, data=bodies[0][1], headers=signed(bodies[0][1], uri), timeout=10)
    before = _rss_kb(web_process.pid)
    started = time.monotonic()

    def deliver(item: tuple[int, bytes]) -> tuple[int, float]:
        second, body = item
        due = started + second + (bodies.index(item) % 10) / 10
        time.sleep(max(0.0, due - time.monotonic()))
        sent = time.monotonic()
        status = requests.post(uri, data=body, headers=signed(body, uri), timeout=30).status_code
        return status, time.monotonic() - sent

    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(deliver, bodies))
    elapsed = time.monotonic() - started
    grown_mb = (_rss_kb(web_process.pid) - before) / 1024
    slowest = max(t for _, t in answers)
    print(f"storm: 5,000 events in {elapsed:.1f}s, slowest answer {slowest * 1000:.0f} ms, "
          f"web RSS +{grown_mb:.1f} MB")
    assert [s for s, _ in answers] == [200] * len(bodies)
    assert elapsed < 15  # kept up (5 s of sending, on a shared 2-core machine)
    assert grown_mb < 64
    jobs = acct.jobs()
    assert len(jobs) == 50 * 5  # one per (product, change), however often it was sent
    assert "Traceback" not in web_process.output()
    verdict = oracle.check(stack, acct, polled=False, timeout=120)
    assert verdict.by_status() == {"succeeded": 250}



def test_a_quickbooks_edit_arrives_by_webhook_in_both_formats(web: str, stack: Stack) -> None:
    acct = stack.new_account("quickbooks_to_hubspot")
    stack.start_worker("w1", queues=("sync",))
    for fmt, sku in (("cloudevents", "QBHOOK-1"), ("legacy", "QBHOOK-2")):
        stack.send_webhooks_to(web, format=fmt)
        acct.quickbooks_create(Name=f"Item {sku}", Sku=sku, UnitPrice=4)
        stack.wait_for(
            lambda sku=sku: any(
                p["properties"].get("hs_sku") == sku for p in acct.hubspot_products()
            ),
            timeout=30,
        )
    assert {j.reason for j in acct.jobs()} == {"webhook"}
    oracle.check(stack, acct, polled=False)
