"""QBO query contract tests over real sockets (api-reference §9 item 25, and 23's filter)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.emulators import quickbooks_fixtures
from tests.emulators.quickbooks_fixtures import (
    Qbo,
    decode,
    fault_of,
)

qbo_server, qbo = quickbooks_fixtures.qbo_server, quickbooks_fixtures.qbo  # shared fixtures


def items(qbo: Qbo, sql: str) -> list[dict[str, Any]]:
    response = qbo.query(sql)
    assert response.status_code == 200, response.text
    return decode(response)["QueryResponse"].get("Item", [])


def skus(qbo: Qbo, sql: str) -> list[str]:
    return [i.get("Sku", "") for i in items(qbo, sql)]


@pytest.fixture
def catalog(qbo: Qbo) -> Qbo:
    for n, sku in enumerate(["A-1", "a-1", "O'REILLY", "BACK\\SLASH", "50%OFF", "UNDER_1",
                             "UNDERX1", "CAFÉ-ü"], 1):
        qbo.create(Name=f"Item {n}", Sku=sku, Description=f"desc {n}")
    return qbo


def test_25_equality_on_sku_is_exact_and_escapes_work(catalog: Qbo) -> None:
    assert skus(catalog, "select * from Item where Sku = 'A-1'") == ["A-1"]
    assert skus(catalog, r"select * from Item where Sku = 'O\'REILLY'") == ["O'REILLY"]
    assert skus(catalog, r"select * from Item where Sku = 'BACK\\SLASH'") == ["BACK\\SLASH"]
    assert skus(catalog, "select * from Item where Sku = 'CAFÉ-ü'") == ["CAFÉ-ü"]
    assert skus(catalog, "select * from Item where Sku IN ('A-1', 'UNDER_1')") == [
        "A-1", "UNDER_1"]


def test_25_sku_case_insensitivity_is_a_switch(catalog: Qbo) -> None:
    catalog.knobs(query_ci_fields=["Name", "Sku"])
    assert skus(catalog, "select * from Item where Sku = 'A-1'") == ["A-1", "a-1"]


def test_25_name_equality_ignores_case_by_default(catalog: Qbo) -> None:
    assert [i["Name"] for i in items(catalog, "select * from Item where Name = 'ITEM 3'")] == [
        "Item 3"]


def test_25_like_has_only_the_percent_wildcard(catalog: Qbo) -> None:
    assert skus(catalog, "select * from Item where Sku LIKE 'UNDER_%'") == ["UNDER_1"]
    assert skus(catalog, "select * from Item where Sku LIKE '%OFF'") == ["50%OFF"]
    assert skus(catalog, "select * from Item where Sku LIKE 'A-%'") == ["A-1"]


def test_25_comparisons_and_dates(catalog: Qbo) -> None:
    assert len(items(catalog, "select * from Item where Id > '2' AND Id <= '4'")) == 2
    assert len(items(catalog, "select * from Item where Id >= 7")) == 2
    assert len(items(catalog, "select * from Item where Id < '2'")) == 1
    first = items(catalog, "select * from Item")[0]
    stamp = first["MetaData"]["LastUpdatedTime"]
    assert len(items(catalog, f"select * from Item where MetaData.LastUpdatedTime >= "
                              f"'{stamp}'")) == 8
    assert items(catalog, "select * from Item where MetaData.CreateTime > "
                          "'2999-01-01T00:00:00-08:00'") == []


def test_25_paging_order_and_count(catalog: Qbo) -> None:
    page = decode(catalog.query("select * from Item STARTPOSITION 3 MAXRESULTS 2"))
    response = page["QueryResponse"]
    assert [i["Id"] for i in response["Item"]] == ["3", "4"]
    assert (response["startPosition"], response["maxResults"]) == (3, 2)
    last = decode(catalog.query("select * from Item STARTPOSITION 7 MAXRESULTS 5"))
    assert last["QueryResponse"]["maxResults"] == 2  # the number returned, not asked for
    ordered = items(catalog, "select * from Item ORDERBY Id DESC MAXRESULTS 3")
    assert [i["Id"] for i in ordered] == ["8", "7", "6"]
    by_name = items(catalog, "select * from Item ORDERBY Name")
    assert by_name[0]["Name"] == "Item 1"
    count = decode(catalog.query("select count(*) from Item where Sku LIKE 'UNDER%'"))
    assert count["QueryResponse"] == {"totalCount": 2}


def test_25_default_page_is_100_and_maxresults_clamps_or_errors(qbo: Qbo) -> None:
    qbo.admin.vendor("POST", f"quickbooks/realms/{qbo.realm}/seed", json={"count": 1005})
    assert len(items(qbo, "select * from Item")) == 100
    assert len(items(qbo, "select * from Item MAXRESULTS 2000")) == 1000
    qbo.knobs(maxresults_over_limit="error")
    assert fault_of(qbo.query("select * from Item MAXRESULTS 1001"))["code"] == "4001"


def test_25_empty_result_is_an_empty_query_response(catalog: Qbo) -> None:
    body = decode(catalog.query("select * from Item where Sku = 'nope'"))
    assert body["QueryResponse"] == {} and "time" in body


@pytest.mark.parametrize("field", ["UnitPrice", "IncomeAccountRef", "PurchaseCost", "Colour"])
def test_25_non_filterable_fields_are_4001(catalog: Qbo, field: str) -> None:
    response = catalog.query(f"select * from Item where {field} = '1'")
    assert response.status_code == 400
    error = fault_of(response)
    assert error["code"] == "4001"
    assert f"property '{field}' is not queryable" in error["Detail"]


@pytest.mark.parametrize("sql", [
    "select * from Item where Name = 'a' OR Name = 'b'",
    "select * from Item where Name = 'O'Brien'",
    "select * from Item where",
])
def test_25_syntax_errors_are_4000_over_http(catalog: Qbo, sql: str) -> None:
    response = catalog.query(sql)
    assert response.status_code == 400
    error = fault_of(response)
    assert (error["code"], error["Message"]) == ("4000", "Error parsing query")
    assert error["Detail"].startswith("QueryParserError: Encountered")


def test_25_query_by_post_with_text_body(catalog: Qbo) -> None:
    for content_type in ("application/text", "text/plain"):
        response = catalog.post("/query", data="select * from Item where Sku = 'A-1'",
                                headers={"Content-Type": content_type})
        assert [i["Sku"] for i in decode(response)["QueryResponse"]["Item"]] == ["A-1"]


def test_23_inactive_hidden_unless_active_is_filtered(catalog: Qbo) -> None:
    catalog.post("/item", {"Id": "1", "SyncToken": "0", "sparse": True, "Active": False})
    assert "A-1" not in skus(catalog, "select * from Item")
    assert decode(catalog.query("select count(*) from Item"))["QueryResponse"] == {
        "totalCount": 7}
    assert skus(catalog, "select * from Item where Active = false") == ["A-1"]
    assert len(items(catalog, "select * from Item where Active IN (true, false)")) == 8


def test_accounts_are_queryable_and_readable(qbo: Qbo) -> None:
    response = decode(qbo.query("select * from Account where AccountType = 'Income'"))
    names = [a["Name"] for a in response["QueryResponse"]["Account"]]
    assert names == ["Sales of Product Income", "Services"]
    account = decode(qbo.get("/account/5"))["Account"]
    assert (account["AccountType"], account["AccountSubType"]) == ("Other Current Asset",
                                                                   "Inventory")
    assert fault_of(qbo.get("/account/99"))["code"] == "610"
