"""validate_mappings: every problem named, nothing refused that could sync."""

from __future__ import annotations

from dataclasses import replace

import pytest

from workers.catalog.port import FieldSpec
from workers.mapping import (
    DEFAULT_MAPPINGS,
    HUBSPOT_PRODUCT_FIELDS,
    OPTIONAL_MAPPINGS,
    QBO_ITEM_FIELDS,
    FieldMapping,
    MappingInvalid,
    validate_mappings,
)


def problems_of(mappings: tuple[FieldMapping, ...], **hubspot_extra: FieldSpec) -> list[str]:
    hubspot = {**HUBSPOT_PRODUCT_FIELDS, **hubspot_extra}
    with pytest.raises(MappingInvalid) as caught:
        validate_mappings(mappings, hubspot, QBO_ITEM_FIELDS)
    assert str(caught.value) == "; ".join(caught.value.problems)
    assert isinstance(caught.value, ValueError)
    return caught.value.problems


def test_default_and_optional_mappings_are_valid() -> None:
    validate_mappings(DEFAULT_MAPPINGS, HUBSPOT_PRODUCT_FIELDS, QBO_ITEM_FIELDS)
    validate_mappings(DEFAULT_MAPPINGS + OPTIONAL_MAPPINGS, HUBSPOT_PRODUCT_FIELDS, QBO_ITEM_FIELDS)


def test_custom_properties_from_the_live_catalogue_are_accepted() -> None:
    custom = FieldMapping("warehouse_note", "PurchaseDesc", "text")
    hubspot = {**HUBSPOT_PRODUCT_FIELDS, "warehouse_note": FieldSpec("warehouse_note", "string")}
    validate_mappings((*DEFAULT_MAPPINGS, custom), hubspot, QBO_ITEM_FIELDS)


def test_unknown_fields_on_either_side_are_named() -> None:
    problems = problems_of(
        (
            *DEFAULT_MAPPINGS,
            FieldMapping("no_such_property", "PurchaseDesc", "text"),
            FieldMapping("hs_cost_of_goods_sold", "NoSuchElement", "money"),
        )
    )
    assert problems == [
        'HubSpot has no field "no_such_property"',
        'QuickBooks has no field "NoSuchElement"',
    ]


def test_read_only_fields_are_refused_on_both_sides() -> None:
    problems = problems_of(
        (
            *DEFAULT_MAPPINGS,
            FieldMapping("hs_object_id", "PurchaseCost", "money"),
            FieldMapping("hs_cost_of_goods_sold", "FullyQualifiedName", "text"),
        )
    )
    assert 'HubSpot field "hs_object_id" is read-only' in problems
    assert 'QuickBooks field "FullyQualifiedName" is read-only' in problems


@pytest.mark.parametrize(
    ("mapping", "problem"),
    [
        (
            FieldMapping("hs_cost_of_goods_sold", "PurchaseDesc", "money"),
            'the money converter needs a number field, but QuickBooks field "PurchaseDesc"'
            " is a string",
        ),
        (
            FieldMapping("hs_product_type", "PurchaseDesc", "product_type"),
            "the product_type converter needs an enumeration field, but QuickBooks field"
            ' "PurchaseDesc" is a string',
        ),
        (
            FieldMapping("hs_cost_of_goods_sold", "PurchaseDesc", "text"),
            'the text converter needs a string field, but HubSpot field "hs_cost_of_goods_sold"'
            " is a number",
        ),
        (
            FieldMapping("hs_product_type", "Taxable", "text"),
            'the text converter needs a string field, but QuickBooks field "Taxable" is a bool',
        ),
    ],
)
def test_converter_must_suit_the_field_kind(mapping: FieldMapping, problem: str) -> None:
    assert problem in problems_of((*DEFAULT_MAPPINGS, mapping))


def test_missing_sku_mapping_is_refused() -> None:
    no_sku = tuple(m for m in DEFAULT_MAPPINGS if m.converter != "sku")
    assert problems_of(no_sku) == ["the SKU mapping is missing: products are matched by SKU"]


def test_duplicated_sku_mapping_is_refused() -> None:
    extra = {"alt_sku": FieldSpec("alt_sku", "string")}
    second = FieldMapping("alt_sku", "PurchaseDesc", "sku")
    assert "the SKU is mapped more than once" in problems_of((*DEFAULT_MAPPINGS, second), **extra)


def test_sku_mapping_must_use_the_matching_fields() -> None:
    moved = tuple(
        replace(m, quickbooks_field="PurchaseDesc") if m.converter == "sku" else m
        for m in DEFAULT_MAPPINGS
    )
    assert problems_of(moved) == [
        'the SKU mapping must pair "hs_sku" with "Sku", the fields products are matched on'
    ]


def test_a_field_mapped_twice_is_refused() -> None:
    twice = (*DEFAULT_MAPPINGS, FieldMapping("description", "PurchaseDesc", "description"))
    assert problems_of(twice) == ['HubSpot field "description" is mapped 2 times']


def test_quickbooks_name_must_be_mapped_with_the_name_converter() -> None:
    no_name = tuple(m for m in DEFAULT_MAPPINGS if m.converter != "name")
    assert problems_of(no_name)[0].startswith('QuickBooks "Name" must be mapped')
    as_text = tuple(replace(m, converter="text") if m.converter == "name" else m for m in no_name)
    assert problems_of((*as_text, FieldMapping("name", "Name", "text")))[0].startswith(
        'QuickBooks "Name" must be mapped'
    )


def test_unknown_converter_is_named() -> None:
    bogus = FieldMapping("hs_cost_of_goods_sold", "PurchaseCost", "percent")  # type: ignore[arg-type]
    assert problems_of((*DEFAULT_MAPPINGS, bogus)) == ['unknown converter "percent"']


def test_every_problem_is_reported_at_once() -> None:
    broken = (
        FieldMapping("nope", "Name", "name"),
        FieldMapping("price", "UnitPrice", "text"),
    )
    assert len(problems_of(broken)) == 4  # unknown field, 2 kind mismatches, no SKU


def test_qbo_fields_carry_the_documented_limits() -> None:
    assert QBO_ITEM_FIELDS["Name"].max_length == 100
    assert QBO_ITEM_FIELDS["Sku"].max_length == 100
    assert QBO_ITEM_FIELDS["Description"].max_length == 4000
    assert QBO_ITEM_FIELDS["PurchaseDesc"].max_length == 1000
    assert list(QBO_ITEM_FIELDS["Type"].options) == ["Inventory", "NonInventory", "Service"]
    assert QBO_ITEM_FIELDS["UnitPrice"].kind == "number"
