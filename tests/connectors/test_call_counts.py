"""Vendor calls per catalog operation, measured on the emulators' ledgers. These numbers
are what a sync costs against the vendors' rate limits and QBO's metered reads; a change
that adds a call fails here first."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.connectors.conftest import HubWorld, QboWorld
from workers.errors import QuotaExhausted


def calls(world: QboWorld | HubWorld, action: Callable[[], Any]) -> list[str]:
    since = world.admin.last_seq()
    action()
    return [e["kind"] for e in world.admin.ledger(since=since)]


def test_quickbooks_calls_per_operation(qbo: QboWorld) -> None:
    catalog = qbo.catalog()
    start = datetime.now(UTC) - timedelta(seconds=2)
    qbo.admin.vendor("POST", f"quickbooks/realms/{qbo.realm}/seed", json={"count": 250})
    created: list[Any] = []
    assert calls(
        qbo,
        lambda: created.append(
            catalog.create({"Name": "Counted", "Sku": "CNT-1"}, request_id="cnt")
        ),
    ) == ["write"]
    record = created[0]
    assert calls(qbo, lambda: catalog.find_by_sku("CNT-1")) == ["query"]
    assert calls(qbo, lambda: catalog.get(record.id)) == ["read"]
    assert calls(qbo, lambda: catalog.update(record, {"Description": "d"}, request_id="cnt-u")) == [
        "write"
    ]
    end = datetime.now(UTC) + timedelta(seconds=2)
    changes: list[Any] = []
    assert calls(qbo, lambda: changes.extend(catalog.changed_between(start, end))) == ["cdc"]
    assert len(changes) == 251
    ids = [c.id for c in changes]
    assert calls(qbo, lambda: catalog.get_many(ids)) == ["query"]  # up to 1,000 ids a query
    skus = [f"CNT-{n}" for n in range(1200)]  # 1,000 SKUs a query at most
    assert calls(qbo, lambda: catalog.find_by_skus(skus)) == ["query"] * 2
    assert calls(qbo, lambda: list(catalog.iter_all())) == ["query"]  # 1000 per page


def test_hubspot_calls_per_operation(hub: HubWorld) -> None:
    catalog = hub.catalog()
    start = datetime.now(UTC) - timedelta(seconds=1)
    first: list[Any] = []
    # First create in a process also checks (and here creates) the write-id property.
    assert calls(
        hub, lambda: first.append(catalog.create({"name": "A", "hs_sku": "CNT-A"}, request_id="a"))
    ) == ["read", "write", "batch"]
    created: list[Any] = []
    assert calls(
        hub,
        lambda: created.append(catalog.create({"name": "B", "hs_sku": "CNT-B"}, request_id="b")),
    ) == ["batch"]
    record = created[0]
    # First SKU lookup also reads hs_sku's definition (unique or not), once per process.
    assert calls(hub, lambda: catalog.find_by_sku("CNT-B")) == ["read", "search"]
    assert calls(hub, lambda: catalog.find_by_sku("CNT-B")) == ["search"]
    assert calls(hub, lambda: catalog.get(record.id)) == ["read"]
    assert calls(hub, lambda: catalog.update(record, {"description": "d"}, request_id="b-u")) == [
        "write"
    ]
    for n in range(248):
        hub.add_product(name=f"N{n}", hs_sku=f"N-{n}")
    changes: list[Any] = []
    end = datetime.now(UTC) + timedelta(seconds=1)
    assert calls(hub, lambda: changes.extend(catalog.changed_between(start, end))) == [
        "search",
        "search",
    ]  # 250 changes, 200 per page
    assert len(changes) == 250
    ids = [c.id for c in changes]
    assert calls(hub, lambda: catalog.get_many(ids)) == ["batch"] * 3  # 100 per call
    assert calls(hub, lambda: list(catalog.iter_all())) == ["read"] * 3  # 100 per page


def test_34_metered_read_block_parks_instead_of_retrying(qbo: QboWorld) -> None:
    qbo.admin.set_knobs(builder_block_after=0)
    try:
        with pytest.raises(QuotaExhausted) as caught:
            qbo.catalog().find_by_sku("M-1")
    finally:
        qbo.admin.set_knobs(builder_block_after=None)
    assert caught.value.until is not None
    assert caught.value.until > datetime.now(UTC) + timedelta(minutes=2)
