"""Item validation: what QBO accepts on create, full update and sparse update.

:func:`coerce_payload` turns a request's Item JSON into typed values (2010 for unknown
properties or wrong types); :func:`merge` applies create / full / sparse semantics;
:func:`check_item` enforces the per-type rules. Uniqueness of names and the SyncToken
check need the whole realm and live in :mod:`emulators.quickbooks.realm`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from emulators.quickbooks import faults
from emulators.quickbooks.entities import ITEM_FIELDS, Entity
from emulators.quickbooks.switches import Switches

__all__ = ["CREATABLE_TYPES", "ITEM_TYPES", "check_item", "coerce_payload", "merge"]

# ItemTypeEnum (Finance.xsd ~line 80); only the first four can be written through the API.
CREATABLE_TYPES = ("Inventory", "NonInventory", "Service", "Category")
ITEM_TYPES = (*CREATABLE_TYPES, "Assembly", "Fixed Asset", "Other Charge", "Payment",
              "Subtotal", "Discount", "Tax", "Tax Group", "Group")

# Sent by clients (echoing a read) but not writable: accepted and ignored.
_READ_ONLY = frozenset({"Id", "SyncToken", "MetaData", "domain", "sparse", "status",
                        "FullyQualifiedName", "Level", "QtyOnPurchaseOrder", "QtyOnSalesOrder",
                        "AvgCost"})
_MAX_LENGTH = {"Name": 100, "Sku": 100, "Description": 4000, "PurchaseDesc": 1000}
_MAX_AMOUNT = Decimal("99999999999")
_ACCOUNT_REFS = ("IncomeAccountRef", "ExpenseAccountRef", "AssetAccountRef")
_FOREIGN_REFS = ("PrefVendorRef", "SalesTaxCodeRef", "PurchaseTaxCodeRef",
                 "TaxClassificationRef", "ClassRef")

AccountLookup = Callable[[str], Entity | None]
ItemLookup = Callable[[str], Entity | None]


def _decimal(name: str, value: Any) -> Decimal:
    if isinstance(value, bool):
        raise faults.bad_property(name, name)
    if isinstance(value, int | Decimal):
        return Decimal(value)
    if isinstance(value, str):  # the vendor's deserializer accepts numeric strings
        try:
            parsed = Decimal(value.strip())
        except InvalidOperation:
            raise faults.bad_property(name, name) from None
        if parsed.is_finite():
            return parsed
    raise faults.bad_property(name, name)


def _coerce(name: str, kind: str, value: Any) -> Any:
    if kind in ("str", "enum"):
        if not isinstance(value, str):
            raise faults.bad_property(name, name)
        return value
    if kind == "bool":
        if not isinstance(value, bool):
            raise faults.bad_property(name, name)
        return value
    if kind == "decimal":
        return _decimal(name, value)
    if kind == "date":
        if not isinstance(value, str):
            raise faults.bad_property(name, name)
        try:
            return date.fromisoformat(value[:10])
        except ValueError:
            raise faults.bad_property(name, name) from None
    if kind == "ref":
        ref_value = value.get("value") if isinstance(value, dict) else None
        if isinstance(ref_value, int) and not isinstance(ref_value, bool):
            ref_value = str(ref_value)
        if not isinstance(ref_value, str):
            raise faults.bad_property(name, name)
        return {"value": ref_value}
    raise AssertionError(kind)  # pragma: no cover - ITEM_FIELDS kinds are closed


def coerce_payload(payload: Mapping[str, Any]) -> dict[str, Any]:
    """Typed writable values from a request body; ``None`` marks an explicit JSON null."""
    out: dict[str, Any] = {}
    for name, value in payload.items():
        kind = ITEM_FIELDS.get(name)
        if kind is None:
            if name in _READ_ONLY:
                continue
            raise faults.bad_property(name, name)
        if kind == "derived":
            continue
        out[name] = None if value is None else _coerce(name, kind, value)
    return out


def merge(existing: Entity | None, changes: dict[str, Any], *, sparse: bool) -> dict[str, Any]:
    """The item's fields after the write: create, full update (omitted -> NULL) or sparse."""
    if existing is None or not sparse:
        merged = {k: v for k, v in changes.items() if v is not None}
        if existing is not None:
            # Reads keep returning the original InvStartDate (an update's value becomes the
            # adjust date); quantity on hand is transaction-derived, so a full update that
            # omits it does not clear it.
            if "InvStartDate" in existing.fields:
                merged["InvStartDate"] = existing.fields["InvStartDate"]
            if "QtyOnHand" in existing.fields:
                merged.setdefault("QtyOnHand", existing.fields["QtyOnHand"])
        merged.setdefault("Active", True)
        if merged.get("Type") != "Category":
            merged.setdefault("UnitPrice", Decimal(0))
            merged.setdefault("PurchaseCost", Decimal(0))
            merged.setdefault("TrackQtyOnHand", False)
        return merged
    merged = dict(existing.fields)
    for name, value in changes.items():
        if value is None:
            if name == "ReorderPoint":
                continue  # cannot be nulled by a sparse update: the null is ignored
            merged.pop(name, None)
        elif name == "InvStartDate" and "InvStartDate" in merged:
            continue  # stored as the adjust date; reads keep the original
        else:
            merged[name] = value
    return merged


def _check_name(name: Any, switches: Switches) -> None:
    if not name:
        raise faults.required_missing("Name")
    if len(name) > _MAX_LENGTH["Name"]:
        raise faults.string_length("Name", _MAX_LENGTH["Name"], len(name))
    if any(ch in name for ch in ":\t\n\r"):
        if switches.name_invalid_char_code == "2050":
            raise faults.string_length("Name", _MAX_LENGTH["Name"], len(name))
        raise faults.business_rule("Name cannot contain a colon (:), tab or new line.", "Name")


def _check_type(fields: dict[str, Any], existing: Entity | None) -> str:
    item_type = fields.get("Type")
    if item_type is None:
        raise faults.required_missing("Type")
    if item_type not in CREATABLE_TYPES:
        raise faults.bad_enum("Type", item_type)
    if existing is not None:
        before = existing.fields.get("Type")
        locked = ("Inventory", "Category")
        if before != item_type and (before in locked or item_type in locked):
            raise faults.business_rule(f"Item type cannot be changed from {before} to "
                                       f"{item_type}.", "Type")
    return item_type


def _check_accounts(fields: dict[str, Any], item_type: str, switches: Switches,
                    accounts: AccountLookup) -> None:
    required: list[str] = []
    if item_type == "Inventory":
        required = list(_ACCOUNT_REFS)
    elif item_type in ("Service", "NonInventory"):
        required = ["IncomeAccountRef"]
        has_purchase = bool(fields.get("PurchaseDesc")) or bool(fields.get("PurchaseCost"))
        if switches.strict_expense_account or has_purchase:
            required.append("ExpenseAccountRef")
    for name in required:
        if fields.get(name) is None:
            raise faults.required_missing(name)
    for name in _ACCOUNT_REFS:
        ref = fields.get(name)
        if ref is None:
            continue
        account = accounts(ref["value"])
        if account is None or not account.active:
            raise faults.bad_reference(name, ref["value"])
        fields[name] = {"value": account.id, "name": account.fields["Name"]}
    for name in _FOREIGN_REFS:
        if fields.get(name) is not None:
            # The emulated company has no vendors, tax codes or classes to point at.
            raise faults.bad_reference(name, fields[name]["value"])


def _check_inventory(fields: dict[str, Any], existing: Entity | None, item_type: str) -> None:
    was_tracked = existing is not None and existing.fields.get("TrackQtyOnHand") is True
    if was_tracked and fields.get("TrackQtyOnHand") is not True:
        raise faults.business_rule("TrackQtyOnHand cannot be changed from true to false.",
                                   "TrackQtyOnHand")
    if item_type != "Inventory":
        if fields.get("TrackQtyOnHand"):
            raise faults.business_rule("Only inventory items can track quantity on hand.",
                                       "TrackQtyOnHand")
        return
    if fields.get("TrackQtyOnHand") is not True:
        raise faults.required_missing("TrackQtyOnHand")
    for name in ("QtyOnHand", "InvStartDate"):
        if fields.get(name) is None:
            raise faults.required_missing(name)


def _check_parent(fields: dict[str, Any], existing: Entity | None, items: ItemLookup) -> None:
    parent_ref = fields.get("ParentRef")
    if parent_ref is None:
        if fields.get("SubItem"):
            raise faults.required_missing("ParentRef")
        fields.pop("SubItem", None)
        fields["FullyQualifiedName"] = fields["Name"]
        fields.pop("Level", None)
        return
    parent = items(parent_ref["value"])
    if parent is None or parent.fields.get("Type") != "Category" or (
        existing is not None and parent.id == existing.id
    ):
        raise faults.bad_reference("ParentRef", parent_ref["value"])
    level = int(parent.fields.get("Level") or 0) + 1
    if level > 4:
        raise faults.business_rule("Categories can be nested at most 4 levels deep.",
                                   "ParentRef")
    fields["ParentRef"] = {"value": parent.id, "name": parent.fields["Name"]}
    fields["SubItem"] = True
    fields["Level"] = level
    fields["FullyQualifiedName"] = f"{parent.fields['FullyQualifiedName']}:{fields['Name']}"


def check_item(fields: dict[str, Any], existing: Entity | None, switches: Switches,
               accounts: AccountLookup, items: ItemLookup) -> None:
    """Validate merged fields in place (fills reference names, FullyQualifiedName, Level)."""
    _check_name(fields.get("Name"), switches)
    item_type = _check_type(fields, existing)
    for name in ("Sku", "Description", "PurchaseDesc"):
        value = fields.get(name)
        if value is not None and len(value) > _MAX_LENGTH[name]:
            raise faults.string_length(name, _MAX_LENGTH[name], len(value))
    for name in ("UnitPrice", "PurchaseCost"):
        amount = fields.get(name)
        if amount is not None and abs(amount) > _MAX_AMOUNT:
            raise faults.business_rule(f"{name} must not exceed {_MAX_AMOUNT}.", name)
    if item_type == "Category" and not fields.get("Active", True):
        raise faults.business_rule("Category items cannot be made inactive.", "Active")
    _check_inventory(fields, existing, item_type)
    _check_accounts(fields, item_type, switches, accounts)
    _check_parent(fields, existing, items)
