"""`Catalog.find_by_skus` against both emulators over real sockets: calls counted on the
ledgers, exact case-sensitive matching whatever the vendor's comparison, and paging."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from tests.connectors.conftest import HubWorld, QboWorld
from workers.catalog.hubspot import search as hub_search
from workers.catalog.port import Record
from workers.catalog.quickbooks import query as qbo_query

TRICKY = ["O'REILLY-1", "BACK\\SLASH", "tail\\", "\\'", "50%OFF", "UNDER_SCORE", "ÜNÏ-✓-ß"]


def ids(found: dict[str, list[Record]]) -> dict[str, list[str]]:
    return {sku: [r.id for r in records] for sku, records in found.items()}


def listed_skus(query_text: str) -> list[str]:
    """The SKUs of a QBO ``Sku IN (…)`` query, unescaped."""
    inner = re.search(r"Sku IN \((.*?)\)(?: AND| ORDERBY| STARTPOSITION)", query_text)
    assert inner is not None, query_text
    return [re.sub(r"\\(.)", r"\1", m) for m in re.findall(r"'((?:[^'\\]|\\.)*)'", inner.group(1))]


def in_values(entry: dict[str, Any]) -> list[str]:
    [group] = entry["body"]["filterGroups"]
    [sku_filter] = group["filters"]
    assert sku_filter["propertyName"] == "hs_sku" and sku_filter["operator"] == "IN"
    return list(sku_filter["values"])


# -- QuickBooks -------------------------------------------------------------------------


@pytest.fixture
def qbo_sku_ci(qbo: QboWorld, request: pytest.FixtureRequest) -> Iterator[bool]:
    """The QBO emulator comparing Sku ignoring case (param True) or exactly (False)."""
    default = qbo.admin.knobs()["query_ci_fields"]
    if request.param:
        qbo.admin.set_knobs(query_ci_fields=[*default, "Sku"])
    yield bool(request.param)
    qbo.admin.set_knobs(query_ci_fields=default)


def test_qbo_150_skus_in_one_query(qbo: QboWorld) -> None:
    qbo.admin.vendor("POST", f"quickbooks/realms/{qbo.realm}/seed", json={"count": 150})
    items = qbo.admin.vendor("GET", f"quickbooks/realms/{qbo.realm}/items")["items"]
    by_sku = {i["Sku"]: i["Id"] for i in items}
    assert len(by_sku) == 150
    asked = [*by_sku, "MISSING-1", next(iter(by_sku))]  # one missing, one asked twice
    since = qbo.admin.last_seq()
    found = qbo.catalog().find_by_skus(asked)
    assert ids(found) == {**{s: [i] for s, i in by_sku.items()}, "MISSING-1": []}
    queries = qbo.ledger(since)
    assert [e["kind"] for e in queries] == ["query"]  # a chunk's SKUs in one statement
    assert [listed_skus(e["body"]) for e in queries] == [asked[:151]]
    assert {e["status"] for e in queries} == {200}
    assert queries[0]["body"].endswith(
        "AND Active IN (true, false) ORDERBY Id STARTPOSITION 1 MAXRESULTS 1000"
    )


def test_qbo_long_skus_are_split_by_the_statement_budget(qbo: QboWorld) -> None:
    """250 SKUs of 100 characters (QBO's longest) would make a 26 KB statement: two."""
    asked = [f"{n:04}".ljust(100, "x") for n in range(250)]
    since = qbo.admin.last_seq()
    assert ids(qbo.catalog().find_by_skus(asked)) == {sku: [] for sku in asked}
    assert [e["status"] for e in qbo.ledger(since)] == [200, 200]
    groups = qbo_query.in_groups(asked)
    assert [sku for group in groups for sku in group] == asked
    assert [len(group) for group in groups] == [192, 58]  # 104 characters each in the list


def test_qbo_empty_input_makes_no_call(qbo: QboWorld) -> None:
    since = qbo.admin.last_seq()
    assert qbo.catalog().find_by_skus([]) == {}
    assert qbo.ledger(since) == []


@pytest.mark.parametrize("qbo_sku_ci", [False, True], indirect=True)
def test_qbo_matches_exactly_and_case_sensitively(qbo: QboWorld, qbo_sku_ci: bool) -> None:
    wanted: dict[str, str] = {}
    for n, sku in enumerate(["ab-1", "AB-1", *TRICKY]):
        wanted[sku] = qbo.add_item(Name=f"wanted {n}", Sku=sku)["Id"]
    # Near misses that a broken escape, a LIKE or a case-blind compare would return.
    for n, other in enumerate(["Ab-1", "ab-1x", "o'reilly-1", "50OFF", "UNDERxSCORE", "üNÏ-✓-ß"]):
        qbo.add_item(Name=f"near {n}", Sku=other)
    catalog = qbo.catalog()
    since = qbo.admin.last_seq()
    found = catalog.find_by_skus([*wanted, "NOPE"])
    assert ids(found) == {**{s: [i] for s, i in wanted.items()}, "NOPE": []}
    [entry] = qbo.ledger(since)
    assert entry["status"] == 200
    assert listed_skus(entry["body"]) == [*wanted, "NOPE"]
    # The setting bites: a case-blind vendor answers near misses the client must drop.
    answered = catalog._query(qbo_query.by_skus(["ab-1"], include_inactive=True))
    assert len(answered) == (3 if qbo_sku_ci else 1)


def test_qbo_include_inactive(qbo: QboWorld) -> None:
    active = qbo.add_item(Name="Active", Sku="ACT-1")
    old = qbo.add_item(Name="Old", Sku="OLD-1")
    qbo.admin.vendor(
        "PATCH", f"quickbooks/realms/{qbo.realm}/items/{old['Id']}", json={"Active": False}
    )
    catalog = qbo.catalog()
    since = qbo.admin.last_seq()
    assert ids(catalog.find_by_skus(["ACT-1", "OLD-1"], include_inactive=False)) == {
        "ACT-1": [active["Id"]],
        "OLD-1": [],
    }
    found = catalog.find_by_skus(["ACT-1", "OLD-1"])
    assert ids(found) == {"ACT-1": [active["Id"]], "OLD-1": [old["Id"]]}
    assert found["OLD-1"][0].active is False
    first, second = qbo.ledger(since)
    assert "Active" not in first["body"]
    assert "Active IN (true, false)" in second["body"]


def test_qbo_items_sharing_a_sku_are_all_returned(qbo: QboWorld) -> None:
    a = qbo.add_item(Name="Dup A", Sku="DUP-1")
    b = qbo.add_item(Name="Dup B", Sku="DUP-1")
    c = qbo.add_item(Name="Single", Sku="ONE-1")
    found = qbo.catalog().find_by_skus(["DUP-1", "ONE-1"])
    assert ids(found) == {"DUP-1": [a["Id"], b["Id"]], "ONE-1": [c["Id"]]}


def test_qbo_full_page_pages_on(qbo: QboWorld, monkeypatch: pytest.MonkeyPatch) -> None:
    # A page of 2 stands in for QBO's 1,000: five items share one SKU.
    monkeypatch.setattr(qbo_query, "PAGE", 2)
    shared = [qbo.add_item(Name=f"Shared {n}", Sku="PG-1")["Id"] for n in range(5)]
    other = qbo.add_item(Name="Other", Sku="PG-2")["Id"]
    since = qbo.admin.last_seq()
    found = qbo.catalog().find_by_skus(["PG-1", "PG-2"])
    assert ids(found) == {"PG-1": shared, "PG-2": [other]}
    starts = [re.search(r"STARTPOSITION (\d+) MAXRESULTS 2$", e["body"]) for e in qbo.ledger(since)]
    assert [int(m.group(1)) for m in starts if m] == [1, 3, 5, 7]


def test_hubspot_150_skus_in_searches_of_100_values(hub: HubWorld) -> None:
    made = hub.admin.vendor("POST", f"hubspot/portals/{hub.portal}/seed", json={"count": 150})
    listed = hub.admin.vendor("GET", f"hubspot/portals/{hub.portal}/products")["products"]
    by_sku = {p["properties"]["hs_sku"]: p["id"] for p in listed}
    assert len(by_sku) == len(made["ids"]) == 150
    assert all(s != s.lower() for s in by_sku)  # each goes out twice: 50 SKUs per search
    asked = [*by_sku, "MISSING-1", next(iter(by_sku))]
    catalog = hub.catalog()
    since = hub.admin.last_seq()
    found = catalog.find_by_skus(asked)
    assert ids(found) == {**{s: [i] for s, i in by_sku.items()}, "MISSING-1": []}
    entries = hub.ledger(since)
    # The first SKU lookup of a process reads hs_sku's definition (unique or not).
    assert [e["kind"] for e in entries] == ["read", "search", "search", "search", "search"]
    searches = entries[1:]
    assert [len(in_values(e)) for e in searches] == [100, 100, 100, 2]
    sent = [v for e in searches for v in in_values(e)]
    assert sent == [v for s in asked[:151] for v in (s, s.lower())]
    assert all(e["body"]["limit"] == 200 for e in searches)

    # SKUs equal to their lower-case form go out once: 100 per search.
    lower = [f"lc-{n}" for n in range(150)]
    since = hub.admin.last_seq()
    assert ids(catalog.find_by_skus(lower)) == {s: [] for s in lower}
    assert [len(in_values(e)) for e in hub.ledger(since)] == [100, 50]


def test_hubspot_empty_input_makes_no_call(hub: HubWorld) -> None:
    since = hub.admin.last_seq()
    assert hub.catalog().find_by_skus([]) == {}
    assert hub.ledger(since) == []


@pytest.mark.parametrize("case_insensitive", [True, False])
def test_hubspot_matches_exactly_and_case_sensitively(
    hub: HubWorld, case_insensitive: bool
) -> None:
    hub.admin.set_knobs(search_eq_case_insensitive=case_insensitive)
    wanted = {sku: hub.add_product(name="W", hs_sku=sku)["id"] for sku in ["ab-1", "AB-1", *TRICKY]}
    for other in ["Ab-1", "ab-1x", "o'reilly-1", "50OFF", "UNDERxSCORE", "üNÏ-✓-ß"]:
        hub.add_product(name="near", hs_sku=other)
    since = hub.admin.last_seq()
    found = hub.catalog().find_by_skus([*wanted, "NOPE"])
    assert ids(found) == {**{s: [i] for s, i in wanted.items()}, "NOPE": []}
    [search_call] = hub.ledger(since, kind="search")
    assert set(in_values(search_call)) == {v for s in [*wanted, "NOPE"] for v in (s, s.lower())}


def test_hubspot_products_sharing_a_sku_are_all_returned(hub: HubWorld) -> None:
    a = hub.add_product(name="A", hs_sku="DUP-1")["id"]
    b = hub.add_product(name="B", hs_sku="DUP-1")["id"]
    c = hub.add_product(name="C", hs_sku="ONE-1")["id"]
    found = hub.catalog().find_by_skus(["DUP-1", "ONE-1", "DUP-1"])
    assert ids(found) == {"DUP-1": sorted([a, b], key=int), "ONE-1": [c]}


def test_hubspot_unique_sku_is_batch_read_by_id_property(hub: HubWorld) -> None:
    hub.admin.set_knobs(hs_sku_unique=True)
    hub.admin.vendor("POST", f"hubspot/portals/{hub.portal}/seed", json={"count": 150})
    listed = hub.admin.vendor("GET", f"hubspot/portals/{hub.portal}/products")["products"]
    by_sku = {p["properties"]["hs_sku"]: p["id"] for p in listed}
    lower = hub.add_product(name="lower", hs_sku="uq-1")["id"]
    upper = hub.add_product(name="upper", hs_sku="UQ-1")["id"]
    asked = [*by_sku, "uq-1", "UQ-1", "MISSING-1"]
    since = hub.admin.last_seq()
    found = hub.catalog().find_by_skus(asked)
    assert ids(found) == {
        **{s: [i] for s, i in by_sku.items()},
        "uq-1": [lower],
        "UQ-1": [upper],
        "MISSING-1": [],
    }
    entries = hub.ledger(since)
    assert [e["kind"] for e in entries] == ["read", "batch", "batch"]
    reads = entries[1:]
    assert all(e["path"].endswith("/batch/read") for e in reads)
    assert all(e["body"]["idProperty"] == "hs_sku" for e in reads)
    assert [[i["id"] for i in e["body"]["inputs"]] for e in reads] == [asked[:100], asked[100:]]
    assert reads[-1]["status"] == 207  # the missing SKU: OBJECT_NOT_FOUND, not an error


def test_hubspot_search_over_the_cap_is_split(
    hub: HubWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Our cap lowered to 3 (pages of 2) stands in for 10,000 matches of one search.
    monkeypatch.setattr(hub_search, "CAP", 3)
    monkeypatch.setattr(hub_search, "PAGE", 2)
    made = {s: [hub.add_product(name=s, hs_sku=s)["id"] for _ in range(2)] for s in ["A", "B"]}
    catalog = hub.catalog()
    since = hub.admin.last_seq()
    assert ids(catalog.find_by_skus(["A", "B"])) == made
    searches = hub.ledger(since, kind="search")
    assert [in_values(e) for e in searches] == [["A", "a", "B", "b"], ["A", "a"], ["B", "b"]]
    assert {e["status"] for e in searches} == {200}

    # One SKU over the cap cannot be split: as many as search gives, like find_by_sku.
    shared = [hub.add_product(name="C", hs_sku="C")["id"] for _ in range(5)]
    since = hub.admin.last_seq()
    found = catalog.find_by_skus(["C"])["C"]
    assert [r.id for r in found] == shared[:4]
    assert [r.id for r in found] == [r.id for r in catalog.find_by_sku("C")]
    assert all(int(e["body"].get("after", 0)) < 3 for e in hub.ledger(since, kind="search"))


def test_hubspot_archived_products_are_not_found(hub: HubWorld) -> None:
    product = hub.add_product(name="Old", hs_sku="OLD-1")
    hub.admin.vendor("DELETE", f"hubspot/portals/{hub.portal}/products/{product['id']}")
    catalog = hub.catalog()
    assert catalog.find_by_skus(["OLD-1"]) == {"OLD-1": []}
    assert catalog.find_by_skus(["OLD-1"], include_inactive=False) == {"OLD-1": []}
