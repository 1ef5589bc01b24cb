"""QBO Item contract tests over real sockets (api-reference §9 items 18-24, 31, 32)."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest

from tests.emulators import quickbooks_fixtures
from tests.emulators.quickbooks_fixtures import (
    ASSET,
    COGS,
    INCOME,
    Qbo,
    decode,
    fault_of,
)

qbo_server, qbo = quickbooks_fixtures.qbo_server, quickbooks_fixtures.qbo  # shared fixtures

OFFSET_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d-08:00$")
INVENTORY = {"Name": "Rock Fountain", "Type": "Inventory", "TrackQtyOnHand": True,
             "QtyOnHand": 10, "InvStartDate": "2024-01-01",
             "IncomeAccountRef": {"value": INCOME}, "ExpenseAccountRef": {"value": COGS},
             "AssetAccountRef": {"value": ASSET}}


def test_18_create_returns_item_with_strings_numbers_and_company_offset(qbo: Qbo) -> None:
    response = qbo.post("/item", {**INVENTORY, "Sku": "RF-01", "UnitPrice": Decimal("275.10"),
                                  "PurchaseCost": 125})
    assert response.status_code == 200
    body = decode(response)
    item = body["Item"]
    assert set(body) == {"Item", "time"}
    assert item["Id"] == "1" and item["SyncToken"] == "0"
    assert item["UnitPrice"] == Decimal("275.1") and item["PurchaseCost"] == 125
    assert '"UnitPrice":275.1,' in response.text  # a JSON number, not a string or float noise
    assert '"QtyOnHand":10,' in response.text
    assert OFFSET_TIME.match(item["MetaData"]["CreateTime"])
    assert OFFSET_TIME.match(item["MetaData"]["LastUpdatedTime"])
    assert re.match(r"^.*T.*\.\d{3}-08:00$", body["time"])
    assert item["IncomeAccountRef"] == {"value": INCOME, "name": "Sales of Product Income"}
    assert item["FullyQualifiedName"] == "Rock Fountain" and item["Sku"] == "RF-01"


def test_18_only_properties_with_values_are_returned(qbo: Qbo) -> None:
    item = qbo.create(Name="Plain")
    for absent in ("Sku", "Description", "PurchaseDesc", "AssetAccountRef", "QtyOnHand",
                   "ExpenseAccountRef", "ParentRef"):
        assert absent not in item
    assert None not in item.values()


@pytest.mark.parametrize(
    ("body", "code", "element"),
    [
        ({"Type": "Service", "IncomeAccountRef": {"value": INCOME}}, "2020", "Name"),
        ({"Name": "x" * 101, "Type": "Service", "IncomeAccountRef": {"value": INCOME}},
         "2050", "Name"),
        ({"Name": "a:b", "Type": "Service", "IncomeAccountRef": {"value": INCOME}},
         "6000", "Name"),
        ({"Name": "a\tb", "Type": "Service", "IncomeAccountRef": {"value": INCOME}},
         "6000", "Name"),
        ({"Name": "a\nb", "Type": "Service", "IncomeAccountRef": {"value": INCOME}},
         "6000", "Name"),
        ({"Name": "n", "Type": "Gizmo", "IncomeAccountRef": {"value": INCOME}}, "2170", "Type"),
        ({"Name": "n", "Type": "Group"}, "2170", "Type"),
        ({"Name": "n", "IncomeAccountRef": {"value": INCOME}}, "2020", "Type"),
        ({"Name": "n", "Type": "Service"}, "2020", "IncomeAccountRef"),
        ({"Name": "n", "Type": "NonInventory"}, "2020", "IncomeAccountRef"),
        ({"Name": "n", "Type": "Service", "IncomeAccountRef": {"value": "999"}},
         "2500", "IncomeAccountRef"),
        ({"Name": "n", "Type": "Service", "IncomeAccountRef": {"value": INCOME},
          "PurchaseCost": 3}, "2020", "ExpenseAccountRef"),
        ({**INVENTORY, "QtyOnHand": None}, "2020", "QtyOnHand"),
        ({k: v for k, v in INVENTORY.items() if k != "InvStartDate"}, "2020", "InvStartDate"),
        ({k: v for k, v in INVENTORY.items() if k != "AssetAccountRef"}, "2020",
         "AssetAccountRef"),
        ({k: v for k, v in INVENTORY.items() if k != "TrackQtyOnHand"}, "2020",
         "TrackQtyOnHand"),
        ({"Name": "n", "Type": "Service", "IncomeAccountRef": {"value": INCOME},
          "Sku": "s" * 101}, "2050", "Sku"),
        ({"Name": "n", "Type": "Service", "IncomeAccountRef": {"value": INCOME},
          "Description": "d" * 4001}, "2050", "Description"),
        ({"Name": "n", "Type": "Service", "IncomeAccountRef": {"value": INCOME},
          "ExpenseAccountRef": {"value": COGS}, "PurchaseDesc": "p" * 1001}, "2050",
         "PurchaseDesc"),
        ({"Name": "n", "Type": "Service", "IncomeAccountRef": {"value": INCOME},
          "UnitPrice": 100000000000}, "6000", "UnitPrice"),
        ({"Name": "n", "Type": "Service", "IncomeAccountRef": {"value": INCOME},
          "UnitPrice": "cheap"}, "2010", "UnitPrice"),
        ({"Name": "n", "Type": "Service", "IncomeAccountRef": {"value": INCOME},
          "Colour": "red"}, "2010", "Colour"),
    ],
)
def test_19_create_validation(qbo: Qbo, body: dict, code: str, element: str) -> None:
    response = qbo.post("/item", body)
    assert response.status_code == 400
    error = fault_of(response)
    assert (error["code"], error["element"]) == (code, element), error
    assert decode(qbo.query("select count(*) from Item"))["QueryResponse"]["totalCount"] == 0


def test_19_boundaries_are_accepted_and_limits_exact(qbo: Qbo) -> None:
    item = qbo.create(Name="x" * 100, Sku="s" * 100, Description="d" * 4000,
                      UnitPrice=99999999999, ExpenseAccountRef={"value": COGS},
                      PurchaseDesc="p" * 1000)
    assert len(item["Name"]) == 100 and item["UnitPrice"] == 99999999999
    error = fault_of(qbo.post("/item", {"Name": "y" * 101, "Type": "Service",
                                        "IncomeAccountRef": {"value": INCOME}}))
    assert error["Detail"].endswith("Max:100 supported. Supplied length:101")


def test_19_invalid_name_characters_code_is_a_switch(qbo: Qbo) -> None:
    qbo.knobs(name_invalid_char_code="2050")
    response = qbo.post("/item", {"Name": "a:b", "Type": "Service",
                                  "IncomeAccountRef": {"value": INCOME}})
    assert fault_of(response)["code"] == "2050"


def test_19_expense_account_strict_switch(qbo: Qbo) -> None:
    assert qbo.create(Name="Lenient")["Type"] == "Service"
    qbo.knobs(strict_expense_account=True)
    response = qbo.post("/item", {"Name": "Strict", "Type": "Service",
                                  "IncomeAccountRef": {"value": INCOME}})
    assert fault_of(response)["code"] == "2020"


def test_20_duplicate_name_on_create_and_rename(qbo: Qbo) -> None:
    qbo.create(Name="Widget")
    other = qbo.create(Name="Gadget")
    for response in (
        qbo.post("/item", {"Name": "Widget", "Type": "Service",
                           "IncomeAccountRef": {"value": INCOME}}),
        qbo.post("/item", {"Id": other["Id"], "SyncToken": other["SyncToken"],
                           "sparse": True, "Name": "Widget"}),
    ):
        assert response.status_code == 400
        body = decode(response)
        assert body["Fault"]["type"] == "ValidationFault"
        error = body["Fault"]["Error"][0]
        assert (error["code"], error["Message"]) == ("6240", "Duplicate Name Exists Error")


def test_20_name_uniqueness_switches(qbo: Qbo) -> None:
    first = qbo.create(Name="Widget")
    assert fault_of(qbo.post("/item", {"Name": "WIDGET", "Type": "Service",
                                       "IncomeAccountRef": {"value": INCOME}}))["code"] == "6240"
    qbo.post("/item", {"Id": first["Id"], "SyncToken": "0", "sparse": True, "Active": False})
    assert fault_of(qbo.post("/item", {"Name": "Widget", "Type": "Service",
                                       "IncomeAccountRef": {"value": INCOME}}))["code"] == "6240"
    qbo.knobs(name_case_insensitive=False, name_unique_includes_inactive=False)
    assert qbo.create(Name="Widget")["Name"] == "Widget"  # the holder is inactive now
    assert qbo.create(Name="WIDGET")["Name"] == "WIDGET"


def test_21_stale_synctoken_is_5010_and_success_increments(qbo: Qbo) -> None:
    item = qbo.create(Name="Lamp")
    updated = decode(qbo.post("/item", {"Id": item["Id"], "SyncToken": "0", "sparse": True,
                                        "Description": "new"}))["Item"]
    assert updated["SyncToken"] == "1"
    response = qbo.post("/item", {"Id": item["Id"], "SyncToken": "0", "sparse": True,
                                  "Description": "lost"})
    assert response.status_code == 400
    body = decode(response)
    error = body["Fault"]["Error"][0]
    assert body["Fault"]["type"] == "ValidationFault"
    assert (error["code"], error["Message"]) == ("5010", "Stale Object Error")
    assert "were working on this at the same time" in error["Detail"]
    assert decode(qbo.get(f"/item/{item['Id']}"))["Item"]["Description"] == "new"


def test_21_missing_synctoken_and_noop_switch(qbo: Qbo) -> None:
    item = qbo.create(Name="Lamp")
    missing = qbo.post("/item", {"Id": item["Id"], "sparse": True, "Description": "x"})
    assert fault_of(missing)["code"] == "2020"
    same = {"Id": item["Id"], "SyncToken": "0", "sparse": True, "Name": "Lamp"}
    assert decode(qbo.post("/item", same))["Item"]["SyncToken"] == "1"
    qbo.knobs(bump_synctoken_on_noop=False)
    same["SyncToken"] = "1"
    assert decode(qbo.post("/item", same))["Item"]["SyncToken"] == "1"


def test_22_full_update_nulls_omitted_fields_sparse_keeps_them(qbo: Qbo) -> None:
    item = qbo.create(Name="Pump", Sku="P-1", Description="d", UnitPrice=5)
    sparse = decode(qbo.post("/item", {"Id": item["Id"], "SyncToken": "0", "sparse": True,
                                       "UnitPrice": 6}))["Item"]
    assert (sparse["Sku"], sparse["Description"], sparse["UnitPrice"]) == ("P-1", "d", 6)
    full = decode(qbo.post("/item", {"Id": item["Id"], "SyncToken": "1", "Name": "Pump",
                                     "Type": "Service",
                                     "IncomeAccountRef": {"value": INCOME}}))["Item"]
    assert "Sku" not in full and "Description" not in full
    assert full["UnitPrice"] == 0 and full["SyncToken"] == "2"


def test_22_reorder_point_not_nulled_sparsely_and_tracking_cannot_stop(qbo: Qbo) -> None:
    item = decode(qbo.post("/item", {**INVENTORY, "ReorderPoint": 4}))["Item"]
    kept = decode(qbo.post("/item", {"Id": item["Id"], "SyncToken": "0", "sparse": True,
                                     "ReorderPoint": None}))["Item"]
    assert kept["ReorderPoint"] == 4
    response = qbo.post("/item", {"Id": item["Id"], "SyncToken": kept["SyncToken"],
                                  "sparse": True, "TrackQtyOnHand": False})
    assert response.status_code == 400 and fault_of(response)["element"] == "TrackQtyOnHand"


def test_22_inv_start_date_keeps_the_original_on_updates(qbo: Qbo) -> None:
    item = decode(qbo.post("/item", INVENTORY))["Item"]
    sparse = decode(qbo.post("/item", {"Id": item["Id"], "SyncToken": "0", "sparse": True,
                                       "InvStartDate": "2025-06-01", "QtyOnHand": 7}))["Item"]
    assert (sparse["InvStartDate"], sparse["QtyOnHand"]) == ("2024-01-01", 7)
    full = decode(qbo.post("/item", {**INVENTORY, "Id": item["Id"], "SyncToken": "1",
                                     "InvStartDate": "2025-06-01", "QtyOnHand": None}))["Item"]
    assert (full["InvStartDate"], full["QtyOnHand"]) == ("2024-01-01", 7)


def test_23_inactivate_hides_from_plain_select_and_has_no_delete(qbo: Qbo) -> None:
    item = qbo.create(Name="Old", Sku="OLD-1")
    qbo.create(Name="Current")
    done = decode(qbo.post("/item", {"Id": item["Id"], "SyncToken": "0", "sparse": True,
                                     "Active": False}))["Item"]
    assert done["Active"] is False and done["Name"] == "Old"
    names = [i["Name"] for i in decode(qbo.query("select * from Item"))["QueryResponse"]["Item"]]
    assert names == ["Current"]
    for where in ("Active = false", "Active IN (true, false)"):
        found = decode(qbo.query(f"select * from Item where {where}"))["QueryResponse"]["Item"]
        assert "Old" in [i["Name"] for i in found]
    assert qbo.call("DELETE", f"/item/{item['Id']}").status_code in (404, 405)


def test_23_deleted_suffix_switch(qbo: Qbo) -> None:
    qbo.knobs(rename_on_inactivate=True)
    item = qbo.create(Name="Old")
    done = decode(qbo.post("/item", {"Id": item["Id"], "SyncToken": "0", "sparse": True,
                                     "Active": False}))["Item"]
    assert done["Name"] == done["FullyQualifiedName"] == "Old (deleted)"
    fresh = qbo.create(Name="Old")  # the name is free again
    gone = decode(qbo.post("/item", {"Id": fresh["Id"], "SyncToken": "0", "sparse": True,
                                     "Active": False}))["Item"]
    assert gone["Name"] == "Old (deleted 2)"
    parent = decode(qbo.post("/item", {"Name": "Tools", "Type": "Category"}))["Item"]
    child = qbo.create(Name="Saw", ParentRef={"value": parent["Id"]})
    child = decode(qbo.post("/item", {"Id": child["Id"], "SyncToken": "0", "sparse": True,
                                      "Active": False}))["Item"]
    assert child["FullyQualifiedName"] == "Tools:Saw (deleted)"


def test_24_unknown_id_is_400_code_610(qbo: Qbo) -> None:
    for path in ("/item/424242", "/item/abc"):
        response = qbo.get(path)
        assert response.status_code == 400
        assert fault_of(response)["code"] == "610"
    update = qbo.post("/item", {"Id": "424242", "SyncToken": "0", "sparse": True, "Name": "x"})
    assert fault_of(update)["code"] == "610"


def test_31_requestid_replays_original_response_and_creates_nothing(qbo: Qbo) -> None:
    body = {"Name": "Once", "Type": "Service", "IncomeAccountRef": {"value": INCOME}}
    first = qbo.post("/item", body, params={"requestid": "req-1"})
    again = qbo.post("/item", body, params={"requestid": "req-1"})
    assert first.status_code == again.status_code == 200
    assert first.content == again.content
    assert decode(qbo.query("select count(*) from Item"))["QueryResponse"]["totalCount"] == 1
    other = qbo.post("/item", {**body, "Name": "Twice"}, params={"requestid": "req-2"})
    assert decode(other)["Item"]["Id"] == "2"


def test_31_requestid_replays_update_without_changing_again(qbo: Qbo) -> None:
    item = qbo.create(Name="Lamp")
    update = {"Id": item["Id"], "SyncToken": "0", "sparse": True, "Description": "v1"}
    first = qbo.post("/item", update, params={"requestid": "u-1"})
    again = qbo.post("/item", update, params={"requestid": "u-1"})
    assert first.content == again.content
    assert decode(qbo.get(f"/item/{item['Id']}"))["Item"]["SyncToken"] == "1"


def test_31_lost_response_then_retry_with_same_requestid(qbo: Qbo) -> None:
    qbo.admin.add_fault("lose_response", r"/item$", method="POST")
    body = {"Name": "Lost", "Type": "Service", "IncomeAccountRef": {"value": INCOME}}
    with pytest.raises(Exception):  # noqa: B017 - any connection error is the point
        qbo.post("/item", body, params={"requestid": "lost-1"})
    retry = qbo.post("/item", body, params={"requestid": "lost-1"})
    assert retry.status_code == 200 and decode(retry)["Item"]["Id"] == "1"
    assert decode(qbo.query("select count(*) from Item"))["QueryResponse"]["totalCount"] == 1


@pytest.mark.parametrize("minor", [None, "1", "4", "74", "75"])
def test_32_minorversion_below_75_or_absent_behaves_as_75(qbo: Qbo, minor: str | None) -> None:
    item = qbo.create(Name="Versioned", Sku="V-1")
    params = {"minorversion": minor} if minor else {}
    session_params = qbo.get(f"/item/{item['Id']}", params=params)
    if minor is None:
        raw = qbo.session.get(f"{qbo.url}/v3/company/{qbo.realm}/item/{item['Id']}",
                              headers={"Authorization": f"Bearer {qbo.token}"}, timeout=10)
        assert decode(raw)["Item"]["Sku"] == "V-1"
    assert decode(session_params)["Item"]["Sku"] == "V-1"
    found = decode(qbo.query("select * from Item"))["QueryResponse"]["Item"][0]
    assert found["Sku"] == "V-1"


def test_32_type_must_be_explicit(qbo: Qbo) -> None:
    response = qbo.post("/item", {"Name": "NoType", "IncomeAccountRef": {"value": INCOME}})
    assert response.status_code == 400 and fault_of(response)["element"] == "Type"


def test_categories_nest_and_qualify_names(qbo: Qbo) -> None:
    parent = decode(qbo.post("/item", {"Name": "Tools", "Type": "Category"}))["Item"]
    child = qbo.create(Name="Hammer", ParentRef={"value": parent["Id"]})
    assert child["FullyQualifiedName"] == "Tools:Hammer" and child["SubItem"] is True
    assert child["ParentRef"] == {"value": parent["Id"], "name": "Tools"}
    bad = qbo.post("/item", {"Name": "Nail", "Type": "Service", "ParentRef": {"value": "77"},
                             "IncomeAccountRef": {"value": INCOME}})
    assert fault_of(bad)["code"] == "2500"
