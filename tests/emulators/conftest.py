"""Fixtures for the emulator contract tests.

Other test packages start emulators the same way, with the importable runner::

    from emulators.core import start_in_thread
    from emulators.hubspot import create_app
    with start_in_thread(create_app(products=50, knobs={...})) as hub: ...  # hub.url

``hubspot_server`` is one HubSpot emulator for the session; ``hubspot`` resets it before
each test (data, ledger, faults and knobs back to the start values) and hands out an API
client for the default portal. The start knobs remove search lag and lift the search
limit so tests run fast; the tests about lag and limits turn them back on.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import requests
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from emulators.client import EmulatorAdmin
from emulators.core import EmulatorHandle, start_in_thread
from emulators.hubspot import DEV_PORTAL, DEV_TOKEN, create_app

SPEC = Path(__file__).resolve().parents[2] / "emulators/specs/hubspot/crm-products-v3.json"
PRODUCTS = "/crm/v3/objects/products"
FAST = {"search_lag_create_ms": 0, "search_lag_update_ms": 0, "search_per_second": 1000}


class HubSpotApi:
    """Talks to the emulator the way a production client talks to api.hubapi.com."""

    def __init__(self, url: str, token: str = DEV_TOKEN) -> None:
        self.url = url
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {token}"

    def call(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", 10)
        return self.session.request(method, self.url + path, **kwargs)

    def products(self, method: str, suffix: str = "", **kwargs: Any) -> requests.Response:
        return self.call(method, PRODUCTS + suffix, **kwargs)

    def create(self, **properties: str) -> dict[str, Any]:
        response = self.products("POST", json={"properties": properties})
        assert response.status_code == 201, response.text
        return response.json()

    def search(self, **body: Any) -> requests.Response:
        return self.products("POST", "/search", json=body)

    def search_sku(self, sku: str) -> list[dict[str, Any]]:
        response = self.search(filterGroups=where(("hs_sku", "EQ", sku)), properties=["hs_sku"])
        assert response.status_code == 200, response.text
        return response.json()["results"]


def where(*filters: tuple[str, str, Any]) -> list[dict[str, Any]]:
    """One filter group AND-ing ``(property, operator, value)`` filters; a list or tuple
    value becomes ``values``."""
    group = []
    for name, operator, value in filters:
        f: dict[str, Any] = {"propertyName": name, "operator": operator}
        if isinstance(value, list | tuple):
            f["values"] = list(value)
        elif value is not None:
            f["value"] = value
        group.append(f)
    return [{"filters": group}]


@cache
def _spec() -> dict[str, Any]:
    """The vendor's OpenAPI, made strict for drift detection: objects that declare their
    properties accept no others. One documented deviation: property values may be null
    (HubSpot returns null for requested-but-empty properties; the spec omits
    ``nullable``)."""
    spec = copy.deepcopy(json.loads(SPEC.read_text()))
    for schema in spec["components"]["schemas"].values():
        if "properties" in schema and "additionalProperties" not in schema:
            schema["additionalProperties"] = False
        values = schema.get("properties", {}).get("properties", {})
        if values.get("additionalProperties", {}).get("type") == "string":
            values["additionalProperties"] = {"type": ["string", "null"]}
    error = spec["components"]["schemas"]["Error"]["properties"]
    error["status"] = {"type": "string", "enum": ["error"]}
    return spec


def validate(body: Any, schema: str) -> None:
    """Raise `jsonschema.ValidationError` unless ``body`` matches the spec's ``schema``."""
    resource = Resource.from_contents(_spec(), default_specification=DRAFT202012)
    registry = Registry().with_resource("urn:hubspot-products", resource)
    jsonschema.Draft202012Validator(
        {"$ref": f"urn:hubspot-products#/components/schemas/{schema}"}, registry=registry
    ).validate(body)


@pytest.fixture(scope="session")
def hubspot_server() -> Iterator[EmulatorHandle]:
    with start_in_thread(create_app(knobs=FAST)) as handle:
        yield handle


@pytest.fixture
def hubspot_admin(hubspot_server: EmulatorHandle) -> EmulatorAdmin:
    admin = EmulatorAdmin(hubspot_server.url)
    admin.reset()
    return admin


@pytest.fixture
def hubspot(hubspot_server: EmulatorHandle, hubspot_admin: EmulatorAdmin) -> HubSpotApi:
    """An API client for the default portal of a freshly reset emulator."""
    return HubSpotApi(hubspot_server.url)


@pytest.fixture
def portal() -> str:
    return DEV_PORTAL
