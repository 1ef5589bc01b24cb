"""The first-run story of issue 5, through the CLI, against the emulators and real
Celery worker and beat processes: add an account, audit it, full sync with --wait, read
the history, fix the failed product in the source and retry it."""

from __future__ import annotations

import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
import requests

from tests.cli.conftest import Result, invoke
from tests.support.services import free_port, fresh_database
from tests.support.stack import Stack, StackAccount, running_stack
from workers.settings import get_settings

pytestmark = pytest.mark.e2e
PRODUCTSYNC = str(Path(sys.executable).with_name("productsync"))


@pytest.fixture(scope="module")
def stack() -> Iterator[Stack]:
    with fresh_database() as url, running_stack(url) as running:
        running.start_worker("w1", concurrency=2)
        running.start_beat()
        yield running


@pytest.fixture
def productsync(stack: Stack, monkeypatch: pytest.MonkeyPatch) -> Iterator[object]:
    for name, value in stack.env().items():
        if name.startswith("PRODUCTSYNC_"):
            monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    yield invoke
    get_settings.cache_clear()


def ok(result: Result) -> Result:
    assert result.exit_code == 0, result.stdout + result.stderr
    return result


def connect_quickbooks(stack: Stack, account: str, realm_id: str) -> None:
    """`productsync connect quickbooks`: open the printed consent URL like a browser would
    (the emulator approves at once, for the company named by its `realm_id` extension)."""
    env = {**stack.env(), "PRODUCTSYNC_OAUTH_REDIRECT_URI": f"http://127.0.0.1:{free_port()}/cb"}
    connect = subprocess.Popen(
        [PRODUCTSYNC, "connect", "quickbooks", "--account", account, "--timeout", "30"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    assert connect.stdout is not None
    printed = []
    for line in connect.stdout:
        printed.append(line)
        if line.startswith("http"):
            requests.get(f"{line.strip()}&realm_id={realm_id}", timeout=10)
            break
    rest, _ = connect.communicate(timeout=30)
    output = "".join(printed) + rest
    assert connect.returncode == 0, output
    assert f"connected account '{account}' to QuickBooks company {realm_id}" in output


def test_first_run(stack: Stack, productsync: object) -> None:
    portal = stack.hubspot_admin.vendor("POST", "hubspot/portals", json={})
    realm = stack.quickbooks_admin.vendor("POST", "quickbooks/realms", json={})
    shop = StackAccount(stack, 0, str(portal["portal_id"]), str(realm["realm_id"]))
    # The catalogs as the company has them before installing the service.
    for sku, name, price in [
        ("W-1", "Widget", "10.00"),
        ("W-2", "Gadget", "20"),
        ("W-3", "Gizmo", "30.5"),
        ("W-4", "Sprocket", "40"),
    ]:
        shop.hubspot_create(name=name, hs_sku=sku, price=price)
    broken = shop.hubspot_create(name="Refund line", hs_sku="NEG-1", price="-5")
    shop.quickbooks_create(Name="Sprocket", Sku="W-4", UnitPrice=35)  # exists, older price
    # Polls look back to the whole second of the account's creation: let it pass, so the
    # catalogs above predate the account as they would in real life.
    time.sleep(1.1)
    # A long poll interval: after the first poll, only the full sync and the retry act.
    added = ok(
        invoke(
            "accounts", "add", "shop", "--hubspot-portal", shop.portal_id,
            "--quickbooks-realm", shop.realm_id, "--direction", "hubspot_to_quickbooks",
            "--qbo-income-account", "1", "--qbo-expense-account", "3",
            "--poll-interval", "3600", "--json",
        )
    ).json()  # fmt: skip
    shop.id = added["id"]
    connected = ok(invoke("connect", "hubspot", "--account", "shop", "--token-stdin",
                          input=portal["token"] + "\n"))  # fmt: skip
    assert portal["token"] not in connected.stdout + connected.stderr
    connect_quickbooks(stack, "shop", shop.realm_id)

    audit = ok(invoke("audit", "--account", "shop", "--json")).json()
    assert audit["plan"] == {
        "create": 3,
        "update": 1,
        "unchanged": 0,
        "invalid": 1,
        "conflict": 0,
        "invalid_by_code": {"negative_price": 1},
    }
    assert audit["invalid_products"][0]["id"] == broken
    assert "plan: 3 to create, 1 to update" in ok(invoke("audit", "--account", "shop")).stdout
    assert stack.admin("quickbooks").ledger(account=shop.realm_id, kind="write") == []

    synced = invoke("full-sync", "--account", "shop", "--wait", "--timeout", "120")
    assert synced.exit_code == 1, synced.stdout + synced.stderr  # one product failed
    assert "100.0%" in synced.stdout
    assert "3 created, 1 updated, 0 unchanged, 0 skipped, 1 failed" in synced.stdout
    assert "productsync history --account shop --status failed" in synced.stderr

    run_id = int(synced.stdout.split("full sync #")[1].split()[0])
    everything = ok(invoke("history", "--account", "shop", "--json")).json()
    history = [row for row in everything if row["run"] == run_id]
    assert Counter(row["action"] for row in history) == {"created": 3, "updated": 1, "failed": 1}
    (failure,) = [row for row in history if row["status"] == "failed"]
    assert (failure["sku"], failure["error_code"]) == ("NEG-1", "negative_price")
    assert failure["hubspot_id"] == broken and failure["error_message"]
    updated = next(row for row in history if row["action"] == "updated")
    assert updated["changes"]["UnitPrice"][1] == "40"
    failed_text = ok(invoke("history", "--account", "shop", "--status", "failed")).stdout
    assert "NEG-1" in failed_text and "negative_price" in failed_text

    # The account's first poll (then none for an hour) must be behind us, so that only
    # the retry can pick up the fix below.
    def first_poll_done() -> bool:
        status = ok(invoke("status", "--account", "shop", "--json")).json()
        return status["accounts"][0]["last_poll"]["polled_at"] is not None

    stack.wait_for(first_poll_done, timeout=30)
    shop.hubspot_update(broken, price="5")  # a person fixes the price in HubSpot
    assert "queued" in ok(invoke("retry", "NEG-1", "--account", "shop")).stdout

    def retried() -> list[dict]:
        rows = ok(invoke("history", "--account", "shop", "--sku", "NEG-1", "--json")).json()
        return rows if rows[0]["status"] != "failed" else []

    latest = stack.wait_for(retried, timeout=60)[0]
    assert (latest["action"], latest["status"]) == ("created", "succeeded")
    items = {i["Sku"]: i for i in shop.quickbooks_items()}
    assert Decimal(str(items["NEG-1"]["UnitPrice"])) == Decimal("5")
    assert len(items) == 5
    again = ok(invoke("audit", "--account", "shop", "--json")).json()["plan"]
    assert (again["unchanged"], again["create"], again["update"]) == (5, 0, 0)
    status = ok(invoke("status", "--account", "shop", "--json")).json()["accounts"][0]
    assert status["jobs"]["pending"] == status["jobs"]["running"] == 0
    assert status["credentials"]["quickbooks"]["health"] == "ok"
