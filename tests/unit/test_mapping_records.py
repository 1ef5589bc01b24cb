"""map_product on whole records, plus the record builders the other mapping tests share."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from workers.catalog.port import Record
from workers.errors import DataError, TerminalError
from workers.mapping import DEFAULT_MAPPINGS, OPTIONAL_MAPPINGS, Mapped, map_product
from workers.mapping.validate import MappingInvalid

ALL_MAPPINGS = DEFAULT_MAPPINGS + OPTIONAL_MAPPINGS
TO_QBO = "hubspot_to_quickbooks"
TO_HUBSPOT = "quickbooks_to_hubspot"
WHEN = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def hubspot_record(record_id: str = "512", **properties: str | None) -> Record:
    """A HubSpot product with the default properties, overridden by ``properties``."""
    fields: dict[str, str | None] = {
        "name": "Widget",
        "hs_sku": "W-1",
        "description": "A fine widget",
        "price": "17.00",
        "hs_product_type": "non_inventory",
    }
    fields.update(properties)
    return Record("hubspot", record_id, fields, WHEN, sku=fields.get("hs_sku"))


def qbo_record(record_id: str = "7", **elements: Any) -> Record:
    """A QuickBooks item with typical elements, overridden by ``elements`` (None drops one)."""
    fields: dict[str, Any] = {
        "Name": "Widget",
        "Sku": "W-1",
        "Description": "A fine widget",
        "UnitPrice": Decimal("17"),
        "Type": "NonInventory",
        "Active": True,
    }
    fields.update(elements)
    fields = {k: v for k, v in fields.items() if v is not None}
    return Record("quickbooks", record_id, fields, WHEN, version="0", sku=fields.get("Sku"))


def to_qbo(record: Record, mappings: Any = ALL_MAPPINGS) -> Mapped:
    return map_product(record, mappings, TO_QBO)


def to_hubspot(record: Record, mappings: Any = ALL_MAPPINGS) -> Mapped:
    return map_product(record, mappings, TO_HUBSPOT)


def error_of(record: Record, direction: str = TO_QBO) -> DataError:
    with pytest.raises(DataError) as caught:
        map_product(record, ALL_MAPPINGS, direction)  # type: ignore[arg-type]
    return caught.value


def test_hubspot_product_maps_to_quickbooks_names_and_values() -> None:
    mapped = to_qbo(hubspot_record(hs_cost_of_goods_sold="4.5", hs_product_type="service"))
    assert mapped.sku == "W-1"
    assert mapped.fields == {
        "Sku": "W-1",
        "Name": "Widget",
        "Description": "A fine widget",
        "UnitPrice": Decimal("17"),
        "PurchaseCost": Decimal("4.5"),
        "Type": "Service",
    }
    assert mapped.notes == ()


def test_quickbooks_item_maps_to_hubspot_strings() -> None:
    mapped = to_hubspot(qbo_record(PurchaseCost=Decimal("4.5"), Type="Inventory"))
    assert mapped.fields == {
        "hs_sku": "W-1",
        "name": "Widget",
        "description": "A fine widget",
        "price": "17.00",
        "hs_cost_of_goods_sold": "4.50",
        "hs_product_type": "inventory",
    }
    assert all(isinstance(v, str) for v in mapped.fields.values())


def test_empty_values_toward_hubspot_are_empty_strings() -> None:
    mapped = to_hubspot(qbo_record(Description=None, UnitPrice=None))
    assert mapped.fields["description"] == ""
    assert mapped.fields["price"] == ""


def test_only_mapped_fields_are_produced() -> None:
    mapped = to_qbo(hubspot_record(hs_product_type="service"), DEFAULT_MAPPINGS)
    assert set(mapped.fields) == {"Sku", "Name", "Description", "UnitPrice"}


def test_archived_sources_are_mapped_like_any_other() -> None:
    record = hubspot_record()
    archived = Record("hubspot", record.id, record.fields, WHEN, active=False, sku="W-1")
    assert to_qbo(archived).fields == to_qbo(record).fields


def test_record_from_the_wrong_system_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="cannot be the source"):
        map_product(qbo_record(), ALL_MAPPINGS, TO_QBO)


def test_mappings_without_sku_cannot_map() -> None:
    no_sku = tuple(m for m in DEFAULT_MAPPINGS if m.converter != "sku")
    with pytest.raises(MappingInvalid):
        map_product(hubspot_record(), no_sku, TO_QBO)


def test_data_errors_are_terminal_and_carry_field_and_value() -> None:
    error = error_of(hubspot_record(price="abc"))
    assert isinstance(error, TerminalError)
    assert error.as_record() == {
        "code": "invalid_price",
        "message": 'Price "abc" on HubSpot product 512 is not a number.',
        "system": "hubspot",
        "details": {"field": "price", "value": "abc", "record_id": "512"},
    }


def test_long_or_multiline_values_are_shortened_and_escaped_in_messages() -> None:
    error = error_of(hubspot_record(price="12\n" + "x" * 200))
    assert "\n" not in error.message
    assert '"12\\nxxx' in error.message
    assert len(error.message) < 150
