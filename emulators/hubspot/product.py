"""A product as HubSpot stores it, and its JSON (``SimplePublicObject``).

Each write also keeps a `Version`: what the search index will show from ``visible_at`` on,
which is how freshly written products appear in search late.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from emulators.hubspot.properties import iso_ms

DEFAULT_PROPERTIES = ("name", "description", "price")
ALWAYS_PROPERTIES = ("createdate", "hs_lastmodifieddate", "hs_object_id")


@dataclass
class Version:
    """What search sees of a product from ``visible_at`` (monotonic seconds) on."""

    visible_at: float
    properties: dict[str, str]


@dataclass
class Product:
    id: str
    properties: dict[str, str]  # non-empty values only; "" clears by removing the key
    created_at: datetime
    updated_at: datetime
    archived: bool = False
    archived_at: datetime | None = None
    versions: list[Version] = field(default_factory=list)
    merged_into: str | None = None  # set by a merge: the product this one became part of
    created_iso: str = ""  # createdAt as sent; formatted once (strftime is not cheap)

    def __post_init__(self) -> None:
        self.created_iso = iso_ms(self.created_at)

    def view(self, requested: Sequence[str] | None, known: Mapping[str, Any]) -> dict[str, Any]:
        """The ``SimplePublicObject`` JSON of the current state."""
        return object_json(self, self.properties, requested, known)

    def written_view(self, changes: Mapping[str, str], known: Mapping[str, Any]) -> dict[str, Any]:
        """What a write answers: every property written, and the default properties that
        have a value (so every value in a write answer is a string)."""
        defaults = [n for n in DEFAULT_PROPERTIES if n in self.properties]
        names = list(dict.fromkeys([*defaults, *(n for n in changes if n in self.properties)]))
        return object_json(self, self.properties, names, known)

    def merged_ids(self) -> list[str]:
        return [i for i in (self.properties.get("hs_merged_object_ids") or "").split(";") if i]

    def searchable(self, now: float) -> dict[str, str] | None:
        """The properties search sees at monotonic time ``now`` (None: not indexed yet)."""
        if self.archived:
            return None
        seen = None
        for version in self.versions:  # write order; the latest visible write wins
            if version.visible_at <= now:
                seen = version.properties
        return seen


def object_json(
    product: Product,
    properties: Mapping[str, str],
    requested: Sequence[str] | None,
    known: Mapping[str, Any],
) -> dict[str, Any]:
    """``SimplePublicObject`` JSON of ``product`` showing ``properties`` (its current or its
    indexed state). Unknown requested names are ignored; requested-but-empty ones are null."""
    names = DEFAULT_PROPERTIES if requested is None else requested
    props: dict[str, str | None] = {n: properties.get(n) for n in names if n in known}
    for n in ALWAYS_PROPERTIES:
        props[n] = properties.get(n)
    out: dict[str, Any] = {
        "id": product.id,
        "properties": props,
        "createdAt": product.created_iso,
        "updatedAt": properties.get("hs_lastmodifieddate") or iso_ms(product.updated_at),
        "archived": product.archived,
    }
    if product.archived_at is not None:
        out["archivedAt"] = iso_ms(product.archived_at)
    return out


def now_ms() -> datetime:
    """Now, truncated to the millisecond HubSpot stores."""
    now = datetime.now(UTC)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)
