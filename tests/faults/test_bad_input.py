"""Bad input: every decision in the README's "What gets synced" section, through the
real pipeline. Exact SKU matching (never altered queries, never a third product),
refusals with a code, and documented transformations."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import select

from models import HistoryEntry
from models.db import session_scope
from tests.support import oracle
from tests.support.faults import hubspot_api
from tests.support.stack import Stack, StackAccount
from workers.engine.accounts import set_mappings
from workers.mapping import MappingInvalid
from workers.mapping.fields import DEFAULT_MAPPINGS, FieldMapping

TRICKY_SKUS = [
    "QUOTE-'1\"",
    "BACK\\SLASH\\",
    "PCT%_1",
    "UNDER_SCORE",
    "ÜNÏ-日本-🙂",
    "CaseSku",
    "CASESKU",
    "in side",
]


def _final(acct: StackAccount) -> dict[str | None, HistoryEntry]:
    """The last history row per SKU."""
    out: dict[str | None, HistoryEntry] = {}
    for entry in acct.history():
        out[entry.sku] = entry
    return out


def _codes(acct: StackAccount) -> dict[str | None, str]:
    return {sku: e.error_code or e.action for sku, e in _final(acct).items()}


def test_hubspot_to_quickbooks_bad_input(pipeline: Stack) -> None:
    acct = pipeline.new_account("hubspot_to_quickbooks")
    acct.quickbooks_create(Name="Existing lower", Sku="casesku")  # a third casing
    acct.quickbooks_create(Name="Dst twin A", Sku="DUP-DST")
    acct.quickbooks_create(Name="Dst twin B", Sku="DUP-DST")
    for n, sku in enumerate(TRICKY_SKUS):
        acct.hubspot_create(name=f"Tricky {n}", hs_sku=sku, price="1")
    acct.hubspot_create(name="Lead space", hs_sku=" LEAD", price="1")
    acct.hubspot_create(name="Trail space", hs_sku="TRAIL ", price="1")
    acct.hubspot_create(name="No sku", price="1")
    acct.hubspot_create(name="Src twin A", hs_sku="DUP-SRC", price="1")
    acct.hubspot_create(name="Src twin B", hs_sku="DUP-SRC", price="1")
    acct.hubspot_create(name="Dst clash", hs_sku="DUP-DST", price="1")
    acct.hubspot_create(name="Empty price", hs_sku="P-EMPTY", price="")
    # HubSpot itself refuses words and symbols in number properties; what gets through
    # and is still not a plain number is scientific notation.
    acct.hubspot_create(name="Sci price", hs_sku="P-SCI", price="1e3")
    acct.hubspot_create(name="Negative price", hs_sku="P-NEG", price="-5")
    acct.hubspot_create(name="Precise price", hs_sku="P-PRECISE", price="1.12345675")
    acct.hubspot_create(name="Huge price", hs_sku="P-HUGE", price="100000000000")
    acct.hubspot_create(name="Long " + "word " * 40, hs_sku="N-LONG", price="1")
    acct.hubspot_create(name="Widget: Large", hs_sku="N-COLON", price="1")
    acct.hubspot_create(name="Tab\there\nnew line", hs_sku="N-CTRL", price="1")
    acct.hubspot_create(name="   ", hs_sku="N-EMPTY", price="1")
    acct.hubspot_create(name="Long text", hs_sku="D-LONG", price="1", description="abc " * 1500)

    verdict = oracle.check(pipeline, acct, seeded_skus=["DUP-DST"], timeout=60)
    codes = _codes(acct)
    for sku in TRICKY_SKUS:
        assert codes[sku] == "created", (sku, codes[sku])
    assert codes[" LEAD"] == codes["TRAIL "] == "sku_whitespace"
    assert codes[None] == "missing_sku" or codes.get("") == "missing_sku"
    assert codes["DUP-SRC"] == "duplicate_sku_in_source"
    assert codes["DUP-DST"] == "duplicate_sku_in_destination"
    assert codes["P-SCI"] == "invalid_price"
    assert codes["P-NEG"] == "negative_price"
    assert codes["P-HUGE"] == "price_too_large"
    assert codes["N-EMPTY"] == "missing_name"
    for entry in _final(acct).values():
        if entry.status == "failed":
            assert entry.error_code and len(entry.error_message or "") > 10, entry.sku

    items = {i["Sku"]: i for i in acct.quickbooks_items()}
    # Exact matching: the lower-case item was never touched, no casing got a 2nd item.
    assert items["casesku"]["Name"] == "Existing lower"
    assert sorted(s for s in items if s.lower() == "casesku") == ["CASESKU", "CaseSku", "casesku"]
    assert set(TRICKY_SKUS) <= set(items)
    assert items["P-PRECISE"]["UnitPrice"] == Decimal("1.1234568")
    assert Decimal(str(items["P-EMPTY"].get("UnitPrice") or 0)) == 0
    assert len(items["N-LONG"]["Name"]) <= 100 and items["N-LONG"]["Name"].startswith("Long word")
    assert items["N-COLON"]["Name"] == "Widget - Large"
    assert items["N-CTRL"]["Name"] == "Tab here new line"
    assert 3900 <= len(items["D-LONG"]["Description"]) <= 4000
    for sku in ("P-PRECISE", "N-LONG", "D-LONG"):
        assert _final(acct)[sku].details, sku  # the note saying what was changed
    assert not {" LEAD", "TRAIL ", "DUP-SRC", "P-SCI", "P-NEG", "P-HUGE"} & set(items)
    # Every SKU lookup names the SKU exactly (QBO string literal escaping, no LIKE).
    ledger = pipeline.quickbooks_admin.ledger(account=acct.realm_id, path=r"/query$")
    lookups = [str(e["body"]) for e in ledger if "Sku" in str(e["body"])]
    for sku in TRICKY_SKUS:
        literal = "'" + sku.replace("\\", "\\\\").replace("'", "\\'") + "'"
        assert any(literal in q for q in lookups), (sku, lookups)
    assert not any(" like " in q.lower() for q in lookups)
    assert verdict.by_status()["failed"] >= 10


def test_quickbooks_to_hubspot_exact_skus_never_a_third_product(pipeline: Stack) -> None:
    acct = pipeline.new_account("quickbooks_to_hubspot")
    acct.hubspot_create(name="Existing lower", hs_sku="casesku")
    for n, sku in enumerate(TRICKY_SKUS):
        acct.quickbooks_create(Name=f"Tricky {n}", Sku=sku, UnitPrice=1)
    oracle.check(pipeline, acct, timeout=60)
    codes = _codes(acct)
    assert all(codes[sku] == "created" for sku in TRICKY_SKUS), codes
    products = [p["properties"] for p in acct.hubspot_products()]
    by_sku = {p["hs_sku"]: p for p in products}
    assert by_sku["casesku"]["name"] == "Existing lower"
    assert len(products) == len(TRICKY_SKUS) + 1  # one per SKU, nothing else
    searched = [
        f
        for e in pipeline.hubspot_admin.ledger(account=acct.portal_id, path=r"/search$")
        for group in e["body"]["filterGroups"]
        for f in group["filters"]
        if f["propertyName"] == "hs_sku"
    ]
    # Each SKU asked for as it is (one EQ, or among a batch lookup's IN values), never as
    # a pattern; the client keeps only exact matches (one product per SKU, above).
    assert {f["operator"] for f in searched} <= {"EQ", "IN"}
    asked = {v for f in searched for v in ([f["value"]] if f["operator"] == "EQ" else f["values"])}
    assert set(TRICKY_SKUS) <= asked


def test_unknown_product_type_is_refused(pipeline: Stack) -> None:
    """HubSpot's own product type only has the three known options; an unknown one comes
    from a portal's own choice property mapped to the QuickBooks type."""
    acct = pipeline.new_account("hubspot_to_quickbooks")
    kind = {
        "name": "product_kind",
        "label": "Product kind",
        "type": "enumeration",
        "fieldType": "select",
        "groupName": "productinformation",
        "options": [
            {"label": label, "value": label, "displayOrder": n, "hidden": False}
            for n, label in enumerate(("service", "inventory", "spaceship"))
        ],
    }
    with hubspot_api(pipeline, acct) as http:
        made = http.post(f"{pipeline.hubspot.url}/crm/v3/properties/products", json=kind)
        assert made.status_code == 201, made.text
    ctx = pipeline.context()
    with session_scope(pipeline.database_url) as session:
        set_mappings(
            session,
            acct.id,
            [*DEFAULT_MAPPINGS, FieldMapping("product_kind", "Type", "product_type")],
            hubspot_fields=ctx.catalogs("hubspot", acct.id).writable_fields(),
            quickbooks_fields=ctx.catalogs("quickbooks", acct.id).writable_fields(),
        )
    acct.hubspot_create(name="Odd type", hs_sku="T-ODD", price="1", product_kind="spaceship")
    acct.hubspot_create(name="Service", hs_sku="T-SVC", price="1", product_kind="service")
    oracle.check(pipeline, acct)
    codes = _codes(acct)
    assert codes == {"T-ODD": "unknown_product_type", "T-SVC": "created"}
    [item] = acct.quickbooks_items()
    assert item["Type"] == "Service"


def test_a_mapping_to_a_field_that_does_not_exist_is_refused(pipeline: Stack) -> None:
    acct = pipeline.new_account("hubspot_to_quickbooks")
    ctx = pipeline.context()
    bad = [*DEFAULT_MAPPINGS, FieldMapping("no_such_property", "NoSuchElement", "text")]
    with pytest.raises(MappingInvalid) as refused, session_scope(pipeline.database_url) as s:
        set_mappings(
            s,
            acct.id,
            bad,
            hubspot_fields=ctx.catalogs("hubspot", acct.id).writable_fields(),
            quickbooks_fields=ctx.catalogs("quickbooks", acct.id).writable_fields(),
        )
    text = " ".join(refused.value.problems)
    assert "no_such_property" in text and "NoSuchElement" in text
    with session_scope(pipeline.database_url) as session:
        from models import FieldMappingRow

        stored = session.scalars(
            select(FieldMappingRow.hubspot_field).where(FieldMappingRow.account_id == acct.id)
        ).all()
    assert "no_such_property" not in stored  # nothing changed
