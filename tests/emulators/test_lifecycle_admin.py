"""The emulators' lifecycle operations (what a person does in the vendors' UIs): HubSpot's
restore from the recycle bin and merge, QuickBooks' item merge; held to what the
vendors' APIs then show (api-reference §1.3, §2.6, §2.10)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from emulators.client import EmulatorAdmin, EmulatorAdminError
from tests.emulators import quickbooks_fixtures
from tests.emulators.conftest import HubSpotApi, validate
from tests.emulators.quickbooks_fixtures import Qbo, decode, fault_of

qbo_server, qbo = quickbooks_fixtures.qbo_server, quickbooks_fixtures.qbo  # shared fixtures


def _archived_ids(hubspot: HubSpotApi) -> set[str]:
    page = hubspot.products("GET", params={"archived": "true", "limit": 100}).json()
    return {obj["id"] for obj in page["results"]}


def test_hubspot_restore_brings_a_product_back_from_the_recycle_bin(
    hubspot: HubSpotApi, hubspot_admin: EmulatorAdmin, portal: str
) -> None:
    made = hubspot.create(name="Widget", hs_sku="W-1", price="5")
    assert hubspot.products("DELETE", f"/{made['id']}").status_code == 204
    assert made["id"] in _archived_ids(hubspot)
    assert hubspot.products("GET", f"/{made['id']}").status_code == 404

    back = hubspot_admin.vendor("POST", f"hubspot/portals/{portal}/products/{made['id']}/restore")
    assert back["archived"] is False and "archivedAt" not in back
    got = hubspot.products("GET", f"/{made['id']}", params={"properties": "hs_sku,price"})
    assert got.status_code == 200
    validate(got.json(), "SimplePublicObjectWithAssociations")
    assert got.json()["properties"]["hs_sku"] == "W-1"
    # A restore is a write: it moves hs_lastmodifieddate, so a poll sees the product.
    assert got.json()["updatedAt"] > made["updatedAt"]
    assert [r["id"] for r in hubspot.search_sku("W-1")] == [made["id"]]
    assert made["id"] not in _archived_ids(hubspot)
    with pytest.raises(EmulatorAdminError, match="404"):  # only an archived one restores
        hubspot_admin.vendor("POST", f"hubspot/portals/{portal}/products/{made['id']}/restore")


def test_hubspot_merge_leaves_one_survivor_that_names_the_merged_product(
    hubspot: HubSpotApi, hubspot_admin: EmulatorAdmin, portal: str
) -> None:
    keep = hubspot.create(name="Keep", hs_sku="K-1")
    lose = hubspot.create(name="Lose", hs_sku="L-1")
    survivor = hubspot_admin.vendor(
        "POST", f"hubspot/portals/{portal}/products/{lose['id']}/merge", json={"into": keep["id"]}
    )
    assert survivor["id"] == keep["id"]
    assert survivor["properties"]["hs_merged_object_ids"] == lose["id"]
    # The merged id now reads as the survivor; it is in no list, search or recycle bin.
    got = hubspot.products("GET", f"/{lose['id']}", params={"properties": "hs_merged_object_ids"})
    assert got.status_code == 200 and got.json()["id"] == keep["id"]
    assert hubspot.search_sku("L-1") == []
    assert lose["id"] not in _archived_ids(hubspot)
    listed = hubspot.products("GET", params={"limit": 100}).json()["results"]
    assert [obj["id"] for obj in listed] == [keep["id"]]
    # A merge is a write of the survivor: polls see it.
    assert got.json()["updatedAt"] > keep["updatedAt"]

    third = hubspot.create(name="Third", hs_sku="T-1")
    again = hubspot_admin.vendor(
        "POST", f"hubspot/portals/{portal}/products/{keep['id']}/merge", json={"into": third["id"]}
    )
    assert again["properties"]["hs_merged_object_ids"].split(";") == [keep["id"], lose["id"]]
    assert hubspot.products("GET", f"/{lose['id']}").json()["id"] == third["id"]
    with pytest.raises(EmulatorAdminError, match="400"):
        hubspot_admin.vendor(
            "POST",
            f"hubspot/portals/{portal}/products/{third['id']}/merge",
            json={"into": third["id"]},
        )


def _cdc(qbo: Qbo) -> list[dict[str, Any]]:
    since = (datetime.now(UTC) - timedelta(minutes=5)).isoformat()
    body = decode(qbo.get("/cdc", params={"entities": "Item", "changedSince": since}))
    return body["CDCResponse"][0]["QueryResponse"][0]["Item"]


def test_quickbooks_item_merge_deletes_the_merged_item(qbo: Qbo) -> None:
    keep = qbo.create(Name="Keep", Sku="K-1", UnitPrice=3)
    lose = qbo.create(Name="Lose", Sku="L-1")
    survivor = qbo.admin.vendor(
        "POST", f"quickbooks/realms/{qbo.realm}/items/{lose['Id']}/merge", json={"into": keep["Id"]}
    )["Item"]
    assert survivor["Id"] == keep["Id"] and survivor["SyncToken"] == "1"

    read = qbo.get(f"/item/{lose['Id']}")
    assert read.status_code == 400 and fault_of(read)["code"] == "610"  # Object Not Found
    found = decode(qbo.query("select * from Item where Sku = 'L-1'"))["QueryResponse"]
    assert found.get("Item", []) == []
    # CDC: the merged item as Deleted (only Id and MetaData), the survivor as changed.
    changes = {i["Id"]: i for i in _cdc(qbo)}
    assert changes[lose["Id"]]["status"] == "Deleted"
    assert set(changes[lose["Id"]]) == {"Id", "status", "MetaData"}
    assert changes[keep["Id"]]["SyncToken"] == "1"
    with pytest.raises(EmulatorAdminError, match="400"):
        qbo.admin.vendor(
            "POST",
            f"quickbooks/realms/{qbo.realm}/items/{keep['Id']}/merge",
            json={"into": keep["Id"]},
        )
