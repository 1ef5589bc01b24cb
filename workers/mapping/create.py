"""What a create sends: the mapped fields plus what the destination requires of new items."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from workers.catalog.port import Direction, destination_of
from workers.errors import DataError
from workers.mapping.fields import QBO_TO_HUBSPOT_TYPE
from workers.mapping.mapper import Mapped
from workers.mapping.messages import show


@dataclass(frozen=True)
class ItemDefaults:
    """Per-account QuickBooks settings for the items the sync creates."""

    income_account_id: str
    expense_account_id: str
    asset_account_id: str | None = None
    default_type: str = "NonInventory"  # QBO Type when no type mapping is configured
    inventory_start_date: date | None = None  # None → today (UTC)

    def __post_init__(self) -> None:
        if self.default_type not in QBO_TO_HUBSPOT_TYPE:
            raise ValueError(
                f"default_type must be one of {', '.join(QBO_TO_HUBSPOT_TYPE)},"
                f" not {self.default_type!r}"
            )
        if not self.income_account_id or not self.expense_account_id:
            raise ValueError("income and expense account ids are required")


def creation_fields(
    mapped: Mapped, direction: Direction, defaults: ItemDefaults | None = None
) -> dict[str, Any]:
    """The full body fields for creating ``mapped`` in the destination of ``direction``.

    QuickBooks: the mapped fields without empty ones (an empty price is omitted, leaving
    QuickBooks' default of 0), ``Type`` (mapped, else the account default), both account
    references, and for ``Inventory`` also ``TrackQtyOnHand``, ``QtyOnHand`` 0,
    ``InvStartDate`` and ``AssetAccountRef``; without an asset account that raises
    `DataError` ``inventory_needs_asset_account``. HubSpot: the mapped properties, without
    empty ones; ``defaults`` may be None then, and must not be for QuickBooks.
    """
    if destination_of(direction) == "hubspot":
        return {name: value for name, value in mapped.fields.items() if value != ""}
    if defaults is None:
        raise ValueError("creating QuickBooks items needs the account's ItemDefaults")

    body = {name: value for name, value in mapped.fields.items() if value is not None}
    item_type = body.get("Type") or defaults.default_type
    body["Type"] = item_type
    body["IncomeAccountRef"] = {"value": defaults.income_account_id}
    body["ExpenseAccountRef"] = {"value": defaults.expense_account_id}
    if item_type == "Inventory":
        if not defaults.asset_account_id:
            raise DataError(
                f"Product with SKU {show(mapped.sku)} is an inventory item, and QuickBooks"
                " needs an inventory asset account to create one; choose it in the"
                " account's QuickBooks settings.",
                code="inventory_needs_asset_account",
                system="quickbooks",
                details={"sku": mapped.sku},
            )
        start = defaults.inventory_start_date or datetime.now(UTC).date()
        body["TrackQtyOnHand"] = True
        body["QtyOnHand"] = Decimal(0)
        body["InvStartDate"] = start.isoformat()
        body["AssetAccountRef"] = {"value": defaults.asset_account_id}
    return body
