"""Mappings are validated against the portal's live property list (custom properties
included), asked from the HubSpot emulator over a real socket; and a database that is
down gives an explaining 503, not a stack trace."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests
from flask.testing import FlaskClient

from console.web import create_app
from console.web.auth import LoginThrottle
from tests.support.services import free_port, fresh_database
from tests.support.stack import Stack, StackAccount, running_stack
from tests.web.conftest import PASSWORD, SECRET_KEY, USERNAME, login
from tests.web.seed import DEFAULT_ROWS, mapping_form, saved_mappings
from workers.mapping import DEFAULT_MAPPINGS
from workers.secret import Secret


@pytest.fixture(scope="module")
def stack() -> Iterator[Stack]:
    with fresh_database() as url, running_stack(url) as stack:
        yield stack


def _client(stack: Stack, **changes: object) -> FlaskClient:
    settings = stack.settings().replace(
        web_username=USERNAME,
        web_password=Secret(PASSWORD),
        web_secret_key=Secret(SECRET_KEY),
        **changes,
    )
    return create_app(settings, login_throttle=LoginThrottle(base_delay_seconds=0)).test_client()


def _custom_property(stack: Stack, account: StackAccount, name: str) -> None:
    token = stack.hubspot_admin.vendor(
        "POST", f"hubspot/portals/{account.portal_id}/tokens", json={"kind": "private"}
    )["token"]
    response = requests.post(
        f"{stack.hubspot.url}/crm/v3/properties/products",
        headers={"Authorization": f"Bearer {token}"},
        json={
            "name": name,
            "label": "Colour",
            "type": "string",
            "fieldType": "text",
            "groupName": "productinformation",
        },
        timeout=10,
    )
    assert response.status_code == 201, response.text


def test_a_custom_hubspot_property_is_accepted_when_the_portal_has_it(stack: Stack) -> None:
    account = stack.new_account()
    _custom_property(stack, account, "x_colour")
    client = _client(stack)
    token = login(client)

    unknown = mapping_form(token, list(DEFAULT_MAPPINGS), **{"new-hubspot": "x_flavour"})
    unknown["new-quickbooks"] = "PurchaseDesc"
    refused = client.post(f"/accounts/{account.id}/mappings", data=unknown)
    assert refused.status_code == 422
    html = refused.get_data(as_text=True)
    assert "HubSpot has no field &#34;x_flavour&#34;" in html
    assert "standard product properties" not in html  # the live list was used
    assert saved_mappings(stack.database_url, account.id) == DEFAULT_ROWS

    known = mapping_form(token, list(DEFAULT_MAPPINGS), **{"new-hubspot": "x_colour"})
    known["new-quickbooks"] = "PurchaseDesc"
    assert client.post(f"/accounts/{account.id}/mappings", data=known).status_code == 302
    assert saved_mappings(stack.database_url, account.id) == [
        *DEFAULT_ROWS,
        ("x_colour", "PurchaseDesc", "text"),
    ]


def test_a_database_that_is_down_gets_an_explaining_page(stack: Stack) -> None:
    down = f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/nowhere"
    client = _client(stack, database_url=down)
    login(client)  # the login itself needs no database
    response = client.get("/products")
    assert response.status_code == 503
    html = response.get_data(as_text=True)
    assert "Check that PostgreSQL and Redis are running" in html
    assert "Traceback" not in html and "nowhere" not in html
