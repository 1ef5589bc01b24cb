"""Fixtures and a tiny client for the QuickBooks emulator contract tests.

One emulator per test module (started on a free port in a thread); every test starts from
a reset emulator with a fresh access token for the default realm. Responses are decoded
with Decimal so number fidelity is checked, never approximated through float.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
import requests

from emulators.client import EmulatorAdmin
from emulators.core import EmulatorHandle, start_in_thread
from emulators.quickbooks.app import create_app
from emulators.quickbooks.state import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, DEFAULT_REALM

INCOME, SERVICES, COGS, PURCHASES, ASSET = "1", "2", "3", "4", "5"  # seeded account ids


def decode(response: requests.Response) -> Any:
    return json.loads(response.text, parse_float=Decimal)


class Qbo:
    """Calls one realm's data API with a bearer token, the way a production client would."""

    def __init__(self, url: str, admin: EmulatorAdmin, realm: str, token: str) -> None:
        self.url = url
        self.admin = admin
        self.realm = realm
        self.token = token
        self.session = requests.Session()

    def call(self, method: str, path: str, *, token: str | None = None,
             realm: str | None = None, **kwargs: Any) -> requests.Response:
        headers = {"Accept": "application/json",
                   "Authorization": f"Bearer {token or self.token}",
                   **kwargs.pop("headers", {})}
        params = {"minorversion": "75", **kwargs.pop("params", {})}
        base = f"{self.url}/v3/company/{realm or self.realm}"
        return self.session.request(method, base + path, headers=headers, params=params,
                                    timeout=10, **kwargs)

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        return self.call("GET", path, **kwargs)

    def post(self, path: str, body: Any = None, **kwargs: Any) -> requests.Response:
        if body is not None:
            kwargs["data"] = json.dumps(body, default=str)
            kwargs.setdefault("headers", {})["Content-Type"] = "application/json"
        return self.call("POST", path, **kwargs)

    def query(self, sql: str) -> requests.Response:
        return self.get("/query", params={"query": sql})

    def create(self, **fields: Any) -> dict[str, Any]:
        body = {"Type": "Service", "IncomeAccountRef": {"value": INCOME}, **fields}
        response = self.post("/item", body)
        assert response.status_code == 200, response.text
        return decode(response)["Item"]

    def knobs(self, **changes: Any) -> None:
        self.admin.set_knobs(**changes)

    def token_request(self, data: dict[str, str], auth: tuple[str, str] | None = None
                      ) -> requests.Response:
        return self.session.post(f"{self.url}/oauth2/v1/tokens/bearer", data=data,
                                 auth=auth or (DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET),
                                 headers={"Accept": "application/json"}, timeout=10)


def fault_of(response: requests.Response) -> dict[str, Any]:
    """The first Error of a data-service Fault (asserting the envelope's shape)."""
    body = decode(response)
    assert set(body) == {"Fault", "time"}, body
    assert body["Fault"]["type"]
    return body["Fault"]["Error"][0]


@pytest.fixture(scope="module")
def qbo_server() -> Iterator[EmulatorHandle]:
    # Contract tests run unthrottled; the throttling tests switch the preset back on.
    with start_in_thread(create_app(knobs={"throttle_preset": "off"})) as handle:
        yield handle


@pytest.fixture
def qbo(qbo_server: EmulatorHandle) -> Iterator[Qbo]:
    admin = EmulatorAdmin(qbo_server.url)
    admin.reset()
    issued = admin.vendor("POST", f"quickbooks/realms/{DEFAULT_REALM}/tokens")
    client = Qbo(qbo_server.url, admin, DEFAULT_REALM, issued["access_token"])
    yield client
    client.session.close()
    admin.close()
