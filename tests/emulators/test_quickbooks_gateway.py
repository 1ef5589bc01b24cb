"""QBO gateway contract tests: throttling, access tokens, the OAuth token endpoint and
metering (api-reference §9 items 28, 29, 30, 34), plus the vendor fault actions."""

from __future__ import annotations

import base64
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
import requests

from emulators.client import EmulatorAdminError
from emulators.quickbooks.state import DEFAULT_REALM, DEFAULT_REFRESH_TOKEN
from tests.emulators import quickbooks_fixtures
from tests.emulators.quickbooks_fixtures import (
    Qbo,
    decode,
    fault_of,
)

qbo_server, qbo = quickbooks_fixtures.qbo_server, quickbooks_fixtures.qbo  # shared fixtures

COUNT = "select count(*) from Item"


def gateway_error(response: requests.Response) -> dict[str, Any]:
    body = decode(response)
    assert "Fault" not in body and body["fault"]["error"], body
    assert body["batchItemResponse"] == [] and body["cdcresponse"] == []
    return body["fault"]["error"][0] | {"type": body["fault"]["type"]}


def test_28_requests_per_minute_429_with_gateway_body(qbo: Qbo) -> None:
    qbo.knobs(throttle_preset="legacy", throttle_scale=0.01)  # 5 per minute, no rps cap
    statuses = [qbo.query(COUNT).status_code for _ in range(5)]
    assert statuses == [200] * 5
    refused = qbo.query(COUNT)
    assert refused.status_code == 429
    error = gateway_error(refused)
    assert error["message"] == "message=ThrottleExceeded; errorCode=003001; statusCode=429"
    assert error["code"] == "3001"
    assert "Retry-After" not in refused.headers
    qbo.knobs(retry_after=60)
    assert qbo.query(COUNT).headers["Retry-After"] == "60"


def test_28_requests_per_second(qbo: Qbo) -> None:
    qbo.knobs(throttle_preset="production", throttle_scale=0.3)  # 3 per second
    statuses = [qbo.query(COUNT).status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]


def test_28_concurrent_requests_over_the_gate(qbo: Qbo) -> None:
    qbo.knobs(throttle_preset="legacy", throttle_scale=0.2, latency_ms=800)  # 2 in flight
    with ThreadPoolExecutor(4) as pool:
        statuses = sorted(pool.map(lambda _: qbo.query(COUNT).status_code, range(4)))
    assert statuses == [200, 200, 429, 429]
    qbo.knobs(latency_ms=0)
    assert qbo.query(COUNT).status_code == 200  # slots were given back


def test_28_limits_are_per_realm(qbo: Qbo) -> None:
    other = qbo.admin.vendor("POST", "quickbooks/realms", json={})
    qbo.knobs(throttle_preset="legacy", throttle_scale=0.01)
    for _ in range(5):
        qbo.query(COUNT)
    assert qbo.query(COUNT).status_code == 429
    response = qbo.call("GET", "/query", params={"query": COUNT}, realm=other["realm_id"],
                        token=other["access_token"])
    assert response.status_code == 200


def test_29_expired_or_unknown_token_is_401_gateway_body(qbo: Qbo) -> None:
    for token in ("not-a-token", None):
        if token is None:
            qbo.admin.vendor("POST", "quickbooks/tokens/expire", json={"token": qbo.token})
        response = qbo.get("/item/1", token=token)
        assert response.status_code == 401
        assert response.headers["WWW-Authenticate"] == (
            'Bearer realm="Intuit", error="invalid_token"')
        error = gateway_error(response)
        assert error["code"] == "3200" and error["type"] == "AUTHENTICATION"
        assert "errorCode=003200" in error["message"]
        assert qbo.token not in response.text


def test_29_token_of_another_realm_is_403(qbo: Qbo) -> None:
    other = qbo.admin.vendor("POST", "quickbooks/realms", json={})
    response = qbo.get("/item/1", realm=other["realm_id"])
    assert response.status_code == 403
    error = gateway_error(response)
    assert error["code"] == "3100" and "errorCode=003100" in error["message"]


def test_29_expire_token_fault_action(qbo: Qbo) -> None:
    qbo.admin.add_fault("expire_token", r"/query$")
    assert qbo.query(COUNT).status_code == 401
    assert qbo.query(COUNT).status_code == 401  # the token stays expired
    fresh = qbo.admin.vendor("POST", f"quickbooks/realms/{qbo.realm}/tokens")
    assert qbo.query(COUNT).status_code == 401
    assert qbo.get("/query", params={"query": COUNT},
                   token=fresh["access_token"]).status_code == 200


def refresh(qbo: Qbo, token: str) -> requests.Response:
    return qbo.token_request({"grant_type": "refresh_token", "refresh_token": token})


def test_30_refresh_returns_tokens_and_rotates_every_time(qbo: Qbo) -> None:
    first = refresh(qbo, DEFAULT_REFRESH_TOKEN)
    assert first.status_code == 200
    body = first.json()
    assert body["expires_in"] == 3600 and body["x_refresh_token_expires_in"] == 8_726_400
    assert body["token_type"] == "bearer"
    assert body["refresh_token"] != DEFAULT_REFRESH_TOKEN
    stale = refresh(qbo, DEFAULT_REFRESH_TOKEN)
    assert stale.status_code == 400 and stale.json()["error"] == "invalid_grant"
    second = refresh(qbo, body["refresh_token"])
    assert second.status_code == 200
    assert qbo.get("/query", params={"query": COUNT},
                   token=second.json()["access_token"]).status_code == 200


def test_30_rotation_after_a_period_keeps_the_old_token_until_the_new_is_used(qbo: Qbo) -> None:
    qbo.knobs(refresh_rotation="period", refresh_rotation_period=3600)
    same = refresh(qbo, DEFAULT_REFRESH_TOKEN).json()
    assert same["refresh_token"] == DEFAULT_REFRESH_TOKEN
    qbo.knobs(refresh_rotation_period=0)
    rotated = refresh(qbo, DEFAULT_REFRESH_TOKEN).json()["refresh_token"]
    assert rotated != DEFAULT_REFRESH_TOKEN
    assert refresh(qbo, DEFAULT_REFRESH_TOKEN).json()["refresh_token"] == rotated  # grace
    assert refresh(qbo, rotated).status_code == 200
    assert refresh(qbo, DEFAULT_REFRESH_TOKEN).json() == {
        "error": "invalid_grant", "error_description": "Token has been expired or revoked."}


def test_30_token_lifetimes_are_knobs(qbo: Qbo) -> None:
    qbo.knobs(access_token_ttl=2, refresh_token_ttl=100)
    body = refresh(qbo, DEFAULT_REFRESH_TOKEN).json()
    assert (body["expires_in"], body["x_refresh_token_expires_in"]) == (2, 100)


def test_30_revoked_grant_and_bad_client(qbo: Qbo) -> None:
    qbo.admin.vendor("POST", "quickbooks/tokens/revoke", json={"token": DEFAULT_REFRESH_TOKEN})
    assert refresh(qbo, DEFAULT_REFRESH_TOKEN).json()["error"] == "invalid_grant"
    wrong = qbo.token_request({"grant_type": "refresh_token", "refresh_token": "x"},
                              auth=("emulator-qbo-client", "wrong"))
    assert wrong.status_code == 401 and wrong.json()["error"] == "invalid_client"
    odd = qbo.token_request({"grant_type": "password"})
    assert odd.status_code == 400 and odd.json()["error"] == "unsupported_grant_type"


def test_30_revoke_endpoint(qbo: Qbo) -> None:
    auth = base64.b64encode(b"emulator-qbo-client:emulator-qbo-secret").decode()
    response = qbo.session.post(f"{qbo.url}/v2/oauth2/tokens/revoke",
                                json={"token": DEFAULT_REFRESH_TOKEN},
                                headers={"Authorization": f"Basic {auth}"}, timeout=10)
    assert response.status_code == 200
    assert refresh(qbo, DEFAULT_REFRESH_TOKEN).json()["error"] == "invalid_grant"


def test_30_authorization_code_flow(qbo: Qbo) -> None:
    redirect = "http://127.0.0.1:9/callback"
    response = qbo.session.get(f"{qbo.url}/connect/oauth2", allow_redirects=False, params={
        "client_id": "emulator-qbo-client", "redirect_uri": redirect, "state": "s-1",
        "response_type": "code", "scope": "com.intuit.quickbooks.accounting"}, timeout=10)
    assert response.status_code == 302
    location = urlparse(response.headers["Location"])
    params = parse_qs(location.query)
    assert location.path == "/callback" and params["state"] == ["s-1"]
    assert params["realmId"] == [DEFAULT_REALM]
    data = {"grant_type": "authorization_code", "code": params["code"][0],
            "redirect_uri": redirect}
    granted = qbo.token_request(data)
    assert granted.status_code == 200 and granted.json()["refresh_token"]
    assert qbo.token_request(data).json()["error"] == "invalid_grant"  # codes are single use


def test_34_metering_counts_core_and_coreplus(qbo: Qbo) -> None:
    item = qbo.create(Name="Metered")
    qbo.get(f"/item/{item['Id']}")
    qbo.query(COUNT)
    qbo.get("/cdc", params={"entities": "Item", "changedSince": "2099-01-01T00:00:00Z"})
    qbo.post("/item", {"Id": item["Id"], "SyncToken": "0", "sparse": True, "Sku": "M"})
    meter = qbo.admin.vendor("GET", "quickbooks/metering")
    assert meter["realms"][qbo.realm] == {"core": 2, "coreplus": 3}
    assert meter["apps"]["emulator-qbo-client"] == {"core": 2, "coreplus": 3}
    counts = qbo.admin.counts(account=qbo.realm)
    assert counts == {"write": 2, "read": 1, "query": 1, "cdc": 1}


def test_34_builder_tier_blocks_coreplus_after_n_calls(qbo: Qbo) -> None:
    qbo.knobs(builder_block_after=2)
    assert [qbo.query(COUNT).status_code for _ in range(2)] == [200, 200]
    blocked = qbo.query(COUNT)
    assert blocked.status_code == 429 and int(blocked.headers["Retry-After"]) > 3600
    assert qbo.create(Name="Writes still pass")["Id"] == "1"


def test_stale_synctoken_fault_action(qbo: Qbo) -> None:
    item = qbo.create(Name="Raced")
    qbo.admin.add_fault("stale_synctoken", r"/item$", method="POST")
    response = qbo.post("/item", {"Id": item["Id"], "SyncToken": "0", "sparse": True,
                                  "Description": "mine"})
    assert fault_of(response)["code"] == "5010"
    current = decode(qbo.get(f"/item/{item['Id']}"))["Item"]
    assert current["SyncToken"] == "1" and "Description" not in current
    retry = qbo.post("/item", {"Id": item["Id"], "SyncToken": "1", "sparse": True,
                               "Description": "mine"})
    assert decode(retry)["Item"]["SyncToken"] == "2"


def test_admin_direct_edits_bypass_throttle_but_not_rules(qbo: Qbo) -> None:
    qbo.knobs(throttle_preset="legacy", throttle_scale=0.01)
    for _ in range(5):
        qbo.query(COUNT)
    assert qbo.query(COUNT).status_code == 429
    path = f"quickbooks/realms/{qbo.realm}/items"
    made = qbo.admin.vendor("POST", path, json={"Name": "By hand", "Type": "Service",
                                                "IncomeAccountRef": {"value": "1"}})["Item"]
    edited = qbo.admin.vendor("PATCH", f"{path}/{made['Id']}", json={"UnitPrice": 12.25})
    assert edited["Item"]["SyncToken"] == "1" and edited["Item"]["UnitPrice"] == 12.25
    listed = qbo.admin.vendor("GET", path)["items"]
    assert [i["Name"] for i in listed] == ["By hand"]
    with pytest.raises(EmulatorAdminError, match="Duplicate Name Exists"):
        qbo.admin.vendor("POST", path, json={"Name": "BY HAND", "Type": "Service",
                                             "IncomeAccountRef": {"value": "1"}})
    metered = qbo.admin.vendor("GET", "quickbooks/metering")["realms"]
    assert metered == {qbo.realm: {"core": 0, "coreplus": 5}}  # the 5 API queries only


def test_35_scripted_vendor_envelopes_for_500_and_429(qbo: Qbo) -> None:
    qbo.admin.add_fault("system_fault", r"/item$", method="POST")
    response = qbo.post("/item", {"Name": "Never", "Type": "Service",
                                  "IncomeAccountRef": {"value": "1"}})
    assert response.status_code == 500
    body = decode(response)
    assert body["Fault"]["type"] == "SystemFault" and fault_of(response)["code"] == "10000"
    assert decode(qbo.query(COUNT))["QueryResponse"] == {"totalCount": 0}  # nothing happened
    qbo.admin.add_fault("throttle", r"/query$", params={"retry_after": 7})
    throttled = qbo.query(COUNT)
    assert throttled.status_code == 429 and throttled.headers["Retry-After"] == "7"
    assert gateway_error(throttled)["code"] == "3001"
