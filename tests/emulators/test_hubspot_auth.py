"""HubSpot authentication: private-app tokens, OAuth (checklist item 16), 401 and 403."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import requests

from emulators.client import EmulatorAdmin
from emulators.core import EmulatorHandle
from emulators.hubspot import DEV_CLIENT_ID, DEV_CLIENT_SECRET
from tests.emulators.conftest import HubSpotApi, validate

REDIRECT = "http://127.0.0.1:8765/callback"


def authorize(url: str, **extra: str) -> str:
    """Run the authorize step; returns the code from the redirect."""
    response = requests.get(
        f"{url}/oauth/authorize",
        params={"client_id": DEV_CLIENT_ID, "redirect_uri": REDIRECT, "state": "s-1", **extra},
        allow_redirects=False,
        timeout=10,
    )
    assert response.status_code == 302
    location = urlsplit(response.headers["Location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == REDIRECT
    query = parse_qs(location.query)
    assert query["state"] == ["s-1"]
    return query["code"][0]


def token_call(url: str, version: str = "v1", **fields: str) -> requests.Response:
    form = {"client_id": DEV_CLIENT_ID, "client_secret": DEV_CLIENT_SECRET, **fields}
    return requests.post(f"{url}/oauth/{version}/token", data=form, timeout=10)


def test_16_code_exchange_and_refresh_return_expires_in_1800(
    hubspot_server: EmulatorHandle, hubspot_admin: EmulatorAdmin
) -> None:
    """Checklist 16: form-encoded grant_type=authorization_code|refresh_token, 1800 s."""
    url = hubspot_server.url
    code = authorize(url)
    granted = token_call(url, grant_type="authorization_code", code=code, redirect_uri=REDIRECT)
    assert granted.status_code == 200
    body = granted.json()
    assert body["expires_in"] == 1800 and body["token_type"] == "bearer"
    assert body["hub_id"] == 12345678
    api = HubSpotApi(url, body["access_token"])
    assert api.products("GET").status_code == 200
    for version in ("v1", "v3"):
        refreshed = token_call(
            url, version, grant_type="refresh_token", refresh_token=body["refresh_token"]
        )
        assert refreshed.status_code == 200, refreshed.text
        assert refreshed.json()["expires_in"] == 1800
        assert refreshed.json()["refresh_token"] == body["refresh_token"]  # not rotated
    reused = token_call(url, grant_type="authorization_code", code=code, redirect_uri=REDIRECT)
    assert reused.status_code == 400 and reused.json()["status"] == "BAD_AUTH_CODE"


def test_16_expired_access_token_is_401(
    hubspot_server: EmulatorHandle, hubspot_admin: EmulatorAdmin, portal: str
) -> None:
    """Checklist 16: an expired access token → 401 INVALID_AUTHENTICATION (switchable)."""
    issued = hubspot_admin.vendor(
        "POST", f"hubspot/portals/{portal}/tokens", json={"kind": "oauth"}
    )
    api = HubSpotApi(hubspot_server.url, issued["token"])
    assert api.products("GET").status_code == 200
    hubspot_admin.vendor("POST", "hubspot/tokens/expire", json={"token": issued["token"]})
    response = api.products("GET")
    assert response.status_code == 401
    validate(response.json(), "Error")
    assert response.json()["category"] == "INVALID_AUTHENTICATION"
    assert issued["token"] not in response.text
    hubspot_admin.set_knobs(expired_token_category="EXPIRED_AUTHENTICATION")
    assert api.products("GET").json()["category"] == "EXPIRED_AUTHENTICATION"


def test_16_expires_in_is_a_knob(
    hubspot_server: EmulatorHandle, hubspot_admin: EmulatorAdmin
) -> None:
    hubspot_admin.set_knobs(oauth_expires_in=1)
    code = authorize(hubspot_server.url)
    body = token_call(
        hubspot_server.url, grant_type="authorization_code", code=code, redirect_uri=REDIRECT
    ).json()
    assert body["expires_in"] == 1


def test_16_v3_refuses_secrets_in_the_query(
    hubspot_server: EmulatorHandle, hubspot_admin: EmulatorAdmin
) -> None:
    response = requests.post(
        f"{hubspot_server.url}/oauth/v3/token",
        params={"client_secret": DEV_CLIENT_SECRET},
        data={"client_id": DEV_CLIENT_ID, "grant_type": "refresh_token", "refresh_token": "x"},
        timeout=10,
    )
    assert response.status_code == 400


def test_bad_client_and_unknown_refresh_token(
    hubspot_server: EmulatorHandle, hubspot_admin: EmulatorAdmin
) -> None:
    url = hubspot_server.url
    bad_secret = token_call(url, grant_type="refresh_token", refresh_token="x", client_secret="no")
    assert bad_secret.status_code == 400
    unknown = token_call(url, grant_type="refresh_token", refresh_token="na1-nope")
    assert unknown.status_code == 400 and unknown.json()["status"] == "BAD_REFRESH_TOKEN"


def test_revoked_refresh_token_stops_working(
    hubspot_server: EmulatorHandle, hubspot_admin: EmulatorAdmin
) -> None:
    url = hubspot_server.url
    code = authorize(url)
    body = token_call(url, grant_type="authorization_code", code=code, redirect_uri=REDIRECT).json()
    deleted = requests.delete(f"{url}/oauth/v1/refresh-tokens/{body['refresh_token']}", timeout=10)
    assert deleted.status_code == 204
    again = token_call(url, grant_type="refresh_token", refresh_token=body["refresh_token"])
    assert again.status_code == 400


def test_unknown_token_is_401_and_missing_scope_is_403(
    hubspot_server: EmulatorHandle, hubspot_admin: EmulatorAdmin, portal: str
) -> None:
    response = HubSpotApi(hubspot_server.url, "pat-na1-unknown").products("GET")
    assert response.status_code == 401
    assert response.json()["category"] == "INVALID_AUTHENTICATION"
    assert (
        requests.get(hubspot_server.url + "/crm/v3/objects/products", timeout=10).status_code == 401
    )
    issued = hubspot_admin.vendor(
        "POST",
        f"hubspot/portals/{portal}/tokens",
        json={"kind": "private", "scopes": ["crm.objects.products.read"]},
    )
    reader = HubSpotApi(hubspot_server.url, issued["token"])
    assert reader.products("GET").status_code == 200
    refused = reader.products("POST", json={"properties": {"name": "x"}})
    assert refused.status_code == 403 and refused.json()["category"] == "MISSING_SCOPES"


def test_expire_token_fault_and_secrets_redacted_in_ledger(
    hubspot_server: EmulatorHandle, hubspot_admin: EmulatorAdmin, portal: str
) -> None:
    """The vendor fault ``expire_token`` kills the caller's token mid-run; the ledger never
    keeps client secrets or refresh tokens."""
    issued = hubspot_admin.vendor(
        "POST", f"hubspot/portals/{portal}/tokens", json={"kind": "oauth"}
    )
    api = HubSpotApi(hubspot_server.url, issued["token"])
    hubspot_admin.add_fault("expire_token", "/crm/v3/objects/products")
    assert api.products("GET").status_code == 401
    token_call(
        hubspot_server.url, grant_type="refresh_token", refresh_token=issued["refresh_token"]
    )
    [entry] = hubspot_admin.ledger(kind="auth")
    assert DEV_CLIENT_SECRET not in str(entry) and issued["refresh_token"] not in str(entry)
    assert "grant_type=refresh_token" in entry["body"]


def test_portals_are_isolated(hubspot_server: EmulatorHandle, hubspot_admin: EmulatorAdmin) -> None:
    other = hubspot_admin.vendor("POST", "hubspot/portals", json={"portal_id": "777"})
    mine = HubSpotApi(hubspot_server.url)
    theirs = HubSpotApi(hubspot_server.url, other["token"])
    made = theirs.create(name="theirs")
    assert mine.products("GET", f"/{made['id']}").status_code == 404
    assert hubspot_admin.counts(account="777") == {"write": 1}
