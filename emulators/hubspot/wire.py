"""Reading HubSpot requests: JSON bodies, ``properties=`` lists, boolean flags."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from emulators.core import BadJson, read_json
from emulators.hubspot.errors import validation_error


async def body_json(request: web.Request) -> Any:
    """The request's JSON body, or HubSpot's 400 for malformed JSON."""
    try:
        return await read_json(request)
    except BadJson:
        raise validation_error("Invalid input JSON on line 1, column 1: malformed JSON") from None


async def body_object(request: web.Request) -> dict[str, Any]:
    body = await body_json(request)
    if not isinstance(body, dict):
        raise validation_error("Invalid input JSON: expected an object")
    return body


def requested_properties(request: web.Request) -> list[str] | None:
    """``properties=a,b`` and/or repeated ``properties=``; None when absent."""
    values = request.query.getall("properties", [])
    names = [n.strip() for v in values for n in v.split(",") if n.strip()]
    return names or None


def flag(request: web.Request, name: str) -> bool:
    return request.query.get(name, "false").lower() == "true"
