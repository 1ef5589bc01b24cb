"""How bad input is reported: one `DataError` per rule, worded for a bookkeeper.

Every message names the product, the field (by the label people see in the vendor's UI)
and the offending value, shortened and with control characters made visible so a message
stays one readable line in the history.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from workers.catalog.port import System
from workers.errors import DataError
from workers.mapping.fields import field_label

_SHOWN_MAX = 60
_VISIBLE = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def show(value: Any) -> str:
    """A value as quoted in a message: control characters escaped, long values shortened."""
    text = "".join(
        _VISIBLE.get(ch, f"\\x{ord(ch):02x}" if ord(ch) < 32 or ord(ch) == 127 else ch)
        for ch in str(value)
    )
    if len(text) > _SHOWN_MAX:
        text = text[: _SHOWN_MAX - 1] + "…"
    return f'"{text}"'


def product_ref(system: System, record_id: str) -> str:
    return f"HubSpot product {record_id}" if system == "hubspot" else f"QuickBooks item {record_id}"


def bad_value(
    code: str,
    *,
    system: System,
    record_id: str,
    field: str,
    value: Any,
    problem: str,
) -> DataError:
    """``<Label> "<value>" on <product> <problem>`` as a `DataError` with ``code``.

    ``problem`` continues the sentence, e.g. ``"is not a number."``.
    """
    label = field_label(system, field)
    message = f"{label} {show(value)} on {product_ref(system, record_id)} {problem}"
    return DataError(
        message,
        code=code,
        system=system,
        details={"field": field, "value": show(value)[1:-1], "record_id": record_id},
    )


def missing_value(
    code: str, *, system: System, record_id: str, field: str, problem: str
) -> DataError:
    """``<product> has no <label>; <problem>`` as a `DataError` with ``code``."""
    label = field_label(system, field)
    label = label if label.isupper() else label.lower()  # "no SKU", "no name"
    message = f"{product_ref(system, record_id)} has no {label}; {problem}"
    return DataError(
        message,
        code=code,
        system=system,
        details={"field": field, "record_id": record_id},
    )


@dataclass
class FieldContext:
    """One source field being converted: where errors point and where notes collect."""

    system: System  # the source
    record_id: str
    field: str  # source field name
    destination_field: str
    notes: list[str]

    def bad(self, code: str, value: Any, problem: str) -> DataError:
        return bad_value(
            code,
            system=self.system,
            record_id=self.record_id,
            field=self.field,
            value=value,
            problem=problem,
        )

    def missing(self, code: str, problem: str) -> DataError:
        return missing_value(
            code, system=self.system, record_id=self.record_id, field=self.field, problem=problem
        )

    @property
    def destination_label(self) -> str:
        other: System = "quickbooks" if self.system == "hubspot" else "hubspot"
        return field_label(other, self.destination_field)

    def note(self, text: str) -> None:
        self.notes.append(text)
