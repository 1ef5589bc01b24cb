"""A real sync (beat → poll → prefork worker → emulators) moves the /metrics counters by
exactly what happened: the history's outcomes, the emulators' ledgers, the job table."""

from __future__ import annotations

from collections import Counter

import pytest
from flask.testing import FlaskClient
from prometheus_client.parser import text_string_to_metric_families

from console.web import create_app
from models import Account
from models.db import session_scope
from tests.support.stack import Stack, StackAccount
from workers.secret import Secret

pytestmark = pytest.mark.e2e

TOKEN = "e2e-metrics-token-0123456789"
Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def scrape(client: FlaskClient) -> Samples:
    response = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200
    out: Samples = {}
    for family in text_string_to_metric_families(response.get_data(as_text=True)):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def total(samples: Samples, name: str, **labels: str) -> float:
    """The sum of every series of ``name`` whose labels include ``labels``."""
    want = set(labels.items())
    return sum(v for (n, lbl), v in samples.items() if n == name and want <= set(lbl))


def ledger_classes(stack: Stack, system: str) -> Counter[str]:
    """The vendor requests the emulator saw, by status class (OAuth ones are not API
    calls; none happen here: the tokens are fresh)."""
    entries = stack.admin(system).ledger()
    assert all(e["kind"] != "auth" for e in entries)
    return Counter("error" if e["status"] is None else f"{e['status'] // 100}xx" for e in entries)


def settled(acct: StackAccount, count: int) -> bool:
    finished = [e for e in acct.history() if e.status in ("succeeded", "failed", "skipped")]
    return len(finished) >= count and acct.quiet()


def test_a_sync_moves_the_counters_by_what_happened(pipeline: Stack) -> None:
    client = create_app(pipeline.settings().replace(metrics_token=Secret(TOKEN))).test_client()
    acct = pipeline.new_account("hubspot_to_quickbooks")
    before = scrape(client)
    assert total(before, "productsync_vendor_calls_total") == 0  # this stack is ours alone

    # One short 429 from HubSpot and one 503 from QuickBooks: retried, and counted.
    pipeline.hubspot_admin.add_fault(
        "status", account=acct.portal_id, status=429, headers={"Retry-After": "1"}, times=1
    )
    pipeline.quickbooks_admin.add_fault("status", account=acct.realm_id, status=503, times=1)
    widget = acct.hubspot_create(name="Widget", hs_sku="M-1", price="10")
    acct.hubspot_create(name="Gadget", hs_sku="M-2", price="3")
    acct.hubspot_create(name="Nameless", price="1")  # refused: missing_sku
    pipeline.wait_for(lambda: settled(acct, 3), timeout=40)
    acct.hubspot_update(widget, price="12")
    pipeline.wait_for(lambda: settled(acct, 4), timeout=40)

    after = scrape(client)
    with session_scope(pipeline.database_url) as session:
        name = session.get(Account, acct.id).name  # type: ignore[union-attr]
    history = Counter((e.action, e.status, e.error_code or "") for e in acct.history())
    # The 503: one retry row per product of the write it refused (a poll's page goes as
    # one chunk, so both new products when they were polled together).
    assert history[("failed", "retrying", "vendor_unavailable")] in (1, 2)
    exported = {
        (d["action"], d["status"], d["code"]): v
        for (n, lbl), v in after.items()
        if n == "productsync_sync_outcomes_total" and (d := dict(lbl))["account"] == name
    }
    assert exported == history  # one count per history row, by action/status/code
    assert history[("created", "succeeded", "")] == 2
    assert history[("updated", "succeeded", "")] == 1
    assert history[("failed", "failed", "missing_sku")] == 1

    for system in ("hubspot", "quickbooks"):
        seen = ledger_classes(pipeline, system)
        counted = Counter(
            {
                cls: int(total(after, "productsync_vendor_calls_total", vendor=system,
                               status_class=cls))
                for cls in ("2xx", "3xx", "4xx", "5xx", "error")
            }
        )  # fmt: skip
        assert +counted == +seen, system  # every vendor call, counted once
        assert seen["5xx" if system == "quickbooks" else "4xx"] >= 1  # the faults
    assert total(after, "productsync_vendor_429_total", vendor="hubspot") == 1
    assert total(after, "productsync_vendor_429_total", vendor="quickbooks") == 0

    # Two creates and one update came from polled changes: three latency observations.
    latency = "productsync_change_latency_seconds"
    assert total(after, latency + "_count", account=name) == 3
    assert total(after, latency + "_bucket", account=name, le="+Inf") == 3
    assert 0 < total(after, latency + "_sum", account=name) < 3 * 60

    assert total(after, "productsync_jobs", account=name, state="succeeded") == 3
    assert total(after, "productsync_jobs", account=name, state="failed") == 1
    assert total(after, "productsync_jobs", account=name, state="pending") == 0
    lag = total(after, "productsync_poll_lag_seconds", account=name)
    assert 0 < lag < 60
    assert total(after, "productsync_needs_reauth", account=name) == 0
    assert total(after, "productsync_circuit_open", account=name) == 0
    assert total(after, "productsync_exporter_source_up") == 2
