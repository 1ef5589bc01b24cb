"""JSON on the wire without floats: numbers parse to `Decimal` and `Decimal` is written
back as a plain JSON number with exactly its digits (``Decimal("275.10")`` → ``275.10``)."""

from __future__ import annotations

import json
import uuid
from decimal import Decimal
from typing import Any


class WireError(ValueError):
    """A value cannot go on the wire as JSON (NaN/infinite Decimal, float)."""


def loads(data: bytes | str) -> Any:
    """Parse JSON; every non-integer number becomes `Decimal`."""
    return json.loads(data, parse_float=Decimal)


def dumps(value: Any) -> bytes:
    """Serialize to compact UTF-8 JSON; `Decimal` values are emitted as bare numbers.

    Floats are refused: a float reaching the wire means money lost precision upstream.
    """
    marker = uuid.uuid4().hex
    numbers: list[str] = []

    def swap(item: Any) -> Any:
        if isinstance(item, Decimal):
            if not item.is_finite():
                raise WireError(f"{item} cannot be sent as a JSON number")
            numbers.append(format(item, "f"))
            return f"{marker}{len(numbers) - 1}"
        if isinstance(item, float):
            raise WireError("floats are never sent; use Decimal")
        if isinstance(item, dict):
            return {k: swap(v) for k, v in item.items()}
        if isinstance(item, list | tuple):
            return [swap(v) for v in item]
        return item

    text = json.dumps(swap(value), separators=(",", ":"), ensure_ascii=False)
    for index in range(len(numbers) - 1, -1, -1):  # longest index first: "…12" before "…1"
        text = text.replace(f'"{marker}{index}"', numbers[index])
    return text.encode("utf-8")
