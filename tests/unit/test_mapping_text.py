"""SKUs, names, descriptions and product types."""

from __future__ import annotations

import pytest

from tests.unit.test_mapping_records import (
    TO_HUBSPOT,
    error_of,
    hubspot_record,
    qbo_record,
    to_hubspot,
    to_qbo,
)
from workers.mapping import disambiguated_name
from workers.mapping.text import fit, utf16_length

# -- SKU ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "sku",
    ['W"1', "W'1", "W\\1", "50%_OFF", "wIdGeT-001", "Größe-λ-日本", "🙂-1", "A  B", "x" * 100],
)
def test_skus_pass_through_unchanged_in_both_directions(sku: str) -> None:
    assert to_qbo(hubspot_record(hs_sku=sku)).sku == sku
    assert to_qbo(hubspot_record(hs_sku=sku)).fields["Sku"] == sku
    assert to_hubspot(qbo_record(Sku=sku)).fields["hs_sku"] == sku


def test_skus_differing_only_by_case_stay_distinct() -> None:
    lower = to_qbo(hubspot_record(hs_sku="widget-1"))
    upper = to_qbo(hubspot_record(hs_sku="WIDGET-1"))
    assert (lower.sku, upper.sku) == ("widget-1", "WIDGET-1")


@pytest.mark.parametrize("sku", [None, "", "   ", "\t"])
def test_missing_sku_is_refused(sku: str | None) -> None:
    error = error_of(hubspot_record(hs_sku=sku))
    assert error.code == "missing_sku"
    assert error.message == (
        "HubSpot product 512 has no SKU; products are matched by SKU, so it cannot be synced."
    )


def test_sku_read_from_record_when_field_absent() -> None:
    record = hubspot_record()
    fields = {k: v for k, v in record.fields.items() if k != "hs_sku"}
    bare = type(record)("hubspot", "512", fields, record.updated_at, sku="S-9")
    assert to_qbo(bare).sku == "S-9"


@pytest.mark.parametrize("sku", [" W-1", "W-1 ", "W-1\t", "\u00a0W-1"])
def test_sku_with_surrounding_whitespace_is_refused_not_trimmed(sku: str) -> None:
    error = error_of(hubspot_record(hs_sku=sku))
    assert error.code == "sku_whitespace"
    assert "starts or ends with a space" in error.message
    assert error_of(qbo_record(Sku=sku), TO_HUBSPOT).code == "sku_whitespace"


def test_sku_over_100_characters_is_refused_toward_quickbooks() -> None:
    error = error_of(hubspot_record(hs_sku="S" * 101))
    assert error.code == "sku_too_long"
    assert "longer than 100 characters" in error.message
    # An emoji is two UTF-16 units, as QuickBooks (Java) most likely counts.
    assert error_of(hubspot_record(hs_sku="🙂" * 51)).code == "sku_too_long"


# -- name --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "name"),
    [
        ("Widget: Large", "Widget - Large"),
        ("Widget : Large", "Widget - Large"),
        ("Ratio 1:2", "Ratio 1-2"),
        ("a::b", "a--b"),
        ("Line one\nLine two", "Line one Line two"),
        ("Tab\there", "Tab here"),
        ("CR \r\n LF", "CR LF"),
        ("  padded  ", "padded"),
        ("keeps  double  spaces", "keeps  double  spaces"),
        ('ünïcödé "quoted" 50%', 'ünïcödé "quoted" 50%'),
    ],
)
def test_names_are_made_valid_for_quickbooks(raw: str, name: str) -> None:
    assert to_qbo(hubspot_record(name=raw)).fields["Name"] == name


def test_replacing_characters_in_a_name_is_noted() -> None:
    assert to_qbo(hubspot_record(name="A: B")).notes == (
        "Name: tabs, line breaks and colons replaced (QuickBooks does not allow them in names)",
    )
    assert to_qbo(hubspot_record(name="  A B  ")).notes == ()


@pytest.mark.parametrize("raw", [None, "", "   ", "\n\t"])
def test_missing_name_is_refused(raw: str | None) -> None:
    error = error_of(hubspot_record(name=raw))
    assert error.code == "missing_name"
    assert error.message == (
        "HubSpot product 512 has no name; QuickBooks requires a name for every item."
    )


def test_long_name_is_cut_at_a_word_boundary_with_a_note() -> None:
    raw = "Deluxe " * 20  # 140 characters
    mapped = to_qbo(hubspot_record(name=raw))
    assert mapped.fields["Name"] == ("Deluxe " * 14).strip()  # 97 characters, whole words
    assert "Name truncated to 100 characters" in mapped.notes


def test_long_name_without_spaces_is_cut_hard() -> None:
    mapped = to_qbo(hubspot_record(name="N" * 150))
    assert mapped.fields["Name"] == "N" * 100


def test_name_toward_hubspot_is_unchanged() -> None:
    raw = "Any: name\twith " + "x" * 200
    assert to_hubspot(qbo_record(Name=raw)).fields["name"] == raw


def test_fit_never_splits_a_character() -> None:
    assert fit("🙂" * 60, 101, at_word=False) == "🙂" * 50
    assert utf16_length("🙂a") == 3


# -- disambiguated name ------------------------------------------------------------------


def test_disambiguated_name_appends_the_sku() -> None:
    assert disambiguated_name("Widget", "W-1") == "Widget [W-1]"


def test_disambiguated_name_is_idempotent() -> None:
    once = disambiguated_name("Widget", "W-1")
    assert disambiguated_name(once, "W-1") == once


def test_disambiguated_name_fits_100_and_stays_valid() -> None:
    name = disambiguated_name("Long " * 30, "SKU:1\t2")
    assert utf16_length(name) <= 100
    assert name.endswith(" [SKU-1 2]")
    assert ":" not in name and "\t" not in name


def test_disambiguated_name_with_a_huge_sku() -> None:
    name = disambiguated_name("Widget", "S" * 100)
    assert utf16_length(name) <= 100
    assert name.startswith("[SSS") and name.endswith("…]")


# -- description -------------------------------------------------------------------------


def test_long_description_is_truncated_with_a_note() -> None:
    raw = ("word " * 900).strip()  # 4,499 characters
    mapped = to_qbo(hubspot_record(description=raw))
    value = mapped.fields["Description"]
    assert len(value) <= 4000 and value.endswith("word") and raw.startswith(value)
    assert "Description truncated to 4000 characters" in mapped.notes


def test_description_keeps_line_breaks_and_drops_surrounding_space() -> None:
    mapped = to_qbo(hubspot_record(description="  line 1\nline 2: more\n "))
    assert mapped.fields["Description"] == "line 1\nline 2: more"


@pytest.mark.parametrize("raw", [None, "", "  "])
def test_empty_description_is_none_toward_quickbooks(raw: str | None) -> None:
    assert to_qbo(hubspot_record(description=raw)).fields["Description"] is None


def test_description_toward_hubspot_is_unchanged() -> None:
    raw = " x " * 3000
    assert to_hubspot(qbo_record(Description=raw)).fields["description"] == raw


# -- product type ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("hubspot", "quickbooks"),
    [("inventory", "Inventory"), ("non_inventory", "NonInventory"), ("service", "Service")],
)
def test_product_types_map_both_ways(hubspot: str, quickbooks: str) -> None:
    assert to_qbo(hubspot_record(hs_product_type=hubspot)).fields["Type"] == quickbooks
    assert to_hubspot(qbo_record(Type=quickbooks)).fields["hs_product_type"] == hubspot


@pytest.mark.parametrize("raw", [None, ""])
def test_empty_product_type_is_left_out(raw: str | None) -> None:
    assert "Type" not in to_qbo(hubspot_record(hs_product_type=raw)).fields


@pytest.mark.parametrize("raw", ["bundle", "Service", "inventory "])
def test_unknown_hubspot_product_type_is_refused(raw: str) -> None:
    error = error_of(hubspot_record(hs_product_type=raw))
    assert error.code == "unknown_product_type"
    assert error.message.startswith(f'Product type "{raw}" on HubSpot product 512 is not')


@pytest.mark.parametrize("kind", ["Category", "Group", "Bundle", "Other Charge"])
def test_quickbooks_types_without_hubspot_equivalent_are_unsupported(kind: str) -> None:
    # Refused even without a type mapping and before the SKU check: a category has no SKU
    # and is not a product, so "skipped" is the right story, not "missing SKU".
    error = error_of(qbo_record(Type=kind, Sku=None), TO_HUBSPOT)
    assert error.code == "unsupported_type"
    assert error.message == (
        f'Type "{kind}" on QuickBooks item 7 has no HubSpot equivalent; only Inventory,'
        " NonInventory and Service items are synced."
    )
