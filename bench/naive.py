"""The baseline: the cron script a user would write instead of running productsync.

For every source product, one after the other: search the destination by SKU, then
create the product or update it with every mapped field. Plain HTTP with `requests`
against the vendors' public APIs (here: the emulators), no batching, no change
detection, no concurrency; on a 429 it sleeps (``Retry-After`` when given) and tries
again, as the vendors' own SDKs do. It maps the default fields only (name, SKU,
description, price) and does not compare before writing: that is what "naive" means,
and what the benchmark compares productsync against.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import requests

HUBSPOT_PROPERTIES = ["name", "hs_sku", "description", "price"]
QBO_MINOR = "75"
MAX_TRIES = 20


@dataclass
class NaiveResult:
    direction: str
    products: int = 0
    created: int = 0
    updated: int = 0
    skipped: int = 0  # source products without a SKU: nothing to match on
    throttled: int = 0  # 429s the script slept through
    wall_seconds: float = 0.0
    errors: list[str] = field(default_factory=list)


def _dumps(value: Any) -> str:
    """JSON with Decimal written as a JSON number (QBO money), never through float."""
    marks: dict[str, str] = {}

    def encode(item: Any) -> Any:
        if isinstance(item, Decimal):
            key = f"@@decimal{len(marks)}@@"
            marks[f'"{key}"'] = format(item, "f")
            return key
        if isinstance(item, dict):
            return {k: encode(v) for k, v in item.items()}
        return item

    text = json.dumps(encode(value))
    for key, number in marks.items():
        text = text.replace(key, number)
    return text


class _Http:
    """One vendor's session: bearer token, retry on 429/5xx, nothing else."""

    def __init__(self, base_url: str, token: str, backoff: float, result: NaiveResult) -> None:
        self.base_url = base_url.rstrip("/")
        self.session = requests.Session()
        self.session.headers.update(
            {"Authorization": f"Bearer {token}", "Accept": "application/json"}
        )
        self.backoff = backoff
        self.result = result

    def send(self, method: str, path: str, body: Any = None, **params: str) -> Any:
        data = None if body is None else _dumps(body)
        headers = {} if body is None else {"Content-Type": "application/json"}
        for _ in range(MAX_TRIES):
            response = self.session.request(
                method,
                self.base_url + path,
                params=params or None,
                data=data,
                headers=headers,
                timeout=30,
            )
            if response.status_code == 429 or response.status_code >= 500:
                if response.status_code == 429:
                    self.result.throttled += 1
                retry_after = response.headers.get("Retry-After")
                time.sleep(float(retry_after) if retry_after else self.backoff)
                continue
            if response.status_code >= 400:
                raise NaiveError(f"{method} {path}: {response.status_code} {response.text[:300]}")
            return response.json(parse_float=Decimal) if response.content else None
        raise NaiveError(f"{method} {path}: still throttled after {MAX_TRIES} tries")

    def close(self) -> None:
        self.session.close()


class NaiveError(RuntimeError):
    """The vendor refused a request the script cannot handle."""


class HubSpotSide:
    def __init__(self, http: _Http) -> None:
        self.http = http

    def products(self) -> Iterator[dict[str, Any]]:
        after: str | None = None
        while True:
            params = {"limit": "100", "properties": ",".join(HUBSPOT_PROPERTIES)}
            if after:
                params["after"] = after
            page = self.http.send("GET", "/crm/v3/objects/products", **params)
            for product in page.get("results", []):
                props = product["properties"]
                yield {
                    "sku": props.get("hs_sku"),
                    "name": props.get("name"),
                    "description": props.get("description"),
                    "price": Decimal(props["price"]) if props.get("price") else None,
                }
            after = page.get("paging", {}).get("next", {}).get("after")
            if not after:
                return

    def upsert(self, product: dict[str, Any]) -> str:
        search = {
            "filterGroups": [
                {"filters": [{"propertyName": "hs_sku", "operator": "EQ", "value": product["sku"]}]}
            ],
            "properties": HUBSPOT_PROPERTIES,
            "limit": 10,
        }
        found = self.http.send("POST", "/crm/v3/objects/products/search", search)["results"]
        exact = [p for p in found if p["properties"].get("hs_sku") == product["sku"]]
        properties = {
            "name": product["name"] or "",
            "hs_sku": product["sku"],
            "description": product["description"] or "",
            "price": "" if product["price"] is None else format(product["price"], "f"),
        }
        if exact:
            path = f"/crm/v3/objects/products/{exact[0]['id']}"
            self.http.send("PATCH", path, {"properties": properties})
            return "updated"
        self.http.send("POST", "/crm/v3/objects/products", {"properties": properties})
        return "created"


class QuickBooksSide:
    def __init__(self, http: _Http, realm: str) -> None:
        self.http = http
        self.base = f"/v3/company/{realm}"
        self._accounts: dict[str, str] | None = None

    def _query(self, sql: str, entity: str = "Item") -> list[dict[str, Any]]:
        answer = self.http.send("GET", f"{self.base}/query", query=sql, minorversion=QBO_MINOR)
        return list(answer.get("QueryResponse", {}).get(entity, []))

    def products(self) -> Iterator[dict[str, Any]]:
        start = 1
        while True:
            items = self._query(f"SELECT * FROM Item STARTPOSITION {start} MAXRESULTS 1000")
            for item in items:
                yield {
                    "sku": item.get("Sku"),
                    "name": item.get("Name"),
                    "description": item.get("Description"),
                    "price": item.get("UnitPrice"),
                }
            if len(items) < 1000:
                return
            start += 1000

    def _account_refs(self) -> dict[str, str]:
        if self._accounts is None:
            accounts = self._query("SELECT * FROM Account MAXRESULTS 1000", "Account")
            by_type = {a.get("AccountType"): a["Id"] for a in accounts}
            self._accounts = {
                "income": by_type.get("Income", ""),
                "expense": by_type.get("Cost of Goods Sold", ""),
            }
        return self._accounts

    def upsert(self, product: dict[str, Any]) -> str:
        sku = product["sku"].replace("\\", "\\\\").replace("'", "\\'")
        found = self._query(f"SELECT * FROM Item WHERE Sku = '{sku}'")
        exact = [i for i in found if i.get("Sku") == product["sku"]]
        fields: dict[str, Any] = {"Name": (product["name"] or product["sku"])[:100]}
        fields["Sku"] = product["sku"]
        if product["description"]:
            fields["Description"] = product["description"]
        if product["price"] is not None:
            fields["UnitPrice"] = product["price"]
        path = f"{self.base}/item"
        if exact:
            body = {"Id": exact[0]["Id"], "SyncToken": exact[0]["SyncToken"], "sparse": True}
            self.http.send("POST", path, {**body, **fields}, minorversion=QBO_MINOR)
            return "updated"
        refs = self._account_refs()
        fields["Type"] = "NonInventory"
        fields["IncomeAccountRef"] = {"value": refs["income"]}
        fields["ExpenseAccountRef"] = {"value": refs["expense"]}
        self.http.send("POST", path, fields, minorversion=QBO_MINOR)
        return "created"


def run_naive(
    direction: str,
    *,
    hubspot_url: str,
    hubspot_token: str,
    quickbooks_url: str,
    quickbooks_realm: str,
    quickbooks_token: str,
    backoff: float = 1.0,
) -> NaiveResult:
    """Sync every source product once, sequentially; ``backoff`` is the sleep after a 429
    that carries no Retry-After (scale it with the preset, like the latency)."""
    result = NaiveResult(direction)
    hubspot = HubSpotSide(_Http(hubspot_url, hubspot_token, backoff, result))
    quickbooks = QuickBooksSide(
        _Http(quickbooks_url, quickbooks_token, backoff, result), quickbooks_realm
    )
    source, destination = (
        (hubspot, quickbooks) if direction == "hubspot_to_quickbooks" else (quickbooks, hubspot)
    )
    started = time.perf_counter()
    try:
        for product in source.products():
            result.products += 1
            if not product["sku"]:
                result.skipped += 1
                continue
            try:
                outcome = destination.upsert(product)
            except NaiveError as exc:
                result.errors.append(str(exc))
                continue
            if outcome == "created":
                result.created += 1
            else:
                result.updated += 1
    finally:
        result.wall_seconds = time.perf_counter() - started
        hubspot.http.close()
        quickbooks.http.close()
    return result


__all__ = ["NaiveError", "NaiveResult", "run_naive"]
