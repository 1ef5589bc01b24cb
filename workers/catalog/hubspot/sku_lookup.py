"""Products for many SKUs at once: batch read by ``idProperty=hs_sku`` when hs_sku is
unique, else search with ``hs_sku IN (…)``. Both return candidates only; the caller keeps
the exact, case-sensitive matches.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from workers.catalog.hubspot import batch, search
from workers.catalog.hubspot.records import SKU, record_from
from workers.catalog.port import Record
from workers.errors import TransientError
from workers.http.caller import VendorCaller
from workers.http.common import json_or_transient

BATCH_READ = "/crm/v3/objects/products/batch/read"
# How many values one IN filter may carry is [U]; 100, HubSpot's batch size, is as far as
# we trust it. Each SKU goes out as itself and lower-cased (see `in_values`), so a search
# asks for 50 SKUs that differ from their lower-case form, up to 100 that do not.
MAX_VALUES = 100


def by_unique_skus(
    caller: VendorCaller, skus: Sequence[str], properties: Sequence[str]
) -> list[Record]:
    """Products whose unique hs_sku is one of ``skus``; missing ones are simply absent (207
    with OBJECT_NOT_FOUND errors, which are no error here)."""
    records: list[Record] = []
    for i in range(0, len(skus), batch.MAX_INPUTS):
        request = {
            "idProperty": SKU,
            "inputs": [{"id": sku} for sku in skus[i : i + batch.MAX_INPUTS]],
            "properties": list(properties),
        }
        body = json_or_transient(caller.call("POST", BATCH_READ, json_body=request), "hubspot")
        records += [record_from(o) for o in body.get("results", [])]
    return records


def by_search(caller: VendorCaller, skus: Sequence[str], properties: Sequence[str]) -> list[Record]:
    """Products whose hs_sku is one of ``skus``, perhaps ignoring case, in searches of at
    most `MAX_VALUES` values each."""
    records: list[Record] = []
    group: list[str] = []
    for sku in skus:
        if group and len(in_values([*group, sku])) > MAX_VALUES:
            records += _search(caller, group, properties)
            group = []
        group.append(sku)
    if group:
        records += _search(caller, group, properties)
    return records


def in_values(skus: Sequence[str]) -> list[str]:
    """The IN values for ``skus``: each as itself and lower-cased. Whether HubSpot compares
    IN values on strings ignoring case is [U], and IN is reported to match only lower-case
    values; sending both finds the SKU either way."""
    return list(dict.fromkeys(v for sku in skus for v in (sku, sku.lower())))


def _search(caller: VendorCaller, skus: Sequence[str], properties: Sequence[str]) -> list[Record]:
    request: dict[str, Any] = {
        "filterGroups": [
            {"filters": [{"propertyName": SKU, "operator": "IN", "values": in_values(skus)}]}
        ],
        # Offsets only page reliably over a fixed order.
        "sorts": [{"propertyName": "hs_object_id", "direction": "ASCENDING"}],
        "properties": list(properties),
        "limit": search.PAGE,
    }
    found: list[dict[str, Any]] = []
    while True:
        body = search.search_page(caller, request)
        if len(skus) > 1 and "after" not in request and int(body.get("total", 0)) > search.CAP:
            return _halves(caller, skus, properties)  # known from the first page: no paging
        results = body.get("results", [])
        found += results
        after = (body.get("paging") or {}).get("next", {}).get("after")
        if not after or not results:
            break
        if after == request.get("after") or not str(after).isdigit():
            # A stuck or garbled cursor would end the lookup short, and a SKU reported
            # missing gets created again.
            raise TransientError(
                f"HubSpot search answered the page cursor {after!r}; retrying", system="hubspot"
            )
        if int(after) >= search.CAP:
            if len(skus) > 1:
                # Grew past the cap while paging: fewer SKUs per search match fewer products.
                return _halves(caller, skus, properties)
            # One SKU shared by more than the cap: as many as search can give, as
            # find_by_sku does.
            break
        request = {**request, "after": after}
    return [record_from(o) for o in found]


def _halves(caller: VendorCaller, skus: Sequence[str], properties: Sequence[str]) -> list[Record]:
    middle = len(skus) // 2
    return _search(caller, skus[:middle], properties) + _search(caller, skus[middle:], properties)
