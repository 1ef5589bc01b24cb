"""The history table: order, filters, SKU search, stable paging, vendor links; product detail."""

from __future__ import annotations

import re
from html import unescape

from flask.testing import FlaskClient

from console.web import queries
from models.db import session_scope
from tests.web.seed import add_history, add_link, add_run, make_account


def _skus(html: str) -> list[str]:
    """SKUs in the history table, top to bottom."""
    body = html.split("<tbody>", 1)[1].split("</tbody>", 1)[0] if "<tbody>" in html else ""
    return re.findall(r'<td class="sku">\s*<a href="[^"]*">([^<]*)</a>', body)


def test_newest_first_with_every_column(client: FlaskClient, user: str, web_database: str) -> None:
    account = make_account(web_database)
    add_history(web_database, account, minutes=1, sku="OLD-1")
    add_history(
        web_database,
        account,
        minutes=2,
        sku="NEW-1",
        status="failed",
        action="failed",
        error_code="duplicate_name",
        error_message="QuickBooks already has an item named Widget.",
        hubspot_id="9001",
        quickbooks_id="77",
    )
    html = client.get(f"/products?account={account.id}").get_data(as_text=True)
    assert _skus(html) == ["NEW-1", "OLD-1"]
    assert "2026-11-01 12:02:00 UTC" in html
    assert account.name in html
    assert 'badge-failed">failed<' in html
    assert "duplicate_name" in html
    assert "QuickBooks already has an item named Widget." in html
    # Against the emulators the ids are plain text, not links into a vendor web app.
    assert '<code class="vendor-id">9001</code>' in html
    assert '<code class="vendor-id">77</code>' in html


def test_status_action_and_account_filters(
    client: FlaskClient, user: str, web_database: str
) -> None:
    a = make_account(web_database)
    b = make_account(web_database)
    add_history(web_database, a, minutes=1, sku="A-OK")
    add_history(web_database, a, minutes=2, sku="A-BAD", status="failed", action="failed")
    add_history(web_database, a, minutes=3, sku="A-SAME", action="unchanged")
    add_history(web_database, b, minutes=4, sku="B-BAD", status="failed", action="failed")

    def skus(query: str) -> list[str]:
        return _skus(client.get(f"/products?{query}").get_data(as_text=True))

    assert skus(f"account={a.id}&status=failed") == ["A-BAD"]
    assert skus(f"account={a.id}&action=unchanged") == ["A-SAME"]
    assert skus(f"account={a.id}&status=succeeded") == ["A-SAME", "A-OK"]
    assert skus(f"account={b.id}") == ["B-BAD"]
    both_failed = skus("status=failed")
    assert "A-BAD" in both_failed and "B-BAD" in both_failed and "A-OK" not in both_failed


def test_run_filter_shows_what_one_run_did(
    client: FlaskClient, user: str, web_database: str
) -> None:
    account = make_account(web_database)
    run = add_run(web_database, account, status="finished", total=2, done=2, failed=1)
    add_history(web_database, account, minutes=1, sku="IN-RUN-OK", run_id=run.id)
    add_history(web_database, account, minutes=2, sku="IN-RUN-BAD", run_id=run.id, status="failed")
    add_history(web_database, account, minutes=3, sku="POLLED")
    html = client.get(f"/products?run={run.id}").get_data(as_text=True)
    assert _skus(html) == ["IN-RUN-BAD", "IN-RUN-OK"]
    assert f"run #{run.id}</a>" in html
    assert _skus(client.get(f"/products?run={run.id}&status=failed").text) == ["IN-RUN-BAD"]
    run_page = client.get(f"/runs/{run.id}").get_data(as_text=True)
    assert f'href="/products?run={run.id}&amp;status=failed"' in run_page
    assert "1 product(s) failed" in run_page


def test_sku_search_is_exact_and_case_sensitive_or_a_literal_prefix(
    client: FlaskClient, user: str, web_database: str
) -> None:
    account = make_account(web_database)
    for i, sku in enumerate(["WIDGET-1", "widget-1", "WIDGET-10", "WID%GET", "WID_X", "WIDXY"]):
        add_history(web_database, account, minutes=i, sku=sku)

    def skus(sku: str, match: str) -> list[str]:
        query = {"account": account.id, "sku": sku, "match": match}
        return _skus(client.get("/products", query_string=query).get_data(as_text=True))

    assert skus("WIDGET-1", "exact") == ["WIDGET-1"]
    assert skus("widget-1", "exact") == ["widget-1"]
    assert skus("WIDGET-1", "prefix") == ["WIDGET-10", "WIDGET-1"]
    # % and _ in what the user typed are characters of the SKU, never wildcards.
    assert skus("WID%", "prefix") == ["WID%GET"]
    assert skus("WID_", "prefix") == ["WID_X"]
    assert skus(" WIDGET-1", "exact") == []


def test_what_vendors_send_is_shown_as_text_never_as_markup(
    client: FlaskClient, user: str, web_database: str
) -> None:
    account = make_account(web_database)
    evil = '<script>alert("x")</script>'
    add_history(
        web_database, account, sku=evil, status="failed", error_code="x", error_message=evil
    )
    listing = client.get(f"/products?account={account.id}").get_data(as_text=True)
    detail = client.get("/product", query_string={"account": account.id, "sku": evil}).text
    for html in (listing, detail):
        assert "<script>alert" not in html
        assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in html


def test_bad_filters_explain_themselves(client: FlaskClient, user: str) -> None:
    for query in ("status=exploded", "action=nope", "match=fuzzy", "account=abc", "run=x"):
        response = client.get(f"/products?{query}")
        assert response.status_code == 400, query
        assert "Bad Request" in response.get_data(as_text=True)


def test_paging_is_stable_while_new_rows_arrive(
    client: FlaskClient, user: str, web_database: str
) -> None:
    account = make_account(web_database)
    # 120 rows, several sharing a timestamp, so the id breaks ties.
    for i in range(120):
        add_history(web_database, account, minutes=i // 3, sku=f"P-{i:03d}")
    seen: list[str] = []
    html = client.get(f"/products?account={account.id}").get_data(as_text=True)
    pages = 0
    while True:
        pages += 1
        seen += _skus(html)
        # A new attempt lands while the user is paging: it must not shift the pages.
        add_history(web_database, account, minutes=500 + pages, sku=f"LATE-{pages}")
        older = re.search(r'id="older" href="([^"]+)"', html)
        if not older:
            break
        html = client.get(unescape(older.group(1))).get_data(as_text=True)
    assert pages == 3
    assert len(seen) == 120 == len(set(seen))
    assert seen == [f"P-{i:03d}" for i in reversed(range(120))]

    # "Newer" from the last page goes back exactly one page.
    newer = re.search(r'id="newer" href="([^"]+)"', html)
    assert newer
    back = _skus(client.get(unescape(newer.group(1))).get_data(as_text=True))
    assert back == seen[50:100]


def test_keyset_boundaries_survive_a_round_trip() -> None:
    from datetime import UTC, datetime

    b = queries.Boundary(at=datetime(2026, 11, 1, 12, 0, 0, 123456, tzinfo=UTC), id=42)
    assert queries.Boundary.decode(b.encode()) == b
    assert queries.Boundary.decode("garbage") is None
    assert queries.Boundary.decode("99999999999999999999999.1") is None


def test_vendor_links_only_when_talking_to_the_real_vendors(
    client: FlaskClient, user: str, web_database: str, app
) -> None:
    account = make_account(web_database)
    add_history(web_database, account, sku="LINKED", hubspot_id="555", quickbooks_id="66")
    app.config["PRODUCTSYNC_SETTINGS"] = app.config["PRODUCTSYNC_SETTINGS"].replace(
        hubspot_api_base="https://api.hubapi.com",
        quickbooks_api_base="https://sandbox-quickbooks.api.intuit.com",
    )
    html = client.get(f"/products?account={account.id}").get_data(as_text=True)
    assert 'href="https://app.hubspot.com/contacts/12345678/record/0-7/555"' in html
    assert 'href="https://app.sandbox.qbo.intuit.com/app/item?itemId=66"' in html


def test_product_detail_tells_the_whole_story(
    client: FlaskClient, user: str, web_database: str
) -> None:
    account = make_account(web_database)
    run = add_run(web_database, account, status="finished", total=1, done=1)
    sku = "Odd 'SKU'/50% \\ ünï"
    add_link(web_database, account, sku, "9001", "77")
    add_history(
        web_database,
        account,
        minutes=1,
        sku=sku,
        status="failed",
        action="failed",
        error_code="vendor_validation",
        error_message="QuickBooks refused the price.",
        vendor_code="2050",
        run_id=run.id,
        hubspot_id="9001",
    )
    add_history(
        web_database,
        account,
        minutes=2,
        sku=sku,
        action="updated",
        changes={"UnitPrice": ["10.00", "12.50"], "Name": [None, "Widget"]},
        hubspot_id="9001",
        quickbooks_id="77",
    )
    listing = client.get("/products", query_string={"account": account.id, "sku": sku})
    link = re.search(r'<td class="sku">\s*<a href="([^"]+)"', listing.get_data(as_text=True))
    assert link
    page = client.get(unescape(link.group(1)))
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Odd &#39;SKU&#39;/50% \\ ünï" in html
    assert ">9001<" in html and ">77<" in html
    assert "vendor_validation" in html and "QuickBooks refused the price." in html
    assert "vendor 2050" in html
    assert f'href="/runs/{run.id}"' in html
    assert re.search(r"<th>UnitPrice</th><td class=\"before\">10.00</td>.*12.50", html)
    assert html.index("updated") < html.index("vendor_validation")  # newest attempt first
    assert 'id="retry"' in html


def test_unknown_products_and_accounts_say_so(
    client: FlaskClient, user: str, web_database: str
) -> None:
    account = make_account(web_database)
    missing = client.get("/product", query_string={"account": account.id, "sku": "NOPE"})
    assert missing.status_code == 404
    assert "case-sensitive" in missing.get_data(as_text=True)
    assert client.get("/product", query_string={"account": 999999, "sku": "X"}).status_code == 404
    assert client.get("/product", query_string={"account": "x", "sku": "X"}).status_code == 400
    assert client.get(f"/product?account={account.id}").status_code == 400


def test_queries_can_be_called_directly(web_database: str) -> None:
    account = make_account(web_database)
    add_history(web_database, account, sku="DIRECT")
    with session_scope(web_database) as session:
        page = queries.history_page(
            session, queries.HistoryFilter(account_id=account.id, sku="DIRECT")
        )
    assert [r.entry.sku for r in page.rows] == ["DIRECT"]
    assert page.older is None and page.newer is None
