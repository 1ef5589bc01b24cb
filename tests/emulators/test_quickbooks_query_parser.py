"""Unit tests of the QBO query tokenizer and parser (no server)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from emulators.quickbooks.faults import QboFault
from emulators.quickbooks.query_parser import Condition, parse_query, tokenize


def parse_error(text: str) -> str:
    with pytest.raises(QboFault) as caught:
        parse_query(text)
    assert caught.value.code == "4000"
    assert caught.value.errors[0].message == "Error parsing query"
    return caught.value.errors[0].detail


def test_full_grammar_with_every_clause() -> None:
    query = parse_query(
        "SELECT * FROM Item WHERE Sku = 'A-1' AND Active IN (true, false) "
        "AND MetaData.LastUpdatedTime >= '2026-01-01T00:00:00-08:00' AND Name LIKE '%fan%' "
        "ORDERBY Name DESC, Id STARTPOSITION 11 MAXRESULTS 10")
    assert query.entity == "Item" and not query.count
    assert query.conditions == (
        Condition("Sku", "=", ("A-1",), 26),
        Condition("Active", "IN", (True, False), 42),
        Condition("MetaData.LastUpdatedTime", ">=", ("2026-01-01T00:00:00-08:00",), 70),
        Condition("Name", "LIKE", ("%fan%",), 130),
    )
    assert query.order == (("Name", True), ("Id", False))
    assert (query.start_position, query.max_results) == (11, 10)


def test_keywords_are_case_insensitive_and_count_parses() -> None:
    query = parse_query("select count(*) from Item where active = false")
    assert query.count and query.conditions[0].values == (False,)


def test_backslash_escapes_quote_and_backslash() -> None:
    query = parse_query(r"SELECT * FROM Item WHERE Sku IN ('O\'REILLY', 'BACK\\SLASH', '%_')")
    assert query.conditions[0].values == ("O'REILLY", "BACK\\SLASH", "%_")


def test_numbers_are_decimals() -> None:
    assert parse_query("SELECT * FROM Item WHERE Id > 5").conditions[0].values == (Decimal(5),)


def test_select_star_with_extra_fields_is_accepted() -> None:
    assert parse_query("SELECT *, Sku FROM Item").extra_fields == ("Sku",)


def test_or_is_a_parse_error_naming_its_column() -> None:
    detail = parse_error("SELECT * FROM Item WHERE Name = 'a' OR Name = 'b'")
    assert detail.startswith('QueryParserError: Encountered " OR " at line 1, column 37.')


def test_unescaped_quote_is_a_parse_error() -> None:
    parse_error("SELECT * FROM Item WHERE Name = 'O'Brien'")


@pytest.mark.parametrize(
    "text",
    [
        "",
        "SELECT FROM Item",
        "SELECT * Item",
        "SELECT * FROM Item WHERE",
        "SELECT * FROM Item WHERE Name",
        "SELECT * FROM Item WHERE Name != 'x'",
        "SELECT * FROM Item WHERE Name <> 'x'",
        "SELECT * FROM Item WHERE Name = 'x' AND",
        "SELECT * FROM Item WHERE Name IN ()",
        "SELECT * FROM Item WHERE Name IN ('a' 'b')",
        "SELECT * FROM Item WHERE Name LIKE 5",
        "SELECT * FROM Item WHERE Name = x",
        "SELECT * FROM Item MAXRESULTS 10 STARTPOSITION 1",
        "SELECT * FROM Item MAXRESULTS 10 ORDERBY Name",
        "SELECT * FROM Item ORDERBY Name WHERE Name = 'a'",
        "SELECT * FROM Item MAXRESULTS -1",
        "SELECT * FROM Item MAXRESULTS 1.5",
        "SELECT * FROM Item ORDER BY Name",
        "SELECT * FROM Item; DROP TABLE Item",
        "SELECT * FROM Item WHERE Name = 'unterminated",
        "SELECT Name FROM Item",
        "SELECT COUNT(Name) FROM Item",
    ],
)
def test_syntax_errors_are_4000(text: str) -> None:
    parse_error(text)


def test_clause_order_is_fixed() -> None:
    ok = parse_query("SELECT * FROM Item WHERE Active = true ORDERBY Id STARTPOSITION 1 "
                     "MAXRESULTS 5")
    assert ok.max_results == 5
    detail = parse_error("SELECT * FROM Item STARTPOSITION 1 WHERE Active = true")
    assert "column 36" in detail


def test_tokenizer_columns_are_one_based() -> None:
    tokens = tokenize("SELECT * FROM Item")
    assert [(t.kind, t.column) for t in tokens] == [
        ("keyword", 1), ("*", 8), ("keyword", 10), ("name", 15), ("eof", 19)]
