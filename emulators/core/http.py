"""Small response helpers shared by the core and the vendor apps."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from aiohttp import web


def json_response(
    data: Any, status: int = 200, headers: Mapping[str, str] | None = None
) -> web.Response:
    """A compact JSON response (the vendors send compact JSON, and it is cheaper)."""
    return web.Response(
        body=json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode(),
        status=status,
        headers=headers,
        content_type="application/json",
    )


async def read_json(request: web.Request) -> Any:
    """The request body as JSON, or `BadJson` when it is not JSON at all."""
    raw = await request.read()
    try:
        return json.loads(raw) if raw else None
    except ValueError:
        raise BadJson("request body is not valid JSON") from None


class BadJson(ValueError):
    """The request body could not be parsed as JSON."""
