"""Stored Items and Accounts, and how they render as QBO JSON.

An :class:`Entity` keeps its writable fields as Python values (str, bool, Decimal, date,
reference dicts ``{"value", "name"}``) plus the IntuitEntity bookkeeping (Id, SyncToken,
MetaData). Rendering follows the vendor's rules: only properties with values appear,
numbers are JSON numbers, ``Id``/``SyncToken`` are strings and times carry the company's
UTC offset.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from typing import Any

from emulators.quickbooks.jsonio import Raw, dumps, format_date, format_datetime

__all__ = [
    "ACCOUNT_FIELDS",
    "ITEM_FIELDS",
    "SEED_ACCOUNTS",
    "Entity",
    "item_json",
    "render_account",
    "render_item",
]

# Writable Item fields in the XSD's sequence order (Finance.xsd, complexType Item), with the
# Python kind the emulator stores. FullyQualifiedName and Level are derived, not writable.
ITEM_FIELDS: dict[str, str] = {
    "Name": "str", "Sku": "str", "Description": "str", "Active": "bool", "SubItem": "bool",
    "ParentRef": "ref", "Level": "derived", "FullyQualifiedName": "derived",
    "Taxable": "bool", "SalesTaxIncluded": "bool", "UnitPrice": "decimal", "Type": "enum",
    "IncomeAccountRef": "ref", "PurchaseDesc": "str", "PurchaseTaxIncluded": "bool",
    "PurchaseCost": "decimal", "ExpenseAccountRef": "ref", "AssetAccountRef": "ref",
    "PrefVendorRef": "ref", "TrackQtyOnHand": "bool", "QtyOnHand": "decimal",
    "ReorderPoint": "decimal", "SalesTaxCodeRef": "ref", "PurchaseTaxCodeRef": "ref",
    "InvStartDate": "date", "TaxClassificationRef": "ref", "ClassRef": "ref",
}

ACCOUNT_FIELDS: tuple[str, ...] = (
    "Name", "SubAccount", "FullyQualifiedName", "Active", "Classification", "AccountType",
    "AccountSubType", "CurrentBalance", "CurrentBalanceWithSubAccounts", "CurrencyRef",
)

# (Name, Classification, AccountType, AccountSubType): what a fresh QBO company has for
# items to point at — income, cost of goods sold and the inventory asset account.
SEED_ACCOUNTS: tuple[tuple[str, str, str, str], ...] = (
    ("Sales of Product Income", "Revenue", "Income", "SalesOfProductIncome"),
    ("Services", "Revenue", "Income", "ServiceFeeIncome"),
    ("Cost of Goods Sold", "Expense", "Cost of Goods Sold", "SuppliesMaterialsCogs"),
    ("Purchases", "Expense", "Expense", "SuppliesMaterials"),
    ("Inventory Asset", "Asset", "Other Current Asset", "Inventory"),
)


@dataclass
class Entity:
    """One stored Item or Account. ``sync_token`` increments on every successful update."""

    id: str
    fields: dict[str, Any]
    created: datetime
    updated: datetime
    sync_token: int = 0
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def active(self) -> bool:
        return bool(self.fields.get("Active", True))

    def value(self, name: str) -> Any:
        """A field by query name (``Id``, ``MetaData.CreateTime`` …), None when absent."""
        if name == "Id":
            return self.id
        if name == "MetaData.CreateTime":
            return self.created
        if name == "MetaData.LastUpdatedTime":
            return self.updated
        if name == "SyncToken":
            return self.sync_token
        if name == "Active":
            return self.active
        return self.fields.get(name)


def _render_value(value: Any) -> Any:
    if isinstance(value, date):
        return format_date(value)
    if isinstance(value, dict):
        return dict(value)
    return value


def _tail(entity: Entity, tz: timezone) -> dict[str, Any]:
    return {
        "domain": "QBO", "sparse": False, "Id": entity.id, "SyncToken": str(entity.sync_token),
        "MetaData": {"CreateTime": format_datetime(entity.created, tz),
                     "LastUpdatedTime": format_datetime(entity.updated, tz)},
    }


def render_item(entity: Entity, tz: timezone) -> dict[str, Any]:
    """The Item JSON object: only properties with values, in the XSD's order."""
    out: dict[str, Any] = {}
    fields_ = entity.fields
    for name in ITEM_FIELDS:
        value = fields_.get(name)
        if value is not None:
            out[name] = _render_value(value)
    out.update(_tail(entity, tz))
    return out


def render_account(entity: Entity, tz: timezone) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in ACCOUNT_FIELDS:
        value = entity.fields.get(name)
        if value is not None:
            out[name] = _render_value(value)
    out.update(_tail(entity, tz))
    return out



def item_json(entity: Entity, tz: timezone) -> Raw:
    """The Item's encoded JSON, cached until its SyncToken moves (every change moves it):
    list responses of hundreds of items then cost a join instead of a render each."""
    key = (entity.sync_token, tz)
    cached = entity.extra.get("json")
    if cached is not None and cached[0] == key:
        return cached[1]
    raw = Raw(dumps(render_item(entity, tz)).decode())
    entity.extra["json"] = (key, raw)
    return raw
