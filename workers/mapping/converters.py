"""One function per converter and direction: source value → destination wire value.

Each returns the value to write, or `OMIT` when the destination field should not be
mentioned at all (a product type the source leaves empty). Bad input raises `DataError`
through the `FieldContext`; transformations are recorded with ``ctx.note``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

from workers.catalog.port import System
from workers.mapping.fields import (
    HUBSPOT_TO_QBO_TYPE,
    QBO_SKU_MAX,
    QBO_TO_HUBSPOT_TYPE,
    Converter,
    max_length,
)
from workers.mapping.messages import FieldContext
from workers.mapping.money import money_to_hubspot, money_to_quickbooks
from workers.mapping.text import clean_name, fit, utf16_length


class _Omit:
    def __repr__(self) -> str:
        return "OMIT"


OMIT: Final = _Omit()

ConvertFn = Callable[[Any, FieldContext], Any]


def _text_or_none(value: Any) -> str | None:
    if value is None:
        return None
    text = value if isinstance(value, str) else str(value)
    return text if text != "" else None


def _limit(ctx: FieldContext) -> int | None:
    return max_length("quickbooks", ctx.destination_field)


def _shortened(text: str, ctx: FieldContext, *, at_word: bool, what: str) -> str:
    limit = _limit(ctx)
    if limit is None or utf16_length(text) <= limit:
        return text
    ctx.note(f"{what} truncated to {limit} characters")
    return fit(text, limit, at_word=at_word)


def sku_value(value: Any, ctx: FieldContext, *, limit: int | None) -> str:
    """The SKU exactly as stored, or an error: it is never stripped or case-folded."""
    sku = _text_or_none(value)
    if sku is None or sku.strip() == "":
        raise ctx.missing("missing_sku", "products are matched by SKU, so it cannot be synced.")
    if sku[0].isspace() or sku[-1].isspace():
        raise ctx.bad(
            "sku_whitespace",
            sku,
            "starts or ends with a space; remove it so the SKU matches exactly in both systems.",
        )
    if limit is not None and utf16_length(sku) > limit:
        raise ctx.bad(
            "sku_too_long",
            sku,
            f"is longer than {limit} characters, the most QuickBooks accepts for a SKU.",
        )
    return sku


# -- toward QuickBooks -------------------------------------------------------------------


def name_to_quickbooks(value: Any, ctx: FieldContext) -> str:
    raw = _text_or_none(value) or ""
    name = clean_name(raw)
    if name == "":
        raise ctx.missing("missing_name", "QuickBooks requires a name for every item.")
    if name != raw.strip():
        ctx.note(
            f"{ctx.destination_label}: tabs, line breaks and colons replaced"
            " (QuickBooks does not allow them in names)"
        )
    return _shortened(name, ctx, at_word=True, what=ctx.destination_label)


def sku_to_quickbooks(value: Any, ctx: FieldContext) -> str:
    return sku_value(value, ctx, limit=_limit(ctx) or QBO_SKU_MAX)


def description_to_quickbooks(value: Any, ctx: FieldContext) -> str | None:
    # Surrounding whitespace is dropped: it is invisible, and a vendor that trims on save
    # would otherwise make every later sync see a difference and write again.
    text = (_text_or_none(value) or "").strip()
    if text == "":
        return None
    return _shortened(text, ctx, at_word=True, what=ctx.destination_label)


def text_to_quickbooks(value: Any, ctx: FieldContext) -> str | None:
    text = _text_or_none(value)
    if text is None:
        return None
    return _shortened(text, ctx, at_word=False, what=ctx.destination_label)


def type_to_quickbooks(value: Any, ctx: FieldContext) -> Any:
    kind = _text_or_none(value)
    if kind is None:
        return OMIT  # no opinion: creates use the account default, updates leave Type alone
    if kind not in HUBSPOT_TO_QBO_TYPE:
        raise ctx.bad(
            "unknown_product_type",
            kind,
            "is not a product type QuickBooks knows; use inventory, non_inventory or service.",
        )
    return HUBSPOT_TO_QBO_TYPE[kind]


# -- toward HubSpot ----------------------------------------------------------------------


def text_to_hubspot(value: Any, ctx: FieldContext) -> str:
    """Names, descriptions and free text reach HubSpot unchanged; empty clears (``""``)."""
    return _text_or_none(value) or ""


def sku_to_hubspot(value: Any, ctx: FieldContext) -> str:
    return sku_value(value, ctx, limit=None)


def type_to_hubspot(value: Any, ctx: FieldContext) -> Any:
    kind = _text_or_none(value)
    if kind is None:
        return OMIT
    if kind not in QBO_TO_HUBSPOT_TYPE:
        raise unsupported_type(kind, ctx)
    return QBO_TO_HUBSPOT_TYPE[kind]


def unsupported_type(kind: str, ctx: FieldContext) -> Exception:
    return ctx.bad(
        "unsupported_type",
        kind,
        "has no HubSpot equivalent; only Inventory, NonInventory and Service items are synced.",
    )


CONVERTERS_BY_DESTINATION: dict[System, dict[Converter, ConvertFn]] = {
    "quickbooks": {
        "name": name_to_quickbooks,
        "sku": sku_to_quickbooks,
        "text": text_to_quickbooks,
        "description": description_to_quickbooks,
        "money": money_to_quickbooks,
        "product_type": type_to_quickbooks,
    },
    "hubspot": {
        "name": text_to_hubspot,
        "sku": sku_to_hubspot,
        "text": text_to_hubspot,
        "description": text_to_hubspot,
        "money": money_to_hubspot,
        "product_type": type_to_hubspot,
    },
}
