"""A string that never prints itself.

Secrets travel through settings, connectors and the OAuth code as `Secret`, so an
accidental `repr`, f-string, log line or exception message shows `'**********'`
instead of the token. Only `reveal()` gives the value, and only the HTTP edge calls it.
"""

from __future__ import annotations

REDACTED = "**********"


class Secret:
    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return f"Secret({REDACTED!r})"

    def __str__(self) -> str:
        return REDACTED

    def __format__(self, spec: str) -> str:
        return REDACTED

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)

    def __bool__(self) -> bool:
        return bool(self._value)

    def __reduce__(self) -> tuple[object, ...]:
        # Pickling would carry the clear value into a broker or a cache; refuse.
        raise TypeError("Secret values are never serialized")
