"""The SKU conflicts the engine refuses to guess about, as errors with every id named."""

from __future__ import annotations

from collections.abc import Iterable

from workers.errors import DataError


def label(system: str) -> str:
    return "HubSpot" if system == "hubspot" else "QuickBooks"


def duplicate_sku(system: str, sku: str, ids: Iterable[str], *, source: bool) -> DataError:
    """``duplicate_sku_in_source`` / ``duplicate_sku_in_destination`` listing the ids."""
    ids = sorted(ids)
    side = "source" if source else "destination"
    return DataError(
        f"SKU {sku!r} is used by {len(ids)} products in {label(system)} "
        f"({', '.join(ids)}); make it unique there.",
        code=f"duplicate_sku_in_{side}",
        system=system,
        details={"sku": sku, "ids": ids},
    )
