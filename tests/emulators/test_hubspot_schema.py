"""The schema check itself: strict enough that a drifted field fails."""

from __future__ import annotations

import jsonschema
import pytest

from emulators.client import EmulatorAdmin
from tests.emulators.conftest import HubSpotApi, validate


def test_a_drifted_field_fails_validation(hubspot: HubSpotApi) -> None:
    body = hubspot.create(name="Widget", price="1")
    validate(body, "SimplePublicObject")
    for drift in (
        {**body, "updated_at": body.pop("updatedAt")},  # renamed
        {**body, "archived": "false"},  # wrong type
        {**body, "properties": {**body["properties"], "price": 1}},  # number, not string
        {**body, "extra": True},  # unknown field
    ):
        with pytest.raises(jsonschema.ValidationError):
            validate(drift, "SimplePublicObject")


def test_list_and_search_bodies_validate_after_seeding_tricky_products(
    hubspot: HubSpotApi, hubspot_admin: EmulatorAdmin, portal: str
) -> None:
    hubspot_admin.vendor(
        "POST", f"hubspot/portals/{portal}/seed", json={"count": 30, "seed": 7, "tricky": True}
    )
    listed = hubspot.products("GET", params={"limit": 100, "properties": "hs_sku,price,name"})
    validate(listed.json(), "CollectionResponseSimplePublicObjectWithAssociationsForwardPaging")
    found = hubspot.search(limit=200, properties=["hs_sku", "hs_product_type"])
    validate(found.json(), "CollectionResponseWithTotalSimplePublicObject")
    assert found.json()["total"] == 45
    skus = [r["properties"]["hs_sku"] for r in found.json()["results"]]
    assert skus.count("DUP-001") == 2 and "case-sku-1" in skus and "CASE-SKU-1" in skus


def test_seeding_is_deterministic(
    hubspot: HubSpotApi, hubspot_admin: EmulatorAdmin, portal: str
) -> None:
    def catalog() -> list[tuple[str, str]]:
        hubspot_admin.reset()
        hubspot_admin.vendor(
            "POST", f"hubspot/portals/{portal}/seed", json={"count": 20, "seed": 3}
        )
        rows = hubspot.products("GET", params={"limit": 100, "properties": "hs_sku,price"})
        return [
            (r["properties"]["hs_sku"], r["properties"]["price"]) for r in rows.json()["results"]
        ]

    assert catalog() == catalog()
