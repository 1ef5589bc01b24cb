"""HubSpot rate limits, headers and transient faults: checklist items 13-15."""

from __future__ import annotations

import pytest
import requests

from emulators.client import EmulatorAdmin
from tests.emulators.conftest import HubSpotApi


def test_13_ten_second_bucket_then_429_body(
    hubspot: HubSpotApi, hubspot_admin: EmulatorAdmin
) -> None:
    """Checklist 13: rolling 10-s bucket (starter 100) → the vendor's 429 body."""
    hubspot_admin.set_knobs(rate_limit_scale=0.05)  # 100 x 0.05 = 5 per 10 s
    statuses = [hubspot.products("GET").status_code for _ in range(6)]
    assert statuses == [200] * 5 + [429]
    limited = hubspot.products("GET")
    body = limited.json()
    assert body["status"] == "error"
    assert body["message"] == "You have reached your ten_secondly_rolling limit."
    assert body["errorType"] == "RATE_LIMIT" and body["policyName"] == "TEN_SECONDLY_ROLLING"
    assert body["correlationId"] == limited.headers["X-HubSpot-Correlation-Id"]
    assert "category" not in body and "Retry-After" not in limited.headers
    assert limited.headers["X-HubSpot-RateLimit-Remaining"] == "0"


@pytest.mark.parametrize(("preset", "limit"), [("starter", 100), ("professional", 190)])
def test_13_presets(
    hubspot: HubSpotApi, hubspot_admin: EmulatorAdmin, preset: str, limit: int
) -> None:
    hubspot_admin.set_knobs(rate_limit_preset=preset)
    assert hubspot.products("GET").headers["X-HubSpot-RateLimit-Max"] == str(limit)


def test_13_oauth_apps_get_110_and_no_daily_headers(
    hubspot_server: object, hubspot_admin: EmulatorAdmin, portal: str
) -> None:
    """Checklist 13/14: the public-app bucket is 110 and OAuth responses omit daily headers."""
    issued = hubspot_admin.vendor(
        "POST", f"hubspot/portals/{portal}/tokens", json={"kind": "oauth"}
    )
    oauth = HubSpotApi(hubspot_server.url, issued["token"])  # type: ignore[attr-defined]
    headers = oauth.products("GET").headers
    assert headers["X-HubSpot-RateLimit-Max"] == "110"
    assert "X-HubSpot-RateLimit-Daily" not in headers


def test_13_daily_cap_is_policy_daily(hubspot: HubSpotApi, hubspot_admin: EmulatorAdmin) -> None:
    """Checklist 13: daily cap → 429 policyName DAILY (scaled down to test it)."""
    hubspot_admin.set_knobs(rate_limit_scale=0.00001, rate_limit_preset="enterprise")
    # enterprise: 190/10 s → 1, 1,000,000/day → 10
    first = hubspot.products("GET")
    assert first.headers["X-HubSpot-RateLimit-Daily"] == "10"
    hubspot_admin.set_knobs(rate_limit_scale=0.0000011)  # daily 1, burst 1
    response = hubspot.products("GET")
    assert response.status_code == 429
    assert response.json()["policyName"] == "DAILY"


def test_14_headers_on_every_non_search_response(hubspot: HubSpotApi) -> None:
    """Checklist 14: Max/Remaining/Interval-Milliseconds, Daily/Daily-Remaining, correlation."""
    first = hubspot.products("GET").headers
    second = hubspot.products("GET").headers
    assert first["X-HubSpot-RateLimit-Interval-Milliseconds"] == "10000"
    assert first["X-HubSpot-RateLimit-Max"] == "100"
    assert int(first["X-HubSpot-RateLimit-Remaining"]) - 1 == int(
        second["X-HubSpot-RateLimit-Remaining"]
    )
    assert first["X-HubSpot-RateLimit-Daily"] == "250000"
    assert int(first["X-HubSpot-RateLimit-Daily-Remaining"]) == 249_999
    assert first["X-HubSpot-Correlation-Id"] != second["X-HubSpot-Correlation-Id"]


@pytest.mark.parametrize("status", [423, 477, 502, 503, 504])
def test_15_transient_statuses_by_scripted_fault(
    hubspot: HubSpotApi, hubspot_admin: EmulatorAdmin, status: int
) -> None:
    """Checklist 15: 423/477 (with Retry-After)/502/503/504, then normal service."""
    headers = {"Retry-After": "2"} if status == 477 else {}
    hubspot_admin.add_fault(
        "status",
        "^/crm/v3/objects/products$",
        method="GET",
        status=status,
        headers=headers,
        body={"status": "error", "message": "transient", "category": "UNKNOWN"},
    )
    response = hubspot.products("GET")
    assert response.status_code == status
    if status == 477:
        assert response.headers["Retry-After"] == "2"
    assert hubspot.products("GET").status_code == 200
    entries = hubspot_admin.ledger(path="^/crm/v3/objects/products$")
    assert [e["status"] for e in entries] == [status, 200]
    assert entries[0]["fault"] == "status" and entries[0]["account"] is not None


def test_15_fault_scoped_to_another_portal_does_not_fire(
    hubspot: HubSpotApi, hubspot_admin: EmulatorAdmin
) -> None:
    hubspot_admin.add_fault("status", ".*", status=503, account="999")
    assert hubspot.products("GET").status_code == 200
    assert len(hubspot_admin.faults()) == 1


def test_15_connection_reset_and_lost_response(
    hubspot: HubSpotApi, hubspot_admin: EmulatorAdmin, portal: str
) -> None:
    """The server acted but the response was lost: the product exists afterwards."""
    hubspot_admin.add_fault("lose_response", "^/crm/v3/objects/products$", method="POST")
    with pytest.raises(requests.ConnectionError):
        hubspot.products("POST", json={"properties": {"name": "ghost"}})
    stored = hubspot_admin.vendor("GET", f"hubspot/portals/{portal}/products")["products"]
    assert [p["properties"]["name"] for p in stored] == ["ghost"]
    hubspot_admin.add_fault("reset", "^/crm/v3/objects/products$", method="POST")
    with pytest.raises(requests.ConnectionError):
        hubspot.products("POST", json={"properties": {"name": "never"}})
    stored = hubspot_admin.vendor("GET", f"hubspot/portals/{portal}/products")["products"]
    assert len(stored) == 1
