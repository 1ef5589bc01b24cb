"""JSON in and out the way QuickBooks Online speaks it.

Incoming bodies are parsed with :class:`~decimal.Decimal` for every non-integer number
(never float, so ``275.10`` stays ``275.10``); outgoing bodies emit Decimals as JSON
numbers. Timestamps are rendered in the company's UTC offset (QBO answers in the
company's time zone, not UTC) while everything internal stays timezone-aware UTC.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

__all__ = [
    "BadJson",
    "Raw",
    "dumps",
    "format_date",
    "format_datetime",
    "format_time_envelope",
    "loads",
    "parse_datetime",
    "parse_offset",
]


class BadJson(ValueError):
    """The request body is not JSON the emulator accepts."""


class Raw(str):
    """Already-encoded JSON, written verbatim by :func:`dumps` (cached entity bodies)."""

    __slots__ = ()


def _reject_constant(name: str) -> Any:
    raise BadJson(f"{name} is not a number")


def loads(raw: bytes | str) -> Any:
    """Parse a request body; non-integer numbers become Decimal, NaN/Infinity are refused."""
    try:
        return json.loads(raw, parse_float=Decimal, parse_constant=_reject_constant)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise BadJson(str(exc)) from exc


def _decimal_text(value: Decimal) -> str:
    # "275.00" -> "275", "1E+2" -> "100": what a JSON number written by QBO looks like.
    text = format(value.normalize(), "f")
    return "0" if text in ("-0", "") else text


_encode_str = json.encoder.encode_basestring  # type: ignore[attr-defined]


def _write(value: Any, out: list[str]) -> None:
    if isinstance(value, Raw):
        out.append(value)
    elif isinstance(value, str):
        out.append(_encode_str(value))
    elif value is True:
        out.append("true")
    elif value is False:
        out.append("false")
    elif value is None:
        out.append("null")
    elif isinstance(value, Decimal):
        out.append(_decimal_text(value))
    elif isinstance(value, int):
        out.append(str(value))
    elif isinstance(value, dict):
        out.append("{")
        first = True
        for key, item in value.items():
            if not first:
                out.append(",")
            first = False
            out.append(_encode_str(key))
            out.append(":")
            _write(item, out)
        out.append("}")
    elif isinstance(value, list | tuple):
        out.append("[")
        for index, item in enumerate(value):
            if index:
                out.append(",")
            _write(item, out)
        out.append("]")
    else:
        raise TypeError(f"cannot encode {type(value).__name__} as QBO JSON")


def dumps(value: Any) -> bytes:
    """Encode a response body; Decimals become JSON numbers, never floats or strings."""
    out: list[str] = []
    _write(value, out)
    return "".join(out).encode()


def parse_offset(text: str) -> timezone:
    """``"-08:00"`` -> a fixed-offset timezone; raises ValueError on anything else."""
    if len(text) != 6 or text[0] not in "+-" or text[3] != ":":
        raise ValueError(f"bad UTC offset {text!r}, expected e.g. -08:00")
    hours, minutes = int(text[1:3]), int(text[4:6])
    if hours > 14 or minutes > 59:
        raise ValueError(f"bad UTC offset {text!r}")
    delta = timedelta(hours=hours, minutes=minutes)
    return timezone(-delta if text[0] == "-" else delta)


def format_datetime(moment: datetime, tz: timezone) -> str:
    """MetaData style: seconds precision, company offset (``2014-09-19T13:16:17-07:00``)."""
    return moment.astimezone(tz).replace(microsecond=0).isoformat()


def format_time_envelope(moment: datetime, tz: timezone) -> str:
    """The envelope ``time``: milliseconds, company offset (``…T13:16:17.413-07:00``)."""
    return moment.astimezone(tz).isoformat(timespec="milliseconds")


def format_date(day: date) -> str:
    return day.isoformat()


def parse_datetime(text: str, default_tz: timezone) -> datetime:
    """Parse a query/CDC datetime literal; a bare date or naive time takes ``default_tz``."""
    candidate = text.strip()
    if candidate.endswith("Z"):
        candidate = candidate[:-1] + "+00:00"
    moment = datetime.fromisoformat(candidate)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=default_tz)
    return moment.astimezone(UTC)
