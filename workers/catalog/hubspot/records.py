"""HubSpot wire objects ⇄ `Record`; every property value is a string on the wire."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from workers.catalog.port import Record
from workers.errors import DataError, TransientError

SKU = "hs_sku"
MODIFIED = "hs_lastmodifieddate"
WRITE_ID = "productsync_write_id"
# On a product that survived a merge: the ids of the products merged into it (`;`-separated).
MERGED = "hs_merged_object_ids"

# Properties read with every product: the standard ones a mapping can use, plus the
# timestamps and our idempotency key. Unknown names are ignored by HubSpot on read.
DEFAULT_PROPERTIES = (
    "name",
    "description",
    "price",
    SKU,
    "hs_cost_of_goods_sold",
    "hs_product_type",
    "hs_recurring_billing_period",
    "recurringbillingfrequency",
    "hs_rich_text_description",
    "createdate",
    MODIFIED,
    "hs_object_id",
    MERGED,
)


def merged_ids(record: Record) -> list[str]:
    """The ids of the products merged into ``record`` (HubSpot keeps them on the survivor)."""
    raw = record.fields.get(MERGED) or ""
    return [part.strip() for part in raw.split(";") if part.strip()]


def record_from(obj: Mapping[str, Any]) -> Record:
    try:
        properties = obj["properties"]
        record_id = str(obj["id"])
    except (KeyError, TypeError):
        raise TransientError(
            "HubSpot returned a product without id/properties; retrying", system="hubspot"
        ) from None
    fields = {str(k): (None if v is None else str(v)) for k, v in properties.items()}
    stamp = obj.get("updatedAt") or fields.get(MODIFIED)
    return Record(
        system="hubspot",
        id=record_id,
        fields=fields,
        updated_at=parse_time(stamp) if stamp else datetime.now(UTC),
        active=not obj.get("archived", False),
        version=None,
        sku=fields.get(SKU),
    )


def parse_time(value: str) -> datetime:
    """ISO-8601 (``…Z``) or epoch milliseconds, as aware UTC."""
    text = str(value).strip()
    if text.isdigit():
        return datetime.fromtimestamp(int(text) / 1000, UTC)
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def epoch_ms(moment: datetime) -> str:
    if moment.tzinfo is None:
        raise ValueError("naive datetime; use an aware UTC datetime")
    return str(int(moment.timestamp() * 1000))


def wire_properties(fields: Mapping[str, Any]) -> dict[str, str]:
    """Values as HubSpot strings: Decimal in plain notation, bools lower-case, None → ""
    (which clears the property), datetimes as epoch ms."""
    wire: dict[str, str] = {}
    for name, value in fields.items():
        if value is None:
            wire[name] = ""
        elif isinstance(value, bool):
            wire[name] = "true" if value else "false"
        elif isinstance(value, Decimal):
            if not value.is_finite():
                raise DataError(f"{name} is not a finite number", system="hubspot")
            wire[name] = format(value, "f")
        elif isinstance(value, int):
            wire[name] = str(value)
        elif isinstance(value, float):
            raise DataError(f"{name} is a float; money and numbers travel as Decimal")
        elif isinstance(value, datetime):
            wire[name] = epoch_ms(value)
        else:
            wire[name] = str(value)
    return wire
