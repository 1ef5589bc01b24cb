"""QBO Item JSON ⇄ `Record`: numbers as `Decimal`, timestamps from the company's offset
to aware UTC, references kept as ``{"value", "name"}`` dicts."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from workers.catalog.port import Record
from workers.errors import TransientError

# Envelope and bookkeeping keys: not fields a mapping reads or writes.
_NOT_FIELDS = frozenset({"Id", "SyncToken", "MetaData", "domain", "sparse", "status"})
READ_ONLY = frozenset({"Id", "SyncToken", "MetaData", "FullyQualifiedName", "Level", "domain"})


def record_from(item: Mapping[str, Any]) -> Record:
    try:
        item_id = str(item["Id"])
    except (KeyError, TypeError):
        raise TransientError(
            "QuickBooks returned an Item without an Id; retrying", system="quickbooks"
        ) from None
    fields = {k: _decimals(v) for k, v in item.items() if k not in _NOT_FIELDS}
    meta = item.get("MetaData") or {}
    stamp = meta.get("LastUpdatedTime") or meta.get("CreateTime")
    return Record(
        system="quickbooks",
        id=item_id,
        fields=fields,
        updated_at=parse_time(stamp) if stamp else datetime.now(UTC),
        active=item.get("Active", True) is not False and item.get("status") != "Deleted",
        version=str(item["SyncToken"]) if item.get("SyncToken") is not None else None,
        sku=item.get("Sku"),
    )


def parse_time(value: str) -> datetime:
    """``2015-04-22T11:03:23-07:00`` (company offset) as aware UTC."""
    moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def _decimals(value: Any) -> Any:
    """JSON integers become Decimal too, so every number a mapping sees is Decimal."""
    if isinstance(value, bool) or not isinstance(value, int | dict | list):
        return value
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, dict):
        return {k: _decimals(v) for k, v in value.items()}
    return [_decimals(v) for v in value]


def items_of(body: Any, key: str = "QueryResponse") -> list[dict[str, Any]]:
    """The Items of a query response (``{}`` when nothing matched)."""
    if not isinstance(body, dict):
        return []
    response = body.get(key) or {}
    items = response.get("Item", []) if isinstance(response, dict) else []
    return [i for i in items if isinstance(i, dict)]


def cdc_items(body: Any) -> list[dict[str, Any]]:
    """The Items of a CDC response: ``CDCResponse[].QueryResponse[].Item[]``."""
    found: list[dict[str, Any]] = []
    for block in (body or {}).get("CDCResponse", []) if isinstance(body, dict) else []:
        for response in block.get("QueryResponse", []) if isinstance(block, dict) else []:
            if isinstance(response, dict):
                found += [i for i in response.get("Item", []) if isinstance(i, dict)]
    return found
