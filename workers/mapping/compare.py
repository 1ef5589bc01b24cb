"""Deciding what to write: `changes_needed` and the `fingerprint` of what was written.

Values are compared after normalization, so that representations of one value never
count as a change (a no-op must cost no write call):

* amounts numerically: ``"275"`` = ``"275.00"`` = QuickBooks ``275``;
* empty is empty: HubSpot ``""`` = null = missing; QuickBooks absent = None = ``""``;
  a QuickBooks amount that is absent or None equals 0, QuickBooks' own default;
* a QuickBooks name equals the mapped name when it is that name with the SKU suffix that
  `disambiguated_name` added after a duplicate-name refusal (else every sync would undo it).
"""

from __future__ import annotations

import hashlib
import json
from decimal import Decimal
from typing import Any

from workers.catalog.port import Record, System
from workers.mapping.fields import Converter
from workers.mapping.mapper import Mapped
from workers.mapping.money import as_amount, canonical
from workers.mapping.text import disambiguated_name


def _converter(mapped: Mapped, name: str, value: Any) -> Converter:
    known = mapped.converters.get(name)
    if known is not None:
        return known
    return "money" if isinstance(value, Decimal) else "text"


def _normal(system: System, converter: Converter, value: Any) -> Any:
    """The comparable form of a value as either vendor holds it."""
    if converter == "money":
        if value is None or value == "":
            return Decimal(0) if system == "quickbooks" else None
        amount = as_amount(value)
        # An unreadable amount stays itself, so it compares unequal and gets rewritten.
        return amount if amount is not None else ("unreadable", str(value))
    if value is None or value == "":
        return None
    return value


def _write_value(system: System, converter: Converter, value: Any) -> Any:
    """What to send to make a field empty, or the mapped value itself."""
    if value is not None:
        return value
    if system == "hubspot":
        return ""  # HubSpot clears a property with an empty string
    # A sparse update ignores nothing it is sent; QuickBooks' empty amount is 0 and
    # an empty text is "".
    return Decimal(0) if converter == "money" else ""


def changes_needed(current: Record, mapped: Mapped) -> dict[str, tuple[Any, Any]]:
    """``field → (before, after)`` for each mapped field that differs; ``{}``: write nothing.

    ``current`` is the destination product as it is now. ``after`` is wire-ready: the
    value to send in the update (HubSpot ``""`` to clear; QuickBooks 0 for a cleared
    amount and ``""`` for a cleared text).
    """
    system = current.system
    changes: dict[str, tuple[Any, Any]] = {}
    for name, after in mapped.fields.items():
        converter = _converter(mapped, name, after)
        before = current.fields.get(name)
        if before is None and converter == "sku":
            before = current.sku
        if _normal(system, converter, before) == _normal(system, converter, after):
            continue
        if (
            system == "quickbooks"
            and converter == "name"
            and isinstance(after, str)
            and before == disambiguated_name(after, mapped.sku)
        ):
            continue
        changes[name] = (before, _write_value(system, converter, after))
    return changes


def _stable(value: Any) -> Any:
    if isinstance(value, Decimal):
        return format(canonical(value), "f")
    if value == "":
        return None
    return value


def fingerprint(mapped: Mapped) -> str:
    """sha256 hex of the mapped fields in canonical form (stable across processes).

    Equal mapped products give equal fingerprints: amounts are written canonically
    (``275.00`` and ``275`` agree), empty strings count as None, keys are sorted.
    """
    fields = {}
    for name, value in mapped.fields.items():
        if _converter(mapped, name, value) == "money" and isinstance(value, str):
            amount = as_amount(value)
            value = amount if amount is not None else value
        fields[name] = _stable(value)
    payload = json.dumps({"sku": mapped.sku, "fields": fields}, sort_keys=True, default=str)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()
