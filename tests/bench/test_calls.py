from __future__ import annotations

import json
from typing import Any

import pytest

from bench.calls import categorize, tally
from emulators.core.ledger import BATCH_BODY_LIMIT, Ledger

R = "/v3/company/9130350000000001"


def entry(method: str, path: str, *, vendor: str = "hubspot", **extra: Any) -> dict[str, Any]:
    """A ledger entry as the admin API shows it, recorded by a real `Ledger`."""
    body = json.dumps(extra.pop("body")).encode() if "body" in extra else b""
    recorded = Ledger(vendor).record(
        account=None, method=method, path=path, query={}, body=body, status=200, kind="?"
    )
    return {**recorded.as_dict(), **extra}


@pytest.mark.parametrize(
    ("e", "category"),
    [
        (entry("GET", "/crm/v3/objects/products"), "read"),
        (entry("GET", "/crm/v3/objects/products/512"), "read"),
        (entry("GET", "/crm/v3/properties/products/hs_sku"), "read"),
        (entry("POST", "/crm/v3/objects/products/search"), "search"),
        (entry("POST", "/crm/v3/objects/products"), "write"),
        (entry("PATCH", "/crm/v3/objects/products/512"), "write"),
        (entry("DELETE", "/crm/v3/objects/products/512"), "write"),
        (entry("POST", "/crm/v3/objects/products/batch/upsert"), "batch"),
        (entry("POST", "/crm/objects/2026-03/products/batch/read"), "batch"),
        (entry("POST", "/oauth/v1/token"), "auth"),
        (entry("GET", f"{R}/item/5", vendor="quickbooks"), "read"),
        (entry("POST", f"{R}/item", vendor="quickbooks"), "write"),
        (entry("GET", f"{R}/cdc", vendor="quickbooks"), "read"),
        (entry("POST", f"{R}/batch", vendor="quickbooks"), "batch"),
        (entry("POST", "/oauth2/v1/tokens/bearer", vendor="quickbooks"), "auth"),
        (
            entry(
                "GET",
                f"{R}/query",
                vendor="quickbooks",
                query={"query": "SELECT * FROM Item WHERE Sku = 'A\\'1'"},
            ),
            "search",
        ),
        (
            entry(
                "POST",
                f"{R}/query",
                vendor="quickbooks",
                body="select * from Item where Active IN (true, false) AND Sku IN ('a','b')",
            ),
            "search",
        ),
        (
            entry(
                "GET",
                f"{R}/query",
                vendor="quickbooks",
                query={"query": "SELECT * FROM Item STARTPOSITION 1 MAXRESULTS 1000"},
            ),
            "read",
        ),
        (
            entry(
                "GET",
                f"{R}/query",
                vendor="quickbooks",
                query={"query": "SELECT * FROM Item WHERE Name = 'Sku = x'"},
            ),
            "read",
        ),
    ],
)
def test_categorize(e: dict[str, Any], category: str) -> None:
    assert categorize(e) == category


def test_tally_counts_batch_operations_statuses_and_per_product() -> None:
    entries = [
        # Past the ledger's body limit: still counted, from the whole body.
        entry(
            "POST",
            "/crm/v3/objects/products/batch/upsert",
            body={"inputs": [{"properties": {"description": "x" * BATCH_BODY_LIMIT}}] * 3},
        ),
        entry("POST", "/crm/v3/objects/products/batch/read", body={"inputs": [{}] * 5}),
        entry(
            "POST",
            f"{R}/batch",
            vendor="quickbooks",
            body={"BatchItemRequest": [{"operation": "create"}, {"Query": "select"}]},
        ),
        entry("POST", "/crm/v3/objects/products/search", status=429, duration_ms=1.5),
        entry("POST", "/crm/v3/objects/products/search", status=None),
        entry("PATCH", "/crm/v3/objects/products/1", duration_ms=2.5),
        entry("POST", "/oauth/v1/token"),
    ]
    t = tally(entries)
    assert (t.batch, t.batch_ops, t.batch_write_ops) == (3, 10, 4)
    assert (t.search, t.write, t.auth, t.calls, t.writes) == (2, 1, 1, 6, 5)
    assert (t.throttled, t.errors) == (1, 1)
    assert t.by_status == {"200": 5, "429": 1, "dropped": 1}
    assert t.busy_ms == 4.0
    assert t.per_product(2)["calls"] == 3.0
    both = t + t
    assert both.calls == 12 and both.by_status["429"] == 2 and both.busy_ms == 8.0
