"""HubSpot CRM search: checklist items 10-12."""

from __future__ import annotations

import time

import pytest

from emulators.client import EmulatorAdmin
from tests.emulators.conftest import HubSpotApi, validate, where


@pytest.fixture
def catalog(hubspot: HubSpotApi, hubspot_admin: EmulatorAdmin, portal: str) -> list[str]:
    for i, (sku, price, kind) in enumerate(
        [
            ("WID-1", "10", "inventory"),
            ("wid-1", "20", "service"),
            ("GAD-2", "30.5", "inventory"),
            ("GAD-3", "5", "non_inventory"),
        ]
    ):
        hubspot_admin.vendor(
            "POST",
            f"hubspot/portals/{portal}/products",
            json={
                "properties": {
                    "name": f"Item {i}",
                    "hs_sku": sku,
                    "price": price,
                    "hs_product_type": kind,
                }
            },
        )
    return ["WID-1", "wid-1", "GAD-2", "GAD-3"]


def skus(response: object) -> list[str]:
    body = response.json()  # type: ignore[attr-defined]
    validate(body, "CollectionResponseWithTotalSimplePublicObject")
    return [r["properties"]["hs_sku"] for r in body["results"]]


def test_10_groups_are_ored_and_filters_anded(hubspot: HubSpotApi, catalog: list[str]) -> None:
    """Checklist 10: filterGroups OR, filters AND; every operator of the spec enum."""
    groups = where(("price", "GT", "8"), ("hs_product_type", "EQ", "inventory")) + where(
        ("hs_sku", "EQ", "GAD-3")
    )
    found = skus(hubspot.search(filterGroups=groups, properties=["hs_sku"]))
    assert sorted(found) == ["GAD-2", "GAD-3", "WID-1"]
    cases = {
        ("price", "LT", "10"): ["GAD-3"],
        ("price", "LTE", "10"): ["WID-1", "GAD-3"],
        ("price", "GTE", "30.5"): ["GAD-2"],
        ("hs_sku", "NEQ", "GAD-2"): ["WID-1", "wid-1", "GAD-3"],
        ("hs_sku", "IN", ("gad-2", "gad-3")): ["GAD-2", "GAD-3"],
        ("hs_sku", "NOT_IN", ("gad-2", "gad-3")): ["WID-1", "wid-1"],
        ("description", "NOT_HAS_PROPERTY", None): catalog,
        ("price", "HAS_PROPERTY", None): catalog,
        ("name", "CONTAINS_TOKEN", "2"): ["GAD-2"],
        ("name", "NOT_CONTAINS_TOKEN", "item"): [],
        ("hs_sku", "CONTAINS_TOKEN", "gad*"): ["GAD-2", "GAD-3"],
    }
    for condition, expected in cases.items():
        found = skus(hubspot.search(filterGroups=where(condition), properties=["hs_sku"]))
        assert found == expected, condition
    between = {"propertyName": "price", "operator": "BETWEEN", "value": "6", "highValue": "25"}
    found = skus(hubspot.search(filterGroups=[{"filters": [between]}], properties=["hs_sku"]))
    assert found == ["WID-1", "wid-1"]


def test_10_eq_on_strings_ignores_case_unless_switched(
    hubspot: HubSpotApi, hubspot_admin: EmulatorAdmin, catalog: list[str]
) -> None:
    """Checklist 10 [U]: EQ on strings is case-insensitive by default (a switch)."""
    assert sorted(r["properties"]["hs_sku"] for r in hubspot.search_sku("WID-1")) == [
        "WID-1",
        "wid-1",
    ]
    hubspot_admin.set_knobs(search_eq_case_insensitive=False)
    assert [r["properties"]["hs_sku"] for r in hubspot.search_sku("WID-1")] == ["WID-1"]


def test_10_object_sorts_are_honoured_and_string_sorts_ignored(
    hubspot: HubSpotApi, catalog: list[str]
) -> None:
    """Checklist 10: sorts objects honoured; a JSON-encoded string sort does nothing."""
    desc = [{"propertyName": "price", "direction": "DESCENDING"}]
    assert skus(hubspot.search(sorts=desc, properties=["hs_sku"])) == [
        "GAD-2",
        "wid-1",
        "WID-1",
        "GAD-3",
    ]
    ignored = ['{"propertyName": "price", "direction": "DESCENDING"}']
    assert skus(hubspot.search(sorts=ignored, properties=["hs_sku"])) == catalog


def test_10_paging_total_limit_and_cap(
    hubspot: HubSpotApi, hubspot_admin: EmulatorAdmin, portal: str
) -> None:
    """Checklist 10: numeric-offset after, total, limit ≤ 200, after ≥ 10000 → 400."""
    hubspot_admin.vendor("POST", f"hubspot/portals/{portal}/seed", json={"count": 250})
    first = hubspot.search(limit=200).json()
    assert first["total"] == 250 and len(first["results"]) == 200
    assert first["paging"]["next"]["after"] == "200"
    rest = hubspot.search(limit=200, after="200").json()
    assert len(rest["results"]) == 50 and "paging" not in rest
    assert hubspot.search(limit=201).status_code == 400
    capped = hubspot.search(limit=10, after="10000")
    assert capped.status_code == 400
    validate(capped.json(), "Error")
    assert hubspot.search(limit=10, after="9990").status_code == 200


def test_10_filter_group_and_filter_counts_are_capped(
    hubspot: HubSpotApi, hubspot_admin: EmulatorAdmin
) -> None:
    """Checklist 10: at most 5 groups x 6 filters by default; configurable."""
    one = ("hs_sku", "EQ", "x")
    assert hubspot.search(filterGroups=where(one) * 5).status_code == 200
    assert hubspot.search(filterGroups=where(one) * 6).status_code == 400
    assert hubspot.search(filterGroups=where(*[one] * 6)).status_code == 200
    assert hubspot.search(filterGroups=where(*[one] * 7)).status_code == 400
    hubspot_admin.set_knobs(search_max_groups=6)
    assert hubspot.search(filterGroups=where(one) * 6).status_code == 200
    bad = hubspot.search(filterGroups=where(("hs_sku", "LIKE", "x")))
    assert bad.status_code == 400


def test_11_search_index_lags_behind_writes(
    hubspot: HubSpotApi, hubspot_admin: EmulatorAdmin
) -> None:
    """Checklist 11: fresh creates and updates show up in search only after the lag."""
    hubspot_admin.set_knobs(search_lag_create_ms=300, search_lag_update_ms=300)
    made = hubspot.create(name="late", hs_sku="LAG-1")
    assert hubspot.search_sku("LAG-1") == []
    assert hubspot.products("GET", f"/{made['id']}").status_code == 200  # read-after-write
    time.sleep(0.35)
    assert [r["id"] for r in hubspot.search_sku("LAG-1")] == [made["id"]]
    hubspot.products("PATCH", f"/{made['id']}", json={"properties": {"hs_sku": "LAG-2"}})
    assert hubspot.search_sku("LAG-2") == [] and len(hubspot.search_sku("LAG-1")) == 1
    time.sleep(0.35)
    assert len(hubspot.search_sku("LAG-2")) == 1 and hubspot.search_sku("LAG-1") == []


def test_11_default_lag_is_2s_create_5s_update() -> None:
    from emulators.hubspot.knobs import DEFAULTS

    assert (DEFAULTS["search_lag_create_ms"], DEFAULTS["search_lag_update_ms"]) == (2000, 5000)


def test_12_search_is_limited_per_second_without_headers(
    hubspot: HubSpotApi, hubspot_admin: EmulatorAdmin
) -> None:
    """Checklist 12: 5 req/s per portal → 429; no X-HubSpot-RateLimit-* on search; search
    does not consume the ten-second bucket."""
    hubspot_admin.set_knobs(search_per_second=5)
    responses = [hubspot.search(limit=1) for _ in range(7)]
    for response in responses:
        assert not [h for h in response.headers if h.lower().startswith("x-hubspot-ratelimit")]
    statuses = [r.status_code for r in responses]
    assert statuses[:5] == [200] * 5 and 429 in statuses[5:]
    body = next(r for r in responses if r.status_code == 429).json()
    assert body["errorType"] == "RATE_LIMIT" and body["policyName"] == "SECONDLY"
    listed = hubspot.products("GET")
    assert listed.headers["X-HubSpot-RateLimit-Remaining"] == "99"


def test_10_nothing_past_the_10000th_result_is_served(
    hubspot: HubSpotApi, hubspot_admin: EmulatorAdmin, portal: str
) -> None:
    """Checklist 10: with 10,050 matches, after=9900 & limit=200 yields only 100."""
    hubspot_admin.vendor("POST", f"hubspot/portals/{portal}/seed", json={"count": 10_050})
    body = hubspot.search(limit=200, after="9900", properties=["hs_sku"]).json()
    assert body["total"] == 10_050 and len(body["results"]) == 100
    assert hubspot.search(limit=200, after=body["paging"]["next"]["after"]).status_code == 400


def test_11_modified_window_search_sees_updates_and_respects_lag(
    hubspot: HubSpotApi, hubspot_admin: EmulatorAdmin
) -> None:
    """Polling by hs_lastmodifieddate: an update moves a product into a later window, but
    only once the index has caught up."""
    a, b = hubspot.create(name="a"), hubspot.create(name="b")
    since = b["updatedAt"]

    def window() -> list[str]:
        body = hubspot.search(
            filterGroups=where(("hs_lastmodifieddate", "GT", since)),
            sorts=[{"propertyName": "hs_lastmodifieddate", "direction": "ASCENDING"}],
        ).json()
        return [r["id"] for r in body["results"]]

    assert window() == []
    time.sleep(0.002)
    hubspot.products("PATCH", f"/{a['id']}", json={"properties": {"price": "1"}})
    assert window() == [a["id"]]
    hubspot_admin.set_knobs(search_lag_update_ms=300)
    time.sleep(0.002)
    hubspot.products("PATCH", f"/{b['id']}", json={"properties": {"price": "2"}})
    assert window() == [a["id"]]
    time.sleep(0.35)
    assert window() == [a["id"], b["id"]]
    millis = hubspot.search(filterGroups=where(("hs_lastmodifieddate", "LTE", "0"))).json()
    assert millis["total"] == 0
