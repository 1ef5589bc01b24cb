"""HubSpot batch endpoints and unique properties: checklist items 7-9."""

from __future__ import annotations

from typing import Any

import pytest

from emulators.client import EmulatorAdmin
from tests.emulators.conftest import HubSpotApi, validate

UNIQUE = {
    "name": "productsync_write_id",
    "label": "productsync write id",
    "type": "string",
    "fieldType": "text",
    "groupName": "productinformation",
    "hasUniqueValue": True,
}


def batch(hubspot: HubSpotApi, op: str, inputs: list[dict[str, Any]], **extra: Any) -> Any:
    return hubspot.products("POST", f"/batch/{op}", json={"inputs": inputs, **extra})


@pytest.fixture
def unique_property(hubspot: HubSpotApi) -> str:
    response = hubspot.call("POST", "/crm/v3/properties/products", json=UNIQUE)
    assert response.status_code == 201, response.text
    return UNIQUE["name"]


def test_07_more_than_100_inputs_is_400(hubspot: HubSpotApi) -> None:
    """Checklist 7: batches are capped at 100 inputs (400 assumed)."""
    inputs = [{"properties": {"name": f"p{i}"}} for i in range(101)]
    response = batch(hubspot, "create", inputs)
    assert response.status_code == 400
    validate(response.json(), "Error")
    assert len(batch(hubspot, "create", inputs[:100]).json()["results"]) == 100


def test_07_batch_create_without_trace_ids_is_all_or_nothing(
    hubspot: HubSpotApi, hubspot_admin: EmulatorAdmin, portal: str
) -> None:
    """Checklist 7: one bad input → 400, nothing created."""
    inputs = [{"properties": {"name": "ok"}}, {"properties": {"name": "bad", "price": "x"}}]
    response = batch(hubspot, "create", inputs)
    assert response.status_code == 400
    assert response.json()["category"] == "VALIDATION_ERROR"
    assert hubspot_admin.vendor("GET", f"hubspot/portals/{portal}/products")["products"] == []


def test_07_batch_create_with_trace_ids_is_207_partial(hubspot: HubSpotApi) -> None:
    """Checklist 7: unique objectWriteTraceIds → 207 with results, errors and numErrors."""
    inputs = [
        {"properties": {"name": "ok"}, "objectWriteTraceId": "t1"},
        {"properties": {"name": "bad", "price": "x"}, "objectWriteTraceId": "t2"},
    ]
    response = batch(hubspot, "create", inputs)
    assert response.status_code == 207
    body = response.json()
    validate(body, "BatchResponseSimplePublicObjectWithErrors")
    assert [r["objectWriteTraceId"] for r in body["results"]] == ["t1"]
    assert body["numErrors"] == 1
    assert body["errors"][0]["context"] == {"objectWriteTraceId": ["t2"]}


def test_07_batch_create_all_good_is_201(hubspot: HubSpotApi) -> None:
    response = batch(hubspot, "create", [{"properties": {"name": "a", "hs_sku": "A"}}])
    assert response.status_code == 201
    body = response.json()
    validate(body, "BatchResponseSimplePublicObject")
    assert body["status"] == "COMPLETE"


def test_08_batch_read_of_missing_ids_is_207_object_not_found(hubspot: HubSpotApi) -> None:
    """Checklist 8: missing ids → 207, errors[].category OBJECT_NOT_FOUND, context.ids."""
    made = hubspot.create(name="here", hs_sku="H-1")
    response = batch(hubspot, "read", [{"id": made["id"]}, {"id": "404404"}], properties=["hs_sku"])
    assert response.status_code == 207
    body = response.json()
    validate(body, "BatchResponseSimplePublicObjectWithErrors")
    assert [r["properties"]["hs_sku"] for r in body["results"]] == ["H-1"]
    assert body["errors"][0]["category"] == "OBJECT_NOT_FOUND"
    assert body["errors"][0]["context"]["ids"] == ["404404"]
    ok = batch(hubspot, "read", [{"id": made["id"]}], properties=["hs_sku"])
    assert ok.status_code == 200
    validate(ok.json(), "BatchResponseSimplePublicObject")


def test_09_upsert_by_non_unique_hs_sku_is_refused(hubspot: HubSpotApi, portal: str) -> None:
    """Checklist 9: the vendor's exact non-unique 400."""
    response = batch(hubspot, "upsert", [{"idProperty": "hs_sku", "id": "W-1", "properties": {}}])
    assert response.status_code == 400
    body = response.json()
    validate(body, "Error")
    assert body["category"] == "VALIDATION_ERROR"
    assert body["message"] == (
        f"Unable to perform update/upsert by non-unique 0-7 property hs_sku in portal ID {portal}"
    )
    sku = hubspot.call("GET", "/crm/v3/properties/products/hs_sku").json()
    assert sku["hasUniqueValue"] is False


def test_09_upsert_by_unique_custom_property_creates_then_updates(
    hubspot: HubSpotApi, unique_property: str
) -> None:
    """Checklist 9: a unique custom property works as upsert key; new:true then new:false."""
    first = batch(
        hubspot,
        "upsert",
        [{"idProperty": unique_property, "id": "w-1", "properties": {"name": "A", "hs_sku": "S"}}],
    )
    assert first.status_code == 200
    validate(first.json(), "BatchResponseSimplePublicUpsertObject")
    created = first.json()["results"][0]
    assert created["new"] is True
    again = batch(
        hubspot,
        "upsert",
        [{"idProperty": unique_property, "id": "w-1", "properties": {"name": "B"}}],
    ).json()["results"][0]
    assert again["new"] is False and again["id"] == created["id"]
    assert again["properties"]["name"] == "B"
    got = hubspot.products("GET", "/w-1", params={"idProperty": unique_property})
    assert got.status_code == 200 and got.json()["id"] == created["id"]


def test_09_duplicate_value_in_unique_property_is_refused(
    hubspot: HubSpotApi, hubspot_admin: EmulatorAdmin, unique_property: str
) -> None:
    """A second product may not take a unique value: 409 CONFLICT naming the holder."""
    holder = hubspot.create(name="A", **{unique_property: "k-1"})
    response = hubspot.products("POST", json={"properties": {"name": "B", unique_property: "k-1"}})
    assert response.status_code == 409
    validate(response.json(), "Error")
    assert response.json()["message"] == f"Object already exists. Existing ID: {holder['id']}"
    hubspot_admin.set_knobs(unique_conflict_style="validation_400")
    response = hubspot.products("POST", json={"properties": {"name": "B", unique_property: "k-1"}})
    assert response.status_code == 400


def test_09_two_inputs_for_one_record_are_rejected(
    hubspot: HubSpotApi, unique_property: str
) -> None:
    inputs = [{"idProperty": unique_property, "id": "same", "properties": {}}] * 2
    assert batch(hubspot, "upsert", inputs).status_code == 400


def test_property_catalogue_describes_the_sync_fields(hubspot: HubSpotApi) -> None:
    body = hubspot.call("GET", "/crm/v3/properties/products").json()
    names = {p["name"]: p for p in body["results"]}
    for name in ("name", "price", "hs_sku", "hs_cost_of_goods_sold", "hs_lastmodifieddate"):
        assert name in names
    assert names["price"]["type"] == "number"
    assert names["hs_lastmodifieddate"]["modificationMetadata"]["readOnlyValue"] is True
    kind = hubspot.call("GET", "/crm/v3/properties/products/hs_product_type").json()
    assert [o["value"] for o in kind["options"]] == ["inventory", "non_inventory", "service"]
    assert hubspot.call("GET", "/crm/v3/properties/products/nope").status_code == 404


def test_custom_property_name_clash_is_409(hubspot: HubSpotApi, unique_property: str) -> None:
    response = hubspot.call("POST", "/crm/v3/properties/products", json=UNIQUE)
    assert response.status_code == 409


def test_batch_update_archive_and_missing_ids(hubspot: HubSpotApi) -> None:
    a, b = hubspot.create(name="a"), hubspot.create(name="b")
    response = batch(
        hubspot,
        "update",
        [{"id": a["id"], "properties": {"price": "2"}}, {"id": "1", "properties": {"price": "3"}}],
    )
    assert response.status_code == 207
    body = response.json()
    validate(body, "BatchResponseSimplePublicObjectWithErrors")
    assert body["results"][0]["properties"]["price"] == "2"
    assert body["errors"][0]["context"]["ids"] == ["1"]
    gone = batch(hubspot, "archive", [{"id": b["id"]}, {"id": "1"}])
    assert gone.status_code == 204
    assert hubspot.products("GET", f"/{b['id']}").status_code == 404


def test_09_hs_sku_uniqueness_is_a_switch(
    hubspot: HubSpotApi, hubspot_admin: EmulatorAdmin
) -> None:
    """Open question 1: with hs_sku_unique the catalogue says so and upsert by SKU works."""
    hubspot_admin.set_knobs(hs_sku_unique=True)
    sku = hubspot.call("GET", "/crm/v3/properties/products/hs_sku").json()
    assert sku["hasUniqueValue"] is True
    inputs = [{"idProperty": "hs_sku", "id": "U-9", "properties": {"name": "u"}}]
    response = batch(hubspot, "upsert", inputs)
    assert response.status_code == 200 and response.json()["results"][0]["new"] is True
