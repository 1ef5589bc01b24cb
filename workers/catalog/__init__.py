"""Connectors: one typed port for "a product catalog system", with HubSpot and QuickBooks
implementations speaking the vendors' real HTTP APIs (the emulators speak the same)."""

from workers.catalog.port import (
    DIRECTIONS,
    Catalog,
    Change,
    Direction,
    FieldSpec,
    Record,
    System,
    destination_of,
    source_of,
)

__all__ = [
    "DIRECTIONS",
    "Catalog",
    "Change",
    "Direction",
    "FieldSpec",
    "Record",
    "System",
    "destination_of",
    "source_of",
]
