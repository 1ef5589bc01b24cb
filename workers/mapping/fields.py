"""Field mappings and the vendor fields they may name.

A `FieldMapping` pairs one HubSpot product property with one QuickBooks Item element and
names the converter that carries values between them. Mappings are symmetric: the account's
direction decides which side is read, so both sides must be writable.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from workers.catalog.port import FieldSpec, System

Converter = Literal["name", "sku", "text", "description", "money", "product_type"]
CONVERTERS: tuple[Converter, ...] = ("name", "sku", "text", "description", "money", "product_type")


@dataclass(frozen=True)
class FieldMapping:
    hubspot_field: str  # HubSpot property name, e.g. "price"
    quickbooks_field: str  # QBO Item element, e.g. "UnitPrice"
    converter: Converter

    def source_field(self, system: System) -> str:
        return self.hubspot_field if system == "hubspot" else self.quickbooks_field

    def destination_field(self, system: System) -> str:
        """The field this mapping writes when ``system`` is the source."""
        return self.quickbooks_field if system == "hubspot" else self.hubspot_field


DEFAULT_MAPPINGS: tuple[FieldMapping, ...] = (
    FieldMapping("name", "Name", "name"),
    FieldMapping("hs_sku", "Sku", "sku"),
    FieldMapping("description", "Description", "description"),
    FieldMapping("price", "UnitPrice", "money"),
)

OPTIONAL_MAPPINGS: tuple[FieldMapping, ...] = (
    FieldMapping("hs_cost_of_goods_sold", "PurchaseCost", "money"),
    FieldMapping("hs_product_type", "Type", "product_type"),
)

# QuickBooks Item types a HubSpot product can be. Category, Group, Bundle and the desktop
# types have no HubSpot equivalent (api-reference §4).
HUBSPOT_TO_QBO_TYPE: dict[str, str] = {
    "inventory": "Inventory",
    "non_inventory": "NonInventory",
    "service": "Service",
}
QBO_TO_HUBSPOT_TYPE: dict[str, str] = {v: k for k, v in HUBSPOT_TO_QBO_TYPE.items()}

# Limits from the Item reference and Finance.xsd (api-reference §2.2).
QBO_NAME_MAX = 100
QBO_SKU_MAX = 100
QBO_MONEY_MAX_TEXT = "99999999999"

QBO_ITEM_FIELDS: dict[str, FieldSpec] = {
    spec.name: spec
    for spec in (
        FieldSpec("Name", "string", "Name", max_length=QBO_NAME_MAX),
        FieldSpec("Sku", "string", "SKU", max_length=QBO_SKU_MAX),
        FieldSpec("Description", "string", "Description", max_length=4000),
        FieldSpec("PurchaseDesc", "string", "Purchase description", max_length=1000),
        FieldSpec("UnitPrice", "number", "Price"),
        FieldSpec("PurchaseCost", "number", "Cost"),
        FieldSpec(
            "Type",
            "enumeration",
            "Type",
            options=tuple(QBO_TO_HUBSPOT_TYPE),
        ),
        FieldSpec("Taxable", "bool", "Taxable"),
        FieldSpec("SalesTaxIncluded", "bool", "Sales tax included"),
        FieldSpec("PurchaseTaxIncluded", "bool", "Purchase tax included"),
        # Listed so that a mapping onto them is refused as read-only, not as unknown.
        FieldSpec("FullyQualifiedName", "string", "Full name", read_only=True),
    )
}

# HubSpot's standard product properties as its property catalogue describes them
# (api-reference §1.2). The HubSpot connector reads the live catalogue; this copy serves
# tests and the labels in error messages.
HUBSPOT_PRODUCT_FIELDS: dict[str, FieldSpec] = {
    spec.name: spec
    for spec in (
        FieldSpec("name", "string", "Name"),
        FieldSpec("hs_sku", "string", "SKU"),
        FieldSpec("description", "string", "Description"),
        FieldSpec("price", "number", "Price"),
        FieldSpec("hs_cost_of_goods_sold", "number", "Unit cost"),
        FieldSpec(
            "hs_product_type",
            "enumeration",
            "Product type",
            options=tuple(HUBSPOT_TO_QBO_TYPE),
        ),
        FieldSpec("hs_object_id", "number", "Record ID", read_only=True),
        FieldSpec("hs_lastmodifieddate", "date", "Last modified date", read_only=True),
    )
}


def field_label(system: System, field_name: str) -> str:
    """A person's name for a vendor field ("Price" for ``price`` and ``UnitPrice``)."""
    table = HUBSPOT_PRODUCT_FIELDS if system == "hubspot" else QBO_ITEM_FIELDS
    spec = table.get(field_name)
    return spec.label if spec and spec.label else field_name


def max_length(system: System, field_name: str) -> int | None:
    """The destination's length limit for a field, when it has one."""
    if system == "hubspot":
        return None  # HubSpot string properties hold far more than any QBO field
    spec = QBO_ITEM_FIELDS.get(field_name)
    return spec.max_length if spec else None
