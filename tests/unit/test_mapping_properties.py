"""Property tests: money survives a round trip, and writing what was mapped ends the diff."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from tests.unit.test_mapping_records import (
    ALL_MAPPINGS,
    TO_HUBSPOT,
    TO_QBO,
    WHEN,
    hubspot_record,
    qbo_record,
    to_hubspot,
    to_qbo,
)
from workers.catalog.port import Record
from workers.mapping import (
    QBO_MONEY_PLACES,
    ItemDefaults,
    changes_needed,
    creation_fields,
    fingerprint,
)
from workers.mapping.text import clean_name

DEFAULTS = ItemDefaults("79", "80", "81", default_type="NonInventory")
MAX = Decimal("99999999999")
FAST = settings(max_examples=150, deadline=None)

amounts = st.decimals(min_value=0, max_value=MAX, places=QBO_MONEY_PLACES, allow_nan=False)


@st.composite
def price_texts(draw: st.DrawFn) -> str:
    """A price as HubSpot may hold it: any plain form of an amount QuickBooks keeps."""
    amount = draw(amounts)
    text = format(amount, "f")
    if "." in text and draw(st.booleans()):
        text = text.rstrip("0").rstrip(".")
    if draw(st.booleans()):
        text += "." + "0" * draw(st.integers(0, 3)) if "." not in text else "00"
    return draw(st.sampled_from(["", "+"])) + text


skus = st.text(min_size=1, max_size=100).filter(lambda s: s.strip() == s and s != "")
names = st.text(min_size=1, max_size=160).filter(lambda s: clean_name(s) != "")
texts = st.one_of(st.none(), st.just(""), st.text(max_size=4500))
prices = st.one_of(st.none(), st.just(""), price_texts())
types = st.sampled_from([None, "", "inventory", "non_inventory", "service"])


def qbo_stores(value: Any, padded: bool) -> Any:
    """A value after QuickBooks stored it and sent it back as a JSON number."""
    if isinstance(value, Decimal):
        stored = Decimal(format(value, "f"))
        return stored.quantize(Decimal(1).scaleb(-QBO_MONEY_PLACES)) if padded else stored
    return value


def as_qbo_item(fields: dict[str, Any], padded: bool) -> Record:
    # QuickBooks returns only elements that have values.
    kept = {k: qbo_stores(v, padded) for k, v in fields.items() if v not in (None, "")}
    return Record("quickbooks", "7", kept, WHEN, version="1", sku=kept.get("Sku"))


def as_hubspot_product(properties: dict[str, Any]) -> Record:
    # HubSpot returns requested-but-empty properties as null.
    kept = {k: (None if v == "" else v) for k, v in properties.items()}
    return Record("hubspot", "512", kept, WHEN, sku=kept.get("hs_sku"))


@FAST
@given(price=price_texts(), cost=price_texts(), padded=st.booleans())
def test_money_round_trip_hubspot_quickbooks_hubspot_has_no_diff(
    price: str, cost: str, padded: bool
) -> None:
    source = hubspot_record(price=price, hs_cost_of_goods_sold=cost)
    in_qbo = as_qbo_item(creation_fields(to_qbo(source), TO_QBO, DEFAULTS), padded)
    back = to_hubspot(in_qbo)
    assert changes_needed(source, back) == {}
    assert Decimal(back.fields["price"]) == Decimal(price)


@FAST
@given(amount=amounts, padded=st.booleans())
def test_money_round_trip_quickbooks_hubspot_quickbooks_has_no_diff(
    amount: Decimal, padded: bool
) -> None:
    source = qbo_record(UnitPrice=qbo_stores(amount, padded))
    in_hubspot = as_hubspot_product(creation_fields(to_hubspot(source), TO_HUBSPOT, DEFAULTS))
    assert changes_needed(source, to_qbo(in_hubspot)) == {}


@FAST
@given(amount=st.decimals(min_value=0, max_value=MAX, places=12, allow_nan=False))
def test_rounding_toward_quickbooks_stays_within_half_a_unit(amount: Decimal) -> None:
    mapped = to_qbo(hubspot_record(price=format(amount, "f")))
    assert abs(mapped.fields["UnitPrice"] - amount) <= Decimal("0.00000005")


@FAST
@given(
    name=names,
    sku=skus,
    description=texts,
    price=prices,
    cost=prices,
    kind=types,
    padded=st.booleans(),
)
def test_create_then_map_again_needs_no_change_toward_quickbooks(
    name: str,
    sku: str,
    description: str | None,
    price: str | None,
    cost: str | None,
    kind: str | None,
    padded: bool,
) -> None:
    source = hubspot_record(
        name=name,
        hs_sku=sku,
        description=description,
        price=price,
        hs_cost_of_goods_sold=cost,
        hs_product_type=kind,
    )
    mapped = to_qbo(source)
    created = as_qbo_item(creation_fields(mapped, TO_QBO, DEFAULTS), padded)
    again = to_qbo(source)
    assert changes_needed(created, again) == {}
    assert fingerprint(again) == fingerprint(mapped)


@FAST
@given(
    name=names,
    description=texts,
    price=prices,
    kind=types,
    old_price=amounts,
    padded=st.booleans(),
)
def test_update_then_map_again_needs_no_change_toward_quickbooks(
    name: str,
    description: str | None,
    price: str | None,
    kind: str | None,
    old_price: Decimal,
    padded: bool,
) -> None:
    source = hubspot_record(name=name, description=description, price=price, hs_product_type=kind)
    current = qbo_record(Name="Old", Description="Old text", UnitPrice=old_price, Type="Service")
    changes = changes_needed(current, to_qbo(source))
    # A sparse update writes exactly the changed fields.
    updated = as_qbo_item(
        {**current.fields, **{f: after for f, (_, after) in changes.items()}}, padded
    )
    assert changes_needed(updated, to_qbo(source)) == {}


@FAST
@given(
    name=st.text(min_size=1, max_size=100),
    sku=skus,
    description=st.one_of(st.none(), st.text(max_size=4000)),
    price=st.one_of(st.none(), amounts),
    kind=st.sampled_from(["Inventory", "NonInventory", "Service"]),
    stale=st.dictionaries(
        st.sampled_from(["name", "description", "price", "hs_product_type"]),
        st.one_of(st.none(), st.just(""), st.text(max_size=20)),
    ),
)
def test_update_then_map_again_needs_no_change_toward_hubspot(
    name: str,
    sku: str,
    description: str | None,
    price: Decimal | None,
    kind: str,
    stale: dict[str, str | None],
) -> None:
    source = qbo_record(Name=name, Sku=sku, Description=description, UnitPrice=price, Type=kind)
    current = as_hubspot_product({**hubspot_record(hs_sku=sku).fields, **stale})
    changes = changes_needed(current, to_hubspot(source))
    updated = as_hubspot_product(
        {**current.fields, **{f: after for f, (_, after) in changes.items()}}
    )
    assert changes_needed(updated, to_hubspot(source)) == {}
    assert all(isinstance(after, str) for _, after in changes.values())


def test_property_strategies_cover_every_mapping() -> None:
    # The generated records exercise every default and optional mapping.
    assert {m.hubspot_field for m in ALL_MAPPINGS} <= set(hubspot_record().fields) | {
        "hs_cost_of_goods_sold"
    }
