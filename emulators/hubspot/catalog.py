"""The product property catalogue API: list, read one, create a custom property."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

from emulators.core import json_response
from emulators.hubspot.auth import READ_SCOPE, SCHEMA_READ_SCOPE, SCHEMA_WRITE_SCOPE, WRITE_SCOPE
from emulators.hubspot.errors import HubSpotError
from emulators.hubspot.product import now_ms
from emulators.hubspot.properties import custom_property
from emulators.hubspot.store import Portal
from emulators.hubspot.wire import body_json

if TYPE_CHECKING:
    from emulators.hubspot.app import HubSpot


def add_routes(router: web.UrlDispatcher, prefix: str, hub: HubSpot) -> None:
    read = hub.api((SCHEMA_READ_SCOPE, READ_SCOPE))
    write = hub.api((SCHEMA_WRITE_SCOPE, WRITE_SCOPE))

    @read
    async def list_all(request: web.Request, portal: Portal) -> web.StreamResponse:
        return json_response({"results": [p.as_json() for p in portal.properties.values()]})

    @read
    async def get_one(request: web.Request, portal: Portal) -> web.StreamResponse:
        name = request.match_info["propertyName"]
        prop = portal.properties.get(name)
        if prop is None:
            raise HubSpotError(
                404,
                "OBJECT_NOT_FOUND",
                f"Unable to find property {name} on object type PRODUCT",
            )
        return json_response(prop.as_json())

    @write
    async def create(request: web.Request, portal: Portal) -> web.StreamResponse:
        prop = custom_property(await body_json(request), now_ms())
        portal.add_property(prop)
        return json_response(prop.as_json(), 201)

    router.add_get(prefix, list_all)
    router.add_post(prefix, create)
    router.add_get(prefix + "/{propertyName}", get_one)
