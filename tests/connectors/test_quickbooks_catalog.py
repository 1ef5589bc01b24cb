"""The QBO catalog against the QBO emulator over real sockets (api-reference §9, 18-32, 34)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from tests.connectors.conftest import QboWorld
from workers.errors import (
    DuplicateName,
    RateLimited,
    StaleObject,
    TransientError,
    ValidationFailed,
)

NOW = datetime.now


def test_18_create_returns_decimal_numbers_and_utc_times(qbo: QboWorld) -> None:
    catalog = qbo.catalog()
    record = catalog.create(
        {"Name": "Rock Fountain", "Sku": "RF-01", "UnitPrice": Decimal("275.10")},
        request_id="create-18",
    )
    assert record.version == "0" and record.sku == "RF-01"
    assert record.fields["UnitPrice"] == Decimal("275.10")
    assert isinstance(record.fields["UnitPrice"], Decimal)
    assert record.updated_at.tzinfo is not None and record.updated_at.utcoffset() == timedelta(0)
    assert abs(record.updated_at - NOW(UTC)) < timedelta(minutes=1)  # offset was converted
    [write] = qbo.ledger(kind="write")
    assert write["query"]["requestid"] == "create-18"
    assert write["body"]["Type"] == "NonInventory"  # account defaults filled in
    assert "AssetAccountRef" not in write["body"]


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({"Sku": "X"}, "2020"),
        ({"Name": "N" * 101}, "2050"),
        ({"Name": "bad", "Type": "Gizmo"}, "2170"),
        ({"Name": "bad-ref", "IncomeAccountRef": {"value": "999"}}, "2500"),
    ],
)
def test_19_create_validation_is_terminal_with_vendor_code(
    qbo: QboWorld, fields: dict[str, object], code: str
) -> None:
    with pytest.raises(ValidationFailed) as caught:
        qbo.catalog().create(fields, request_id=f"bad-{code}")
    assert caught.value.vendor_code == code
    assert code in caught.value.message


def test_20_duplicate_name_names_the_clashing_item(qbo: QboWorld) -> None:
    existing = qbo.add_item(Name="Garden Hose", Sku="GH-1")
    with pytest.raises(DuplicateName) as caught:
        qbo.catalog().create({"Name": "Garden Hose", "Sku": "GH-2"}, request_id="dup-20")
    assert caught.value.vendor_code == "6240"
    assert caught.value.clashing_ids == [existing["Id"]]
    assert existing["Id"] in caught.value.message


def test_21_stale_synctoken_raises_stale_object_and_is_not_retried(qbo: QboWorld) -> None:
    catalog = qbo.catalog()
    record = catalog.create({"Name": "Lamp", "Sku": "L-1"}, request_id="c-21")
    qbo.admin.add_fault("stale_synctoken", path=f"/v3/company/{qbo.realm}/item$", method="POST")
    since = qbo.admin.last_seq()
    with pytest.raises(StaleObject) as caught:
        catalog.update(record, {"Description": "new"}, request_id="u-21")
    assert caught.value.vendor_code == "5010"
    assert len(qbo.ledger(since, kind="write")) == 1  # raised, never retried here
    fresh = catalog.get(record.id)
    assert fresh is not None
    updated = catalog.update(fresh, {"Description": "new"}, request_id="u-21b")
    assert int(updated.version or 0) == int(fresh.version or 0) + 1


def test_22_update_is_sparse_with_current_synctoken(qbo: QboWorld) -> None:
    catalog = qbo.catalog()
    record = catalog.create(
        {"Name": "Chair", "Sku": "CH-1", "Description": "oak", "UnitPrice": Decimal("10")},
        request_id="c-22",
    )
    since = qbo.admin.last_seq()
    updated = catalog.update(record, {"UnitPrice": Decimal("12.34")}, request_id="u-22")
    [write] = qbo.ledger(since, kind="write")
    assert write["body"]["sparse"] is True and write["body"]["SyncToken"] == record.version
    assert set(write["body"]) == {"Id", "SyncToken", "sparse", "UnitPrice"}
    assert write["query"]["requestid"] == "u-22"
    assert updated.fields["Description"] == "oak"  # untouched fields survive
    assert updated.fields["UnitPrice"] == Decimal("12.34")


def test_23_inactive_items_found_only_when_asked(qbo: QboWorld) -> None:
    item = qbo.add_item(Name="Old Thing", Sku="OLD-1")
    qbo.admin.vendor(
        "PATCH", f"quickbooks/realms/{qbo.realm}/items/{item['Id']}", json={"Active": False}
    )
    catalog = qbo.catalog()
    [found] = catalog.find_by_sku("OLD-1", include_inactive=True)
    assert found.active is False
    assert catalog.find_by_sku("OLD-1", include_inactive=False) == []
    assert [r.id for r in catalog.iter_all(include_inactive=True)] == [item["Id"]]
    assert list(catalog.iter_all()) == []


def test_24_get_of_unknown_id_is_none(qbo: QboWorld) -> None:
    assert qbo.catalog().get("424242") is None
    [read] = qbo.ledger(kind="read")
    assert read["status"] == 400  # QBO says 610 with a 400, not 404


@pytest.mark.parametrize(
    "sku",
    [
        "O'REILLY-001",
        "BACK\\SLASH-002",
        "50%OFF-003",
        "UNDER_SCORE-004",
        "ÜNÏCÖDÉ-✓-005",
        "x' OR Name = 'y",
        "tail\\",
        "\\'",
    ],
)
def test_25_sku_with_quotes_backslashes_wildcards_and_unicode_matches_exactly(
    qbo: QboWorld, sku: str
) -> None:
    target = qbo.add_item(Name=f"item {len(sku)} {sku[:3]}", Sku=sku)
    # Near misses that a broken escape or a LIKE would match.
    for n, other in enumerate({sku.lower(), sku.upper(), sku + "X", sku.replace("%", "")}):
        if other != sku:
            qbo.add_item(Name=f"other {n} {len(sku)}", Sku=other)
    since = qbo.admin.last_seq()
    found = qbo.catalog().find_by_sku(sku)
    assert [r.id for r in found] == [target["Id"]]
    [entry] = qbo.ledger(since, kind="query")
    assert entry["status"] == 200
    escaped = sku.replace("\\", "\\\\").replace("'", "\\'")
    assert entry["body"] == (
        f"SELECT * FROM Item WHERE Sku = '{escaped}' AND Active IN (true, false) "
        "STARTPOSITION 1 MAXRESULTS 1000"
    )


def test_25_empty_query_result_is_empty_list(qbo: QboWorld) -> None:
    assert qbo.catalog().find_by_sku("NOTHING-HERE") == []


def test_25_get_many_and_iter_all_page_through(qbo: QboWorld) -> None:
    ids = [qbo.add_item(Name=f"P{n}", Sku=f"P-{n}")["Id"] for n in range(5)]
    catalog = qbo.catalog()
    got = catalog.get_many([*ids, "999999"])
    assert set(got) == set(ids)
    assert [r.id for r in catalog.iter_all()] == sorted(ids, key=int)


def test_26_changed_between_uses_cdc_and_filters_to_window(qbo: QboWorld) -> None:
    start = NOW(UTC) - timedelta(seconds=2)
    a = qbo.add_item(Name="CDC A", Sku="CDC-A")
    b = qbo.add_item(Name="CDC B", Sku="CDC-B")
    since = qbo.admin.last_seq()
    changes = list(qbo.catalog().changed_between(start, NOW(UTC) + timedelta(seconds=2)))
    assert {c.id for c in changes} == {a["Id"], b["Id"]}
    assert all(c.updated_at.tzinfo is not None for c in changes)
    assert [e["kind"] for e in qbo.ledger(since)] == ["cdc"]
    assert (
        list(qbo.catalog().changed_between(start - timedelta(hours=2), start - timedelta(hours=1)))
        == []
    )


def test_26_changed_between_older_than_30_days_falls_back_to_query(qbo: QboWorld) -> None:
    item = qbo.add_item(Name="Old window", Sku="OW-1")
    since = qbo.admin.last_seq()
    changes = list(
        qbo.catalog().changed_between(NOW(UTC) - timedelta(days=40), NOW(UTC) + timedelta(1))
    )
    assert [c.id for c in changes] == [item["Id"]]
    [entry] = qbo.ledger(since)
    assert entry["kind"] == "query"
    assert "MetaData.LastUpdatedTime >=" in entry["body"]
    assert "ORDERBY MetaData.LastUpdatedTime" in entry["body"]


@pytest.mark.parametrize("over_limit", ["truncate", "error"])
def test_26_cdc_at_its_cap_falls_back_to_a_complete_query(qbo: QboWorld, over_limit: str) -> None:
    start = NOW(UTC) - timedelta(seconds=2)
    ids = {qbo.add_item(Name=f"Cap {n}", Sku=f"CAP-{n}")["Id"] for n in range(4)}
    qbo.admin.set_knobs(cdc_max_objects=3, cdc_over_limit=over_limit)
    try:
        catalog = qbo.catalog()
        catalog.cdc_cap = 3  # type: ignore[attr-defined]
        since = qbo.admin.last_seq()
        changes = list(catalog.changed_between(start, NOW(UTC) + timedelta(seconds=2)))
    finally:
        qbo.admin.set_knobs(cdc_max_objects=1000, cdc_over_limit="truncate")
    assert {c.id for c in changes} == ids
    assert [e["kind"] for e in qbo.ledger(since)] == ["cdc", "query"]


def test_28_throttle_429_is_rate_limited_and_blocks_every_worker(qbo: QboWorld) -> None:
    qbo.admin.add_fault(
        "status",
        path=f"/v3/company/{qbo.realm}/query",
        status=429,
        headers={"Retry-After": "3"},
        body={
            "fault": {
                "error": [
                    {
                        "message": "message=ThrottleExceeded; errorCode=003001; statusCode=429",
                        "code": "3001",
                    }
                ],
                "type": "SERVICE",
            }
        },
    )
    catalog = qbo.catalog()
    with pytest.raises(RateLimited) as caught:
        catalog.find_by_sku("T-1")
    assert caught.value.retry_after == 3.0 and caught.value.vendor_code == "3001"
    since = qbo.admin.last_seq()
    with pytest.raises(RateLimited):  # a second worker: refused before sending
        qbo.catalog().find_by_sku("T-1")
    assert qbo.ledger(since) == []


def test_29_expired_access_token_is_refreshed_once_and_replayed(qbo: QboWorld) -> None:
    catalog = qbo.catalog()
    catalog.find_by_sku("warm-up")
    qbo.admin.add_fault("expire_token", path=f"/v3/company/{qbo.realm}/query")
    since = qbo.admin.last_seq()
    assert catalog.find_by_sku("nothing") == []
    kinds = [(e["kind"], e["status"]) for e in qbo.admin.ledger(since=since)]
    assert kinds == [("query", 401), ("auth", 200), ("query", 200)]


def test_31_lost_response_on_create_replays_without_a_duplicate(qbo: QboWorld) -> None:
    qbo.admin.add_fault("lose_response", path=f"/v3/company/{qbo.realm}/item$", method="POST")
    catalog = qbo.catalog()
    fields = {"Name": "Lost Answer", "Sku": "LA-1"}
    with pytest.raises(TransientError) as caught:
        catalog.create(fields, request_id="lost-31")
    assert caught.value.details["outcome_unknown"] is True
    record = catalog.create(fields, request_id="lost-31")  # what the Celery retry does
    assert [r.id for r in catalog.find_by_sku("LA-1")] == [record.id]
    writes = qbo.ledger(kind="write")
    assert [w["query"]["requestid"] for w in writes] == ["lost-31", "lost-31"]


def test_32_minorversion_75_on_every_call(qbo: QboWorld) -> None:
    catalog = qbo.catalog()
    record = catalog.create({"Name": "MV", "Sku": "MV-1"}, request_id="mv")
    catalog.get(record.id)
    catalog.find_by_sku("MV-1")
    list(catalog.changed_between(NOW(UTC) - timedelta(minutes=1), NOW(UTC)))
    entries = qbo.ledger()
    assert len(entries) == 4
    assert all(e["query"].get("minorversion") == "75" for e in entries)


def test_34_writes_answer_from_the_write_response_without_a_read(qbo: QboWorld) -> None:
    catalog = qbo.catalog()
    record = catalog.create({"Name": "No reread", "Sku": "NR-1"}, request_id="nr")
    catalog.update(record, {"Description": "d"}, request_id="nr-u")
    assert [e["kind"] for e in qbo.ledger()] == ["write", "write"]


def test_category_and_group_items_are_returned_as_records(qbo: QboWorld) -> None:
    category = qbo.admin.vendor(
        "POST", f"quickbooks/realms/{qbo.realm}/items", json={"Name": "Tools", "Type": "Category"}
    )["Item"]
    [record] = list(qbo.catalog().iter_all())
    assert record.id == category["Id"] and record.fields["Type"] == "Category"


def test_writable_fields_are_the_mapping_item_fields(qbo: QboWorld) -> None:
    from workers.mapping.fields import QBO_ITEM_FIELDS

    assert qbo.catalog().writable_fields() == QBO_ITEM_FIELDS


def test_both_catalogs_implement_the_port(qbo: QboWorld) -> None:
    from workers.catalog.hubspot import HubSpotCatalog
    from workers.catalog.port import Catalog

    catalog = qbo.catalog()
    assert isinstance(catalog, Catalog) and catalog.sku_field == "Sku"
    assert HubSpotCatalog.sku_field == "hs_sku" and HubSpotCatalog.system == "hubspot"
    for name in (
        "changed_between",
        "iter_all",
        "get",
        "get_many",
        "find_by_sku",
        "create",
        "update",
        "writable_fields",
    ):
        assert callable(getattr(HubSpotCatalog, name))


def test_26_query_fallback_and_iter_all_page_completely(
    qbo: QboWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    from workers.catalog.quickbooks import query

    monkeypatch.setattr(query, "PAGE", 2)  # stands in for MAXRESULTS 1000
    ids = {qbo.add_item(Name=f"Page {n}", Sku=f"PG-{n}")["Id"] for n in range(5)}
    catalog = qbo.catalog()
    since = qbo.admin.last_seq()
    old_start = NOW(UTC) - timedelta(days=40)
    changes = list(catalog.changed_between(old_start, NOW(UTC) + timedelta(seconds=2)))
    assert {c.id for c in changes} == ids and len(changes) == 5
    assert {r.id for r in catalog.iter_all()} == ids
    assert all("MAXRESULTS 2" in e["body"] for e in qbo.ledger(since))


def test_32_items_answered_without_sku_are_refused_not_guessed(qbo: QboWorld) -> None:
    item = {
        "Id": "7",
        "SyncToken": "0",
        "Name": "No Sku",
        "Type": "NonInventory",
        "MetaData": {"LastUpdatedTime": "2026-01-01T00:00:00-08:00"},
    }
    qbo.admin.add_fault(
        "status",
        path=f"/v3/company/{qbo.realm}/query",
        status=200,
        body={"QueryResponse": {"Item": [item]}, "time": "x"},
        times=2,
    )
    with pytest.raises(ValidationFailed) as caught:
        qbo.catalog().find_by_sku("ANY")
    assert caught.value.code == "sku_not_returned"
    with pytest.raises(ValidationFailed) as caught:
        qbo.catalog().find_by_skus(["ANY", "OTHER"])
    assert caught.value.code == "sku_not_returned"
