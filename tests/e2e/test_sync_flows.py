"""Products flow through the real pipeline: beat → poll → worker → emulators → history."""

from __future__ import annotations

from decimal import Decimal

import pytest

from models.db import session_scope
from tests.support.stack import Stack, StackAccount
from workers.engine.accounts import set_direction

pytestmark = pytest.mark.e2e


def _done(acct: StackAccount, count: int) -> bool:
    finished = [e for e in acct.history() if e.status in ("succeeded", "failed", "skipped")]
    return len(finished) >= count and acct.quiet()


def _item(acct: StackAccount, sku: str) -> list[dict]:  # type: ignore[type-arg]
    return [i for i in acct.quickbooks_items() if i.get("Sku") == sku]


def test_hubspot_to_quickbooks_create_update_and_one_write_per_edit(pipeline: Stack) -> None:
    acct = pipeline.new_account("hubspot_to_quickbooks")
    first = acct.hubspot_create(name="Widget", hs_sku="W-1", price="10.50", description="Blue")
    acct.hubspot_create(name="Gadget", hs_sku="G-1", price="3")
    pipeline.wait_for(lambda: _done(acct, 2))
    [widget] = _item(acct, "W-1")
    assert (widget["Name"], widget["UnitPrice"], widget["Description"]) == (
        "Widget",
        Decimal("10.5"),
        "Blue",
    )
    assert _item(acct, "G-1")[0]["UnitPrice"] == Decimal("3")
    assert {e.action for e in acct.history()} == {"created"}

    mark = len(acct.writes("quickbooks"))
    acct.hubspot_update(first, price="12.00")
    pipeline.wait_for(lambda: _done(acct, 3))
    assert _item(acct, "W-1")[0]["UnitPrice"] == Decimal("12")
    writes = acct.writes("quickbooks")[mark:]
    assert len(writes) == 1, writes  # exactly one write for one edit
    assert acct.history()[-1].changes == {"UnitPrice": ["10.5", "12.00"]} or acct.history()[
        -1
    ].changes["UnitPrice"][1] in ("12.00", "12")
    assert acct.writes("hubspot") == []  # the source is never written


def test_quickbooks_to_hubspot_create_and_update(pipeline: Stack) -> None:
    acct = pipeline.new_account("quickbooks_to_hubspot")
    item_id = acct.quickbooks_create(Name="Cable", Sku="C-9", UnitPrice=4.25, Description="2 m")
    pipeline.wait_for(lambda: _done(acct, 1))
    [product] = [p for p in acct.hubspot_products() if p["properties"].get("hs_sku") == "C-9"]
    props = product["properties"]
    assert props["name"] == "Cable" and Decimal(props["price"]) == Decimal("4.25")
    assert props["description"] == "2 m"

    acct.quickbooks_update(item_id, Name="Cable XL")
    pipeline.wait_for(lambda: _done(acct, 2))
    [product] = [p for p in acct.hubspot_products() if p["properties"].get("hs_sku") == "C-9"]
    assert product["properties"]["name"] == "Cable XL"
    assert len(acct.writes("hubspot")) == 2
    assert acct.writes("quickbooks") == []


def test_terminal_errors_are_recorded_while_the_rest_succeed(pipeline: Stack) -> None:
    acct = pipeline.new_account("hubspot_to_quickbooks")
    acct.quickbooks_create(Name="Taken A", Sku="TAKEN")
    acct.quickbooks_create(Name="Taken B", Sku="TAKEN")
    acct.hubspot_create(name="Fine", hs_sku="OK-1", price="1")
    acct.hubspot_create(name="No SKU", price="1")
    acct.hubspot_create(name="Twin A", hs_sku="TWIN", price="1")
    acct.hubspot_create(name="Twin B", hs_sku="TWIN", price="1")
    acct.hubspot_create(name="Clash", hs_sku="TAKEN", price="1")
    acct.hubspot_create(name="Negative", hs_sku="NEG", price="-5")
    pipeline.wait_for(lambda: _done(acct, 6), timeout=40)

    final = [e for e in acct.history() if e.status in ("succeeded", "failed")]
    codes = sorted(e.error_code or "ok" for e in final)
    assert codes == sorted(
        [
            "ok",
            "missing_sku",
            "duplicate_sku_in_source",
            "duplicate_sku_in_source",
            "duplicate_sku_in_destination",
            "negative_price",
        ]
    )
    for entry in final:
        if entry.error_code:
            assert entry.status == "failed" and entry.action == "failed"
            assert entry.error_message and len(entry.error_message) > 10
    [clash] = [e for e in final if e.error_code == "duplicate_sku_in_destination"]
    assert len(clash.details["ids"]) == 2
    assert [i["Sku"] for i in acct.quickbooks_items() if i["Sku"] not in ("TAKEN",)] == ["OK-1"]


def test_direction_switch_over_the_pipeline_and_no_secret_in_logs_or_history(
    pipeline: Stack,
) -> None:
    acct = pipeline.new_account("hubspot_to_quickbooks")
    acct.hubspot_create(name="Switch", hs_sku="SW-1", price="2")
    pipeline.wait_for(lambda: _done(acct, 1))
    with session_scope(pipeline.database_url) as session:
        set_direction(session, acct.id, "quickbooks_to_hubspot")
    [item] = _item(acct, "SW-1")
    acct.quickbooks_update(item["Id"], Name="Switched in QBO")
    acct.quickbooks_create(Name="Born in QBO", Sku="QB-1", UnitPrice=9)

    def in_hubspot() -> dict[str, str]:
        return {
            p["properties"].get("hs_sku"): p["properties"].get("name")
            for p in acct.hubspot_products()
        }

    pipeline.wait_for(lambda: in_hubspot().get("QB-1") and acct.quiet())
    pipeline.wait_for(lambda: in_hubspot().get("SW-1") == "Switched in QBO" and acct.quiet())
    assert len(_item(acct, "SW-1")) == 1 and len(acct.writes("quickbooks")) == 1
    assert len(acct.hubspot_products()) == 2  # nothing duplicated either way

    # G5: the account's tokens appear in no log, history row or job row.
    texts = [p.output() for p in pipeline.processes]
    texts += [repr((e.error_message, e.details, e.changes)) for e in acct.history()]
    texts += [repr((j.error_message, j.request_id)) for j in acct.jobs()]
    assert acct.secrets and all(s not in t for s in acct.secrets for t in texts)
