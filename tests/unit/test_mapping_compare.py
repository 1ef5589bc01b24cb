"""changes_needed, fingerprint and creation_fields."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from tests.unit.test_mapping_records import (
    TO_HUBSPOT,
    TO_QBO,
    hubspot_record,
    qbo_record,
    to_hubspot,
    to_qbo,
)
from workers.errors import DataError
from workers.mapping import (
    ItemDefaults,
    Mapped,
    changes_needed,
    creation_fields,
    disambiguated_name,
    fingerprint,
)

DEFAULTS = ItemDefaults(income_account_id="79", expense_account_id="80", asset_account_id="81")

# -- changes_needed toward QuickBooks ----------------------------------------------------


def test_equal_product_needs_no_change() -> None:
    assert changes_needed(qbo_record(), to_qbo(hubspot_record())) == {}


@pytest.mark.parametrize("price", ["275", "275.00", "275.0000000", " 275 "])
def test_amount_representations_are_equal(price: str) -> None:
    current = qbo_record(UnitPrice=Decimal("275"))
    assert changes_needed(current, to_qbo(hubspot_record(price=price))) == {}
    assert changes_needed(qbo_record(UnitPrice=275), to_qbo(hubspot_record(price=price))) == {}


def test_changed_fields_report_before_and_after() -> None:
    mapped = to_qbo(hubspot_record(name="Gadget", price="18.5"))
    assert changes_needed(qbo_record(), mapped) == {
        "Name": ("Widget", "Gadget"),
        "UnitPrice": (Decimal("17"), Decimal("18.5")),
    }


def test_empty_price_equals_quickbooks_absent_or_zero() -> None:
    mapped = to_qbo(hubspot_record(price=""))
    assert changes_needed(qbo_record(UnitPrice=None), mapped) == {}
    assert changes_needed(qbo_record(UnitPrice=Decimal("0")), mapped) == {}


def test_price_cleared_in_source_writes_zero_to_quickbooks() -> None:
    mapped = to_qbo(hubspot_record(price=None))
    assert changes_needed(qbo_record(UnitPrice=Decimal("17")), mapped) == {
        "UnitPrice": (Decimal("17"), Decimal("0"))
    }


def test_description_cleared_in_source_writes_empty_text_to_quickbooks() -> None:
    mapped = to_qbo(hubspot_record(description=""))
    assert changes_needed(qbo_record(Description=None), mapped) == {}
    assert changes_needed(qbo_record(Description="old"), mapped) == {"Description": ("old", "")}


def test_disambiguated_name_in_quickbooks_is_not_a_change() -> None:
    mapped = to_qbo(hubspot_record(name="Widget"))
    current = qbo_record(Name=disambiguated_name("Widget", "W-1"))
    assert changes_needed(current, mapped) == {}
    other = qbo_record(Name="Widget [OTHER]")
    assert changes_needed(other, mapped) == {"Name": ("Widget [OTHER]", "Widget")}


def test_sku_is_compared_exactly() -> None:
    mapped = to_qbo(hubspot_record(hs_sku="w-1"))
    assert changes_needed(qbo_record(Sku="W-1"), mapped) == {"Sku": ("W-1", "w-1")}


def test_unmapped_product_type_leaves_quickbooks_type_alone() -> None:
    mapped = to_qbo(hubspot_record(hs_product_type=None))
    assert changes_needed(qbo_record(Type="Service"), mapped) == {}
    typed = to_qbo(hubspot_record(hs_product_type="service"))
    assert changes_needed(qbo_record(Type="NonInventory"), typed) == {
        "Type": ("NonInventory", "Service")
    }


# -- changes_needed toward HubSpot -------------------------------------------------------


def test_hubspot_amount_strings_compare_numerically() -> None:
    mapped = to_hubspot(qbo_record(UnitPrice=Decimal("17")))
    for stored in ("17", "17.0", "17.00"):
        assert changes_needed(hubspot_record(price=stored), mapped) == {}


def test_hubspot_empty_null_and_missing_are_equal() -> None:
    mapped = to_hubspot(qbo_record(Description=None))
    assert changes_needed(hubspot_record(description=None), mapped) == {}
    assert changes_needed(hubspot_record(description=""), mapped) == {}
    record = hubspot_record()
    missing = type(record)(
        "hubspot",
        "512",
        {k: v for k, v in record.fields.items() if k != "description"},
        record.updated_at,
        sku="W-1",
    )
    assert changes_needed(missing, mapped) == {}


def test_clearing_toward_hubspot_sends_empty_string() -> None:
    mapped = to_hubspot(qbo_record(UnitPrice=None))
    assert changes_needed(hubspot_record(price="17"), mapped) == {"price": ("17", "")}


def test_unreadable_current_amount_is_rewritten() -> None:
    mapped = to_hubspot(qbo_record())
    assert changes_needed(hubspot_record(price="junk"), mapped) == {"price": ("junk", "17.00")}


# -- fingerprint -------------------------------------------------------------------------


def test_fingerprint_is_stable_across_amount_forms_and_empty_forms() -> None:
    a = Mapped("W-1", {"Sku": "W-1", "UnitPrice": Decimal("275"), "Description": ""})
    b = Mapped("W-1", {"Description": None, "UnitPrice": Decimal("275.00"), "Sku": "W-1"})
    assert fingerprint(a) == fingerprint(b)
    assert len(fingerprint(a)) == 64 and int(fingerprint(a), 16) >= 0
    hs_a = Mapped("W-1", {"price": "17"}, converters={"price": "money"})
    hs_b = Mapped("W-1", {"price": "17.00"}, converters={"price": "money"})
    assert fingerprint(hs_a) == fingerprint(hs_b)


def test_fingerprint_changes_with_any_value_or_field() -> None:
    base = fingerprint(to_qbo(hubspot_record()))
    assert fingerprint(to_qbo(hubspot_record(price="17.01"))) != base
    assert fingerprint(to_qbo(hubspot_record(name="Widget 2"))) != base
    assert fingerprint(to_qbo(hubspot_record(hs_sku="W-2"))) != base
    assert fingerprint(to_qbo(hubspot_record(hs_product_type="service"))) != base
    # Known value, so a change of algorithm is a deliberate, visible act.
    assert fingerprint(Mapped("A", {"Sku": "A"})) == (
        "84692b47a662dd0005ab5c70223774319a31c7e89d4a26f6d233670d8800cb23"
    )


# -- creation_fields ---------------------------------------------------------------------


def test_quickbooks_create_adds_type_and_accounts_and_omits_empty_values() -> None:
    mapped = to_qbo(hubspot_record(price="", description=None))
    assert creation_fields(mapped, TO_QBO, DEFAULTS) == {
        "Sku": "W-1",
        "Name": "Widget",
        "Type": "NonInventory",
        "IncomeAccountRef": {"value": "79"},
        "ExpenseAccountRef": {"value": "80"},
    }


def test_mapped_type_wins_over_the_default() -> None:
    mapped = to_qbo(hubspot_record(hs_product_type="service"))
    body = creation_fields(mapped, TO_QBO, DEFAULTS)
    assert body["Type"] == "Service"
    assert "TrackQtyOnHand" not in body and "AssetAccountRef" not in body


def test_inventory_create_carries_quantity_start_date_and_asset_account() -> None:
    mapped = to_qbo(hubspot_record(hs_product_type="inventory"))
    dated = ItemDefaults("79", "80", "81", inventory_start_date=date(2026, 1, 2))
    body = creation_fields(mapped, TO_QBO, dated)
    assert body["Type"] == "Inventory"
    assert body["TrackQtyOnHand"] is True
    assert body["QtyOnHand"] == Decimal(0)
    assert body["InvStartDate"] == "2026-01-02"
    assert body["AssetAccountRef"] == {"value": "81"}


def test_inventory_start_date_defaults_to_today_utc() -> None:
    inventory = ItemDefaults("79", "80", "81", default_type="Inventory")
    body = creation_fields(to_qbo(hubspot_record(hs_product_type=None)), TO_QBO, inventory)
    assert body["InvStartDate"] == datetime.now(UTC).date().isoformat()


def test_inventory_without_asset_account_is_refused() -> None:
    mapped = to_qbo(hubspot_record(hs_product_type="inventory"))
    with pytest.raises(DataError) as caught:
        creation_fields(mapped, TO_QBO, ItemDefaults("79", "80"))
    assert caught.value.code == "inventory_needs_asset_account"
    assert 'SKU "W-1"' in caught.value.message


def test_item_defaults_refuse_impossible_settings() -> None:
    with pytest.raises(ValueError, match="default_type"):
        ItemDefaults("79", "80", default_type="Category")
    with pytest.raises(ValueError, match="account ids"):
        ItemDefaults("", "80")


def test_quickbooks_create_without_defaults_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="ItemDefaults"):
        creation_fields(to_qbo(hubspot_record()), TO_QBO)


def test_hubspot_create_is_the_mapped_properties_without_empty_ones() -> None:
    mapped = to_hubspot(qbo_record(Description=None, Type="Service"))
    assert creation_fields(mapped, TO_HUBSPOT) == creation_fields(mapped, TO_HUBSPOT, DEFAULTS)
    assert creation_fields(mapped, TO_HUBSPOT) == {
        "hs_sku": "W-1",
        "name": "Widget",
        "price": "17.00",
        "hs_product_type": "service",
    }
