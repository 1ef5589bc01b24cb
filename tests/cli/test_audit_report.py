"""The audit's decisions, on hand-built catalogs (the CLI test runs it on the emulators)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from console.audit import audit_catalogs
from workers.catalog.port import Record
from workers.mapping import DEFAULT_MAPPINGS

NOW = datetime(2026, 11, 25, 12, tzinfo=UTC)


def hs(pid: str, sku: str | None, name: str, price: str = "10") -> Record:
    fields = {"name": name, "hs_sku": sku, "description": "", "price": price}
    return Record("hubspot", pid, fields, NOW, sku=sku)


def qbo(iid: str, sku: str | None, name: str, price: str = "10", active: bool = True) -> Record:
    fields: dict[str, Any] = {
        "Name": name,
        "Sku": sku,
        "UnitPrice": Decimal(price),
        "Type": "NonInventory",
        "Active": active,
    }
    return Record("quickbooks", iid, fields, NOW, active=active, sku=sku)


def test_hubspot_to_quickbooks_plan_and_findings() -> None:
    hubspot = [
        hs("1", "SAME", "Same product"),  # exists in QBO, identical → unchanged
        hs("2", "PRICE", "Price change", price="12.50"),  # exists, price differs → update
        hs("3", "NEW-1", "Brand new"),  # absent → create
        hs("4", None, "No sku"),  # refused: missing_sku
        hs("5", "DUP", "Dup a"),
        hs("6", "DUP", "Dup b"),  # duplicate in source → conflict (both)
        hs("7", "case-1", "Case"),  # QBO has CASE-1: no match → create, and reported
        hs("8", "NEW-2", "Taken name"),  # create whose name an existing item already has
        hs("9", "OLD", "Old item"),  # matches an inactive QBO item
        hs("10", "BAD", "Bad price", price="abc"),  # refused: invalid_price
    ]
    quickbooks = [
        qbo("101", "SAME", "Same product"),
        qbo("102", "PRICE", "Price change", price="10"),
        qbo("103", "CASE-1", "Something"),
        qbo("104", "X", "taken NAME"),
        qbo("105", "OLD", "Old item", active=False),
        qbo("106", "Q", "q1"),
        qbo("107", "Q", "q2"),
    ]
    report = audit_catalogs(
        hubspot, quickbooks, direction="hubspot_to_quickbooks", mappings=DEFAULT_MAPPINGS
    )
    assert report["plan"] == {
        "create": 3,
        "update": 1,
        "unchanged": 2,
        "invalid": 2,
        "conflict": 2,
        "invalid_by_code": {"invalid_price": 1, "missing_sku": 1},
    }
    assert report["counts"] == {"hubspot": 10, "quickbooks": 6, "quickbooks_inactive": 1}
    assert report["missing_sku"] == {"hubspot": ["4"], "quickbooks": []}
    assert report["duplicate_skus"] == {
        "hubspot": [{"sku": "DUP", "ids": ["5", "6"]}],
        "quickbooks": [{"sku": "Q", "ids": ["106", "107"]}],
    }
    assert report["near_duplicate_skus"] == [
        {
            "skus": [
                {"sku": "CASE-1", "products": ["quickbooks:103"]},
                {"sku": "case-1", "products": ["hubspot:7"]},
            ]
        }
    ]
    (collision,) = report["name_collisions"]
    assert collision["name"] == "Taken name"
    assert collision["clashes_with"] == "quickbooks:104"  # case-insensitive, like QBO
    assert collision["would_become"] == "Taken name [NEW-2]"
    assert report["inactive_matches"] == [{"sku": "OLD", "source_id": "9", "quickbooks_id": "105"}]
    assert {p["code"] for p in report["invalid_products"]} == {"missing_sku", "invalid_price"}


def test_surrounding_spaces_and_links_win_over_sku() -> None:
    hubspot = [hs("1", " PAD ", "Padded"), hs("2", "RENAMED", "Linked")]
    quickbooks = [qbo("201", "PAD", "Pad"), qbo("202", "OLD-SKU", "Linked")]
    report = audit_catalogs(
        hubspot,
        quickbooks,
        direction="hubspot_to_quickbooks",
        mappings=DEFAULT_MAPPINGS,
        links={"2": "202"},
    )
    spellings = [s["sku"] for s in report["near_duplicate_skus"][0]["skus"]]
    assert spellings == [" PAD ", "PAD"]
    # The linked product is updated (its SKU changes), never created a second time.
    assert report["plan"]["update"] >= 1
    assert report["plan"]["create"] + report["plan"]["update"] + report["plan"]["invalid"] == 2


def test_quickbooks_to_hubspot_skips_inactive_sources_and_has_no_name_rules() -> None:
    quickbooks = [qbo("1", "A", "Same"), qbo("2", "B", "Same"), qbo("3", "C", "Gone", active=False)]
    hubspot = [hs("11", "A", "Same")]
    report = audit_catalogs(
        hubspot, quickbooks, direction="quickbooks_to_hubspot", mappings=DEFAULT_MAPPINGS
    )
    assert report["plan"]["create"] == 1  # B; C is inactive and not synced
    assert report["plan"]["unchanged"] + report["plan"]["update"] == 1
    assert report["name_collisions"] == [] and report["inactive_matches"] == []


def test_lifecycle_differences_of_linked_products_are_listed() -> None:
    # Linked: 1→201 archived in HubSpot (not listed) while 201 is active; 2→202 active
    # in HubSpot while 202 is inactive; 3→203 alike. 204 shares a SKU but no link.
    hubspot = [hs("2", "B", "Bee"), hs("3", "C", "Sea")]
    quickbooks = [
        qbo("201", "A", "Ay"),
        qbo("202", "B", "Bee", active=False),
        qbo("203", "C", "Sea"),
        qbo("204", "Z", "Zed"),
    ]
    report = audit_catalogs(
        hubspot,
        quickbooks,
        direction="hubspot_to_quickbooks",
        mappings=DEFAULT_MAPPINGS,
        links={"1": "201", "2": "202", "3": "203"},
        lifecycle_policy="mirror",
    )
    assert report["lifecycle"] == {
        "policy": "mirror",
        "archived_in_source": [{"source_id": "1", "destination_id": "201", "sku": "A"}],
        "inactive_in_destination": [{"source_id": "2", "destination_id": "202"}],
    }
