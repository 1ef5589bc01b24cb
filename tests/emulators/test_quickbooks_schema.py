"""Every JSON body the QBO emulator returns uses only names Intuit's XSDs define
(Finance.xsd Item/Account, IntuitBaseTypes.xsd IntuitEntity/ModificationMetaData/
ReferenceType, IntuitRestServiceDef.xsd IntuitResponse/Fault/Error/QueryResponse/
CDCResponse/BatchItemResponse): §9 item 35 for the data-service envelopes."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from tests.emulators import quickbooks_fixtures
from tests.emulators.quickbooks_fixtures import (
    INCOME,
    Qbo,
    decode,
)

qbo_server, qbo = quickbooks_fixtures.qbo_server, quickbooks_fixtures.qbo  # shared fixtures

SPECS = Path(__file__).resolve().parents[2] / "emulators" / "specs" / "quickbooks"
XS = "{http://www.w3.org/2001/XMLSchema}"
ENTITIES = ("Item", "Account")  # members of the IntuitObject substitution group we serve


@cache
def complex_types() -> dict[str, ET.Element]:
    types: dict[str, ET.Element] = {}
    for name in ("IntuitBaseTypes.xsd", "Finance.xsd", "IntuitRestServiceDef.xsd"):
        for node in ET.parse(SPECS / name).getroot().iter(f"{XS}complexType"):
            if node.get("name"):
                types[node.get("name", "")] = node
    return types


def _own_names(node: ET.Element, parent_type: str) -> tuple[set[str], str | None]:
    names: set[str] = set()
    base: str | None = None
    stack = list(node)
    while stack:
        child = stack.pop()
        tag = child.tag.removeprefix(XS)
        if tag in ("element", "attribute") and child.get("name"):
            names.add(child.get("name", ""))
            continue  # do not descend into an element's own anonymous type
        if tag == "extension":
            base = child.get("base")
        stack.extend(child)
    return names, base


@cache
def names_of(type_name: str) -> frozenset[str]:
    """Element and attribute names of a complexType, including what it inherits."""
    names, base = _own_names(complex_types()[type_name], type_name)
    if base and base in complex_types():
        names |= names_of(base)
    return frozenset(names)


def test_xsd_reader_sees_the_item_type() -> None:
    item = names_of("Item")
    assert {"Name", "Sku", "UnitPrice", "IncomeAccountRef", "InvStartDate"} <= item
    assert {"Id", "SyncToken", "MetaData", "domain", "sparse", "status"} <= item  # inherited
    assert "Colour" not in item and "value" not in item
    assert names_of("Error") == {"Message", "Detail", "DetailLink", "code", "element"}


def check_entity(kind: str, obj: dict[str, Any]) -> None:
    if obj.get("status") == "Deleted":
        assert set(obj) <= {"Id", "status", "MetaData"} <= names_of(kind)
    extra = set(obj) - names_of(kind)
    assert not extra, f"{kind} has names outside the XSD: {extra}"
    assert set(obj.get("MetaData", {})) <= names_of("ModificationMetaData")
    for key, value in obj.items():
        if key.endswith("Ref"):
            assert set(value) <= {"value"} | names_of("ReferenceType"), (key, value)


def check_fault(fault: dict[str, Any]) -> None:
    assert set(fault) <= names_of("Fault") and fault["Error"]
    for error in fault["Error"]:
        assert set(error) <= names_of("Error") and isinstance(error["code"], str)


def check_query_response(response: dict[str, Any]) -> None:
    for key, value in response.items():
        if key in ENTITIES:
            for obj in value:
                check_entity(key, obj)
        else:
            assert key in names_of("QueryResponse"), key


def check_response(body: dict[str, Any]) -> None:
    """A whole IntuitResponse: top-level names, then every nested object."""
    assert "time" in body
    for key, value in body.items():
        if key in ENTITIES:
            check_entity(key, value)
            continue
        assert key in names_of("IntuitResponse"), key
        if key == "Fault":
            check_fault(value)
        elif key == "QueryResponse":
            check_query_response(value)
        elif key == "CDCResponse":
            for cdc in value:
                assert set(cdc) <= names_of("CDCResponse")
                for response in cdc["QueryResponse"]:
                    check_query_response(response)
        elif key == "BatchItemResponse":
            for item in value:
                for name, part in item.items():
                    if name in ENTITIES:
                        check_entity(name, part)
                    else:
                        assert name in names_of("BatchItemResponse"), name
                        if name == "Fault":
                            check_fault(part)
                        elif name == "QueryResponse":
                            check_query_response(part)


def every_kind_of_response(qbo: Qbo) -> list[dict[str, Any]]:
    parent = decode(qbo.post("/item", {"Name": "Cat", "Type": "Category"}))["Item"]
    bodies = [decode(qbo.post("/item", {
        "Name": "Full", "Sku": "F-1", "Description": "d", "Type": "Inventory", "Taxable": True,
        "UnitPrice": 10.5, "PurchaseCost": 4, "PurchaseDesc": "p", "TrackQtyOnHand": True,
        "QtyOnHand": 3, "ReorderPoint": 1, "InvStartDate": "2024-01-01",
        "SalesTaxIncluded": False, "PurchaseTaxIncluded": False,
        "ParentRef": {"value": parent["Id"]}, "IncomeAccountRef": {"value": INCOME},
        "ExpenseAccountRef": {"value": "3"}, "AssetAccountRef": {"value": "5"}}))]
    qbo.post("/item", {"Id": "2", "SyncToken": "0", "sparse": True, "Active": False})
    qbo.admin.vendor("DELETE", f"quickbooks/realms/{qbo.realm}/accounts/4")
    bodies += [decode(r) for r in (
        qbo.get("/item/2"), qbo.get("/account/1"), qbo.get("/item/999"),
        qbo.query("select * from Item where Active IN (true, false)"),
        qbo.query("select * from Account"), qbo.query("select count(*) from Item"),
        qbo.query("select * from Item where Sku = 'none'"),
        qbo.query("select * from Item where UnitPrice = 1"), qbo.query("select * fro Item"),
        qbo.get("/cdc", params={"entities": "Item,Account",
                                "changedSince": "2000-01-01T00:00:00Z"}),
        qbo.get("/cdc", params={"entities": "Item,Account",
                                "changedSince": bodies[0]["time"]}),
        qbo.post("/item", {"Name": "Full", "Type": "Service",
                           "IncomeAccountRef": {"value": INCOME}}),
        qbo.post("/item", {"Id": "2", "SyncToken": "0", "sparse": True}),
        qbo.post("/batch", {"BatchItemRequest": [
            {"bId": "1", "Query": "select * from Item"},
            {"bId": "2", "operation": "update", "Item": {"Id": "2", "SyncToken": "9"}},
            {"bId": "3", "operation": "create",
             "Item": {"Name": "B", "Type": "Service", "IncomeAccountRef": {"value": INCOME}}},
        ]}),
    )]
    return bodies


def test_35_every_response_uses_only_xsd_names(qbo: Qbo) -> None:
    bodies = every_kind_of_response(qbo)
    seen = {key for body in bodies for key in body}
    assert {"Item", "Account", "Fault", "QueryResponse", "CDCResponse",
            "BatchItemResponse"} <= seen
    for body in bodies:
        check_response(body)


def test_35_the_check_catches_a_drifted_field() -> None:
    with pytest.raises(AssertionError):
        check_entity("Item", {"Id": "1", "Price": 3})
    with pytest.raises(AssertionError):
        check_fault({"Error": [{"code": "1", "Message": "m", "Details": "d"}], "type": "x"})


def test_35_seeded_tricky_catalog_uses_only_xsd_names(qbo: Qbo) -> None:
    qbo.admin.vendor("POST", f"quickbooks/realms/{qbo.realm}/seed",
                     json={"count": 60, "tricky": True})
    body = decode(qbo.query("select * from Item where Active IN (true, false) MAXRESULTS 1000"))
    assert len(body["QueryResponse"]["Item"]) == 60 + 14
    check_response(body)
