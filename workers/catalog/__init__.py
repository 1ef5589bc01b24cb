"""Connectors: one typed port for "a product catalog system", with HubSpot and QuickBooks
implementations speaking the vendors' real HTTP APIs (the emulators speak the same)."""

from workers.catalog.port import Catalog, Change, FieldSpec, Record, System

__all__ = ["Catalog", "Change", "FieldSpec", "Record", "System"]
