"""Vendor calls by category, counted from the emulators' request ledgers.

Categories are the vendors' own economics, decided from the request itself (not from
the emulator's ``kind`` label, so a relabelled ledger cannot skew the numbers):

``read``    GET by id, list pages, QBO listing queries and CDC (QBO meters these: CorePlus)
``search``  HubSpot ``/search`` (its own 5/s limit) and QBO queries filtered by ``Sku``
``write``   single-object create / update / archive (QBO Core calls)
``batch``   one HubSpot ``/batch/*`` or QBO ``/batch`` request (its operations are counted
            in ``batch_ops``)
``auth``    token endpoints; kept apart, never counted as vendor calls per product
``other``   anything else (reported, so nothing is silently dropped)
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

CATEGORIES = ("read", "search", "write", "batch")

_QBO_STRING = re.compile(r"'(?:\\.|[^'\\])*'")
_QBO_SKU_FILTER = re.compile(r"\bwhere\b.*\bsku\s*(=|in\b|like\b)", re.IGNORECASE | re.DOTALL)


def _text(value: Any) -> str:
    if isinstance(value, list):
        return " ".join(str(v) for v in value)
    return "" if value is None else str(value)


def categorize(entry: Mapping[str, Any]) -> str:
    """The category of one ledger entry (an ``as_dict()`` of `emulators.core.ledger`)."""
    method = str(entry.get("method", "GET")).upper()
    path = str(entry.get("path", ""))
    if "/oauth" in path:
        return "auth"
    if "/batch" in path:
        return "batch"
    if entry.get("vendor") == "quickbooks" or path.startswith("/v3/company/"):
        return _quickbooks(method, path, entry)
    if path.endswith("/search"):
        return "search"
    if method == "GET":
        return "read"
    if method in ("POST", "PATCH", "PUT", "DELETE"):
        return "write"
    return "other"


def _quickbooks(method: str, path: str, entry: Mapping[str, Any]) -> str:
    if path.endswith("/query"):
        sql = _text(entry.get("query", {}).get("query")) or _text(entry.get("body"))
        # Literals are blanked first, so a name containing "Sku =" is not a SKU filter.
        return "search" if _QBO_SKU_FILTER.search(_QBO_STRING.sub("''", sql)) else "read"
    if path.endswith("/cdc") or method == "GET":
        return "read"
    if method == "POST" and re.search(r"/item(/|$)", path):
        return "write"
    return "other"


def batch_operations(entry: Mapping[str, Any]) -> tuple[int, int]:
    """(operations, of which writes) carried by one batch request, as the emulator counted
    them from the whole body (`emulators.core.ledger.batch_operations`); (0, 0) when it
    could not."""
    counted = entry.get("operations")
    if isinstance(counted, list | tuple) and len(counted) == 2:
        return int(counted[0]), int(counted[1])
    return 0, 0


@dataclass
class Tally:
    """Calls of one vendor (or several) in one measured interval."""

    read: int = 0
    search: int = 0
    write: int = 0
    batch: int = 0
    batch_ops: int = 0
    batch_write_ops: int = 0
    auth: int = 0
    other: int = 0
    throttled: int = 0  # answers with status 429
    errors: int = 0  # other non-2xx answers and dropped connections
    busy_ms: float = 0.0  # summed server-side durations (latency knob included)
    by_status: dict[str, int] = field(default_factory=dict)

    @property
    def calls(self) -> int:
        """Vendor calls that count against the product: everything but auth."""
        return self.read + self.search + self.write + self.batch + self.other

    @property
    def writes(self) -> int:
        """Objects written: single writes plus write operations inside batches."""
        return self.write + self.batch_write_ops

    def by_category(self) -> dict[str, int]:
        return {c: getattr(self, c) for c in CATEGORIES}

    def add(self, entry: Mapping[str, Any]) -> None:
        category = categorize(entry)
        setattr(self, category, getattr(self, category) + 1)
        if category == "batch":
            ops, writes = batch_operations(entry)
            self.batch_ops += ops
            self.batch_write_ops += writes
        self.busy_ms += float(entry.get("duration_ms") or 0.0)
        status = entry.get("status")
        key = "dropped" if status is None else str(status)
        self.by_status[key] = self.by_status.get(key, 0) + 1
        if status == 429:
            self.throttled += 1
        elif status is None or not 200 <= int(status) < 300:
            self.errors += 1

    def __add__(self, other: Tally) -> Tally:
        statuses = dict(self.by_status)
        for key, n in other.by_status.items():
            statuses[key] = statuses.get(key, 0) + n
        numbers = {
            name: getattr(self, name) + getattr(other, name)
            for name in self.__dataclass_fields__
            if name != "by_status"
        }
        return Tally(**numbers, by_status=statuses)

    def per_product(self, products: int) -> dict[str, float]:
        n = max(products, 1)
        shown = {
            **self.by_category(),
            "batch_ops": self.batch_ops,
            "writes": self.writes,
            "calls": self.calls,
        }
        return {name: round(value / n, 3) for name, value in shown.items()}

    def as_dict(self) -> dict[str, Any]:
        record = {**asdict(self), "calls": self.calls, "writes": self.writes}
        record["busy_ms"] = round(self.busy_ms, 1)
        return record


def tally(entries: Iterable[Mapping[str, Any]]) -> Tally:
    result = Tally()
    for entry in entries:
        result.add(entry)
    return result
