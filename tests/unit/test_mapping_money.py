"""Prices and costs: parsing, limits, rounding, and the HubSpot wire format."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tests.unit.test_mapping_records import (
    TO_HUBSPOT,
    error_of,
    hubspot_record,
    qbo_record,
    to_hubspot,
    to_qbo,
)
from workers.mapping import money_text


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("17", Decimal("17")),
        ("17.00", Decimal("17")),
        ("6000.50", Decimal("6000.5")),
        (" 17.5 ", Decimal("17.5")),
        (".5", Decimal("0.5")),
        ("5.", Decimal("5")),
        ("+3", Decimal("3")),
        ("-0", Decimal("0")),
        ("0", Decimal("0")),
        ("99999999999", Decimal("99999999999")),
        ("0.0000001", Decimal("0.0000001")),
    ],
)
def test_plain_decimal_strings_become_decimals(raw: str, expected: Decimal) -> None:
    value = to_qbo(hubspot_record(price=raw)).fields["UnitPrice"]
    assert isinstance(value, Decimal)
    assert value == expected
    assert str(value) == str(expected) or value.is_zero()


@pytest.mark.parametrize("raw", [None, "", "   "])
def test_empty_price_is_no_price(raw: str | None) -> None:
    assert to_qbo(hubspot_record(price=raw)).fields["UnitPrice"] is None


@pytest.mark.parametrize(
    ("raw", "ending"),
    [
        ("abc", "is not a number."),
        ("NaN", "is not a number."),
        ("Infinity", "is not a number."),
        ("-inf", "is not a number."),
        ("$10", "is not a number."),
        ("1,000", "is not a number."),
        ("10 EUR", "is not a number."),
        ("١٢", "is not a number."),  # Arabic-Indic digits: Decimal() would accept them
        ("1e3", "is not written as a plain number (for example 1000 or 19.99)."),
        ("2.5E-2", "is not written as a plain number (for example 1000 or 19.99)."),
    ],
)
def test_non_numeric_prices_are_refused_naming_field_and_value(raw: str, ending: str) -> None:
    error = error_of(hubspot_record(price=raw))
    assert error.code == "invalid_price"
    assert error.message == f'Price "{raw}" on HubSpot product 512 {ending}'


def test_cost_errors_name_the_cost_field() -> None:
    error = error_of(hubspot_record(hs_cost_of_goods_sold="n/a"))
    assert error.code == "invalid_price"
    assert error.message == 'Unit cost "n/a" on HubSpot product 512 is not a number.'


def test_negative_price_is_refused() -> None:
    error = error_of(hubspot_record(price="-0.01"))
    assert error.code == "negative_price"
    assert error.message == (
        'Price "-0.01" on HubSpot product 512 is negative; prices must be zero or more.'
    )


@pytest.mark.parametrize("raw", ["100000000000", "99999999999.01", "1" * 400])
def test_price_above_quickbooks_limit_is_refused(raw: str) -> None:
    error = error_of(hubspot_record(price=raw))
    assert error.code == "price_too_large"
    assert "99,999,999,999" in error.message


def test_more_than_seven_decimals_round_half_even_with_a_note() -> None:
    mapped = to_qbo(hubspot_record(price="1.12345675"))
    assert mapped.fields["UnitPrice"] == Decimal("1.1234568")  # half-even: 7 → 8
    assert mapped.notes == (
        "Price 1.12345675 rounded to 1.1234568 (QuickBooks keeps 7 decimal places)",
    )
    even = to_qbo(hubspot_record(price="1.12345665")).fields["UnitPrice"]
    assert even == Decimal("1.1234566")  # half-even: 6 stays


def test_rounding_never_happens_twice_on_long_inputs() -> None:
    # 29 significant digits: a 28-digit context would first round to ...665000 and then
    # half-even would give 6; the exact value is above the half, so 7 is right.
    mapped = to_qbo(hubspot_record(price="0.12345665000000000000000000001"))
    assert mapped.fields["UnitPrice"] == Decimal("0.1234567")


def test_seven_decimals_are_kept_without_note() -> None:
    mapped = to_qbo(hubspot_record(price="0.1234567"))
    assert mapped.fields["UnitPrice"] == Decimal("0.1234567")
    assert mapped.notes == ()


@pytest.mark.parametrize(
    ("amount", "text"),
    [
        (Decimal("275"), "275.00"),
        (Decimal("275.000"), "275.00"),
        (Decimal("17.5"), "17.50"),
        (Decimal("1.2345"), "1.2345"),
        (Decimal("0.0000001"), "0.0000001"),
        (Decimal("1E+2"), "100.00"),
        (Decimal("-0"), "0.00"),
        (Decimal("99999999999"), "99999999999.00"),
    ],
)
def test_hubspot_amounts_are_plain_with_at_least_two_decimals(amount: Decimal, text: str) -> None:
    assert money_text(amount) == text
    assert to_hubspot(qbo_record(UnitPrice=amount)).fields["price"] == text


def test_integer_amount_from_quickbooks_is_accepted() -> None:
    assert to_hubspot(qbo_record(UnitPrice=275)).fields["price"] == "275.00"


def test_quickbooks_amounts_obey_the_same_limits() -> None:
    error = error_of(qbo_record(UnitPrice=Decimal("-5")), TO_HUBSPOT)
    assert error.code == "negative_price"
    assert error.message == (
        'Price "-5" on QuickBooks item 7 is negative; prices must be zero or more.'
    )
    assert error_of(qbo_record(PurchaseCost=Decimal("NaN")), TO_HUBSPOT).code == "invalid_price"
