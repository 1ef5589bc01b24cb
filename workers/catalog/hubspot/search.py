"""Changed products from HubSpot search, complete however many there are.

A search query can page through at most 10,000 results (``after`` ≥ 10000 is a 400). A
window with more matches is split in half by time until each half fits; a single
millisecond with more than 10,000 products (bulk imports share one timestamp) is walked
by keyset on ``hs_object_id``. Pages are guarded: a repeated cursor is an error, never a
silent loop.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from workers.catalog.hubspot.records import MODIFIED, parse_time
from workers.catalog.port import Change
from workers.errors import TransientError
from workers.http.caller import VendorCaller
from workers.http.common import json_or_transient

SEARCH = "/crm/v3/objects/products/search"
PAGE = 200
CAP = 10_000


def search_page(caller: VendorCaller, request: dict[str, Any]) -> dict[str, Any]:
    return json_or_transient(caller.call("POST", SEARCH, op="search", json_body=request), "hubspot")


def changes(caller: VendorCaller, start_ms: int, end_ms: int) -> Iterator[Change]:
    seen: set[str] = set()
    for obj in _window(caller, start_ms, end_ms):
        record_id = str(obj["id"])
        if record_id not in seen:
            seen.add(record_id)
            stamp = obj.get("properties", {}).get(MODIFIED) or obj.get("updatedAt")
            yield Change(id=record_id, updated_at=parse_time(stamp))


def _window(caller: VendorCaller, lo: int, hi: int) -> Iterator[dict[str, Any]]:
    filters = [
        {"propertyName": MODIFIED, "operator": "GTE", "value": str(lo)},
        {"propertyName": MODIFIED, "operator": "LTE", "value": str(hi)},
    ]
    request: dict[str, Any] = {
        "filterGroups": [{"filters": filters}],
        "sorts": [{"propertyName": MODIFIED, "direction": "ASCENDING"}],
        "properties": [MODIFIED],
        "limit": PAGE,
    }
    body = search_page(caller, request)
    if int(body.get("total", 0)) > CAP:
        if hi > lo:
            mid = (lo + hi) // 2
            yield from _window(caller, lo, mid)
            yield from _window(caller, mid + 1, hi)
        else:
            yield from _keyset(caller, lo)
        return
    seen_cursors: set[str] = set()
    while True:
        results = body.get("results", [])
        yield from results
        after = (body.get("paging") or {}).get("next", {}).get("after")
        if not after or not results:
            return
        if after in seen_cursors:
            raise TransientError(
                "HubSpot search repeated a page cursor; retrying the poll", system="hubspot"
            )
        seen_cursors.add(after)
        if int(after) >= CAP:
            # The window grew past the cap while paging: continue from the last timestamp
            # seen (closed start; repeats are dropped by the caller).
            last = parse_time(results[-1]["properties"][MODIFIED])
            yield from _window(caller, int(last.timestamp() * 1000), hi)
            return
        body = search_page(caller, {**request, "after": after})


def _keyset(caller: VendorCaller, moment: int) -> Iterator[dict[str, Any]]:
    last_id = "0"
    while True:
        request = {
            "filterGroups": [
                {
                    "filters": [
                        {"propertyName": MODIFIED, "operator": "EQ", "value": str(moment)},
                        {"propertyName": "hs_object_id", "operator": "GT", "value": last_id},
                    ]
                }
            ],
            "sorts": [{"propertyName": "hs_object_id", "direction": "ASCENDING"}],
            "properties": [MODIFIED, "hs_object_id"],
            "limit": PAGE,
        }
        results = search_page(caller, request).get("results", [])
        yield from results
        if len(results) < PAGE:
            return
        next_id = str(results[-1]["id"])
        if int(next_id) <= int(last_id):
            raise TransientError(
                "HubSpot keyset search did not advance; retrying the poll", system="hubspot"
            )
        last_id = next_id
