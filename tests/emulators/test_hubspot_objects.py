"""HubSpot single-object endpoints: fidelity checklist items 1-6 (api-reference §9)."""

from __future__ import annotations

import re
import time

from tests.emulators.conftest import HubSpotApi, validate, where

ISO_MS = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")


def test_01_create_returns_201_with_string_properties(hubspot: HubSpotApi) -> None:
    """Checklist 1: 201, {id, properties, createdAt, updatedAt, archived:false}, strings."""
    response = hubspot.products(
        "POST", json={"properties": {"name": "Widget", "price": "17", "hs_sku": "W-1"}}
    )
    assert response.status_code == 201
    body = response.json()
    validate(body, "SimplePublicObject")
    assert body["archived"] is False
    assert body["id"].isdigit() and len(body["id"]) >= 10
    assert body["properties"]["hs_object_id"] == body["id"]
    assert all(isinstance(v, str) for v in body["properties"].values())
    assert body["properties"]["price"] == "17"
    assert ISO_MS.fullmatch(body["createdAt"]) and ISO_MS.fullmatch(body["updatedAt"])
    assert response.headers["X-HubSpot-Correlation-Id"]


def test_02_patch_returns_full_object_and_updates_last_modified(hubspot: HubSpotApi) -> None:
    """Checklist 2: PATCH → 200; hs_lastmodifieddate/updatedAt move on every write."""
    made = hubspot.create(name="Widget", price="17", description="old")
    time.sleep(0.002)
    response = hubspot.products("PATCH", f"/{made['id']}", json={"properties": {"price": "18.5"}})
    assert response.status_code == 200
    body = response.json()
    validate(body, "SimplePublicObject")
    assert body["properties"]["price"] == "18.5"
    assert body["updatedAt"] > made["updatedAt"]
    assert body["properties"]["hs_lastmodifieddate"] == body["updatedAt"]


def test_02_patch_with_empty_string_clears_the_value(hubspot: HubSpotApi) -> None:
    """Checklist 2: "" clears; a requested-but-empty property comes back as null."""
    made = hubspot.create(name="Widget", description="to be cleared")
    hubspot.products("PATCH", f"/{made['id']}", json={"properties": {"description": ""}})
    got = hubspot.products("GET", f"/{made['id']}", params={"properties": "description,name"})
    assert got.json()["properties"]["description"] is None
    validate(got.json(), "SimplePublicObjectWithAssociations")
    found = hubspot.search(filterGroups=where(("description", "HAS_PROPERTY", None))).json()
    assert found["total"] == 0


def test_02_unknown_property_is_refused_per_property(hubspot: HubSpotApi) -> None:
    """Checklist 2: unknown property → 400 VALIDATION_ERROR with PROPERTY_DOESNT_EXIST."""
    made = hubspot.create(name="Widget")
    response = hubspot.products("PATCH", f"/{made['id']}", json={"properties": {"colour": "red"}})
    assert response.status_code == 400
    body = response.json()
    validate(body, "Error")
    assert body["category"] == "VALIDATION_ERROR"
    assert "PROPERTY_DOESNT_EXIST" in body["message"]
    assert body["errors"][0]["context"]["propertyName"] == ["colour"]


def test_02_read_only_properties_are_refused(hubspot: HubSpotApi) -> None:
    """Checklist 2: writing hs_object_id or hs_lastmodifieddate → 400 READ_ONLY_VALUE."""
    made = hubspot.create(name="Widget")
    for name in ("hs_object_id", "hs_lastmodifieddate"):
        response = hubspot.products("PATCH", f"/{made['id']}", json={"properties": {name: "1"}})
        assert response.status_code == 400
        assert "READ_ONLY_VALUE" in response.json()["message"]


def test_03_enumeration_accepts_only_its_options(hubspot: HubSpotApi) -> None:
    """Checklist 3: hs_product_type inventory|non_inventory|service, else INVALID_OPTION."""
    for value in ("inventory", "non_inventory", "service"):
        assert hubspot.create(name="T", hs_product_type=value)["properties"]["hs_product_type"]
    response = hubspot.products(
        "POST", json={"properties": {"name": "T", "hs_product_type": "Inventory"}}
    )
    assert response.status_code == 400
    message = response.json()["message"]
    assert "INVALID_OPTION" in message
    assert "was not one of the allowed options: [inventory, non_inventory, service]" in message


def test_03_numbers_must_be_plain_without_whitespace(hubspot: HubSpotApi) -> None:
    """Checklist 3: non-numeric or whitespace-padded numbers → 400 (post-2025-04-07)."""
    for bad in (" 17", "17 ", "abc", "1,5", "17.0.1"):
        response = hubspot.products("POST", json={"properties": {"name": "N", "price": bad}})
        assert response.status_code == 400, bad
        assert response.json()["category"] == "VALIDATION_ERROR"
    assert hubspot.create(name="N", price="-0.5")["properties"]["price"] == "-0.5"


def test_03_values_must_be_strings(hubspot: HubSpotApi, hubspot_admin: object) -> None:
    """Checklist 3: JSON numbers are refused by default (the spec types values as strings)."""
    response = hubspot.products("POST", json={"properties": {"name": "N", "price": 17}})
    assert response.status_code == 400


def test_04_list_pages_with_after_until_the_last_page(hubspot: HubSpotApi) -> None:
    """Checklist 4: limit default 10, max 100; paging.next.after until the last page."""
    for i in range(25):
        hubspot.create(name=f"P{i}", hs_sku=f"S-{i:02d}")
    first = hubspot.products("GET")
    validate(first.json(), "CollectionResponseSimplePublicObjectWithAssociationsForwardPaging")
    assert len(first.json()["results"]) == 10
    seen, after, pages = [], None, 0
    while True:
        params = {"limit": 10, "properties": "hs_sku", **({"after": after} if after else {})}
        body = hubspot.products("GET", params=params).json()
        pages += 1
        seen += [r["properties"]["hs_sku"] for r in body["results"]]
        if "paging" not in body:
            break
        after = body["paging"]["next"]["after"]
    assert pages == 3 and seen == [f"S-{i:02d}" for i in range(25)]
    assert hubspot.products("GET", params={"limit": 101}).status_code == 400


def test_04_archived_true_lists_only_archived(hubspot: HubSpotApi) -> None:
    """Checklist 4: archived=true returns only archived products."""
    keep, gone = hubspot.create(name="keep"), hubspot.create(name="gone")
    assert hubspot.products("DELETE", f"/{gone['id']}").status_code == 204
    live = [r["id"] for r in hubspot.products("GET").json()["results"]]
    archived = [
        r["id"] for r in hubspot.products("GET", params={"archived": "true"}).json()["results"]
    ]
    assert live == [keep["id"]] and archived == [gone["id"]]


def test_05_unknown_or_archived_id_is_404_with_empty_body(hubspot: HubSpotApi) -> None:
    """Checklist 5: 404 for unknown and archived ids; the body may be empty or HTML."""
    gone = hubspot.create(name="gone")
    hubspot.products("DELETE", f"/{gone['id']}")
    for product_id in ("99999999999", gone["id"]):
        response = hubspot.products("GET", f"/{product_id}")
        assert response.status_code == 404
        assert response.content == b""


def test_05_404_body_style_is_a_switch(hubspot: HubSpotApi, hubspot_admin) -> None:
    """Checklist 5: the HTML and JSON 404 variants."""
    hubspot_admin.set_knobs(not_found_body="html")
    response = hubspot.products("GET", "/1")
    assert response.status_code == 404 and response.headers["Content-Type"].startswith("text/html")
    hubspot_admin.set_knobs(not_found_body="json")
    body = hubspot.products("GET", "/1").json()
    validate(body, "Error")
    assert body["category"] == "OBJECT_NOT_FOUND"


def test_06_delete_archives_and_hides_from_list_and_search(hubspot: HubSpotApi) -> None:
    """Checklist 6: 204; gone from list and search; readable with archived=true."""
    made = hubspot.create(name="Widget", hs_sku="DEL-1")
    assert hubspot.search_sku("DEL-1")
    response = hubspot.products("DELETE", f"/{made['id']}")
    assert response.status_code == 204 and response.content == b""
    assert hubspot.search_sku("DEL-1") == []
    assert hubspot.products("GET").json()["results"] == []
    body = hubspot.products("GET", f"/{made['id']}", params={"archived": "true"}).json()
    validate(body, "SimplePublicObjectWithAssociations")
    assert body["archived"] is True and ISO_MS.fullmatch(body["archivedAt"])


def test_06_delete_of_unknown_id_follows_the_switch(hubspot: HubSpotApi, hubspot_admin) -> None:
    """Checklist 6 (open question 4): 204 by default, 404 when switched."""
    assert hubspot.products("DELETE", "/123").status_code == 204
    hubspot_admin.set_knobs(delete_unknown_status=404)
    assert hubspot.products("DELETE", "/123").status_code == 404


def test_read_by_unique_id_property_and_requested_properties(hubspot: HubSpotApi) -> None:
    """GET ?idProperty= needs a unique property; unknown requested properties are ignored."""
    made = hubspot.create(name="Widget", hs_sku="U-1")
    response = hubspot.products("GET", "/U-1", params={"idProperty": "hs_sku"})
    assert response.status_code == 400
    assert "non-unique 0-7 property hs_sku" in response.json()["message"]
    got = hubspot.products("GET", f"/{made['id']}", params={"properties": ["hs_sku", "nope"]})
    assert set(got.json()["properties"]) == {
        "hs_sku",
        "createdate",
        "hs_lastmodifieddate",
        "hs_object_id",
    }


def test_versioned_path_family_serves_the_same_products(hubspot: HubSpotApi) -> None:
    made = hubspot.create(name="Widget")
    response = hubspot.call("GET", f"/crm/objects/2026-03/products/{made['id']}")
    assert response.status_code == 200 and response.json()["id"] == made["id"]
