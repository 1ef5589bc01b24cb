"""The HubSpot catalog against the HubSpot emulator over real sockets (§9, 1-16)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import requests

from models.credential import Credential
from models.db import session_scope
from tests.connectors.conftest import HubWorld
from workers.catalog.hubspot import search as hub_search
from workers.errors import (
    AuthRefused,
    QuotaExhausted,
    RateLimited,
    ReauthRequired,
    TransientError,
    ValidationFailed,
)

NOW = datetime.now


def test_01_create_is_an_idempotent_upsert_on_our_unique_write_id(hub: HubWorld) -> None:
    catalog = hub.catalog()
    record = catalog.create(
        {"name": "Widget", "hs_sku": "W-1", "price": Decimal("17.50")}, request_id="c-01"
    )
    assert record.id and record.fields["hs_object_id"] == record.id
    assert record.fields["price"] == "17.50" and record.sku == "W-1"
    assert all(v is None or isinstance(v, str) for v in record.fields.values())
    definition = hub.admin.ledger(path="/crm/v3/properties/products$", method="POST")[-1]["body"]
    assert definition["name"] == "productsync_write_id" and definition["hasUniqueValue"] is True
    [upsert] = hub.ledger(path="batch/upsert")
    assert upsert["body"]["inputs"][0]["idProperty"] == "productsync_write_id"
    assert upsert["body"]["inputs"][0]["id"] == "c-01"


def test_02_update_patches_by_id_and_none_clears(hub: HubWorld) -> None:
    catalog = hub.catalog()
    record = catalog.create(
        {"name": "Lamp", "hs_sku": "L-1", "description": "x"}, request_id="c-02"
    )
    since = hub.admin.last_seq()
    updated = catalog.update(
        record, {"price": Decimal("3.10"), "description": None}, request_id="u-02"
    )
    [patch] = hub.ledger(since)
    assert patch["method"] == "PATCH" and patch["path"].endswith(record.id)
    assert patch["body"] == {"properties": {"price": "3.10", "description": ""}}
    assert updated.fields["price"] == "3.10" and not updated.fields["description"]


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"no_such_property": "1"}, "PROPERTY_DOESNT_EXIST"),
        ({"hs_object_id": "5"}, "READ_ONLY_VALUE"),
        ({"hs_product_type": "gadget"}, "INVALID_OPTION"),
    ],
)
def test_02_03_invalid_writes_are_terminal_with_the_property_code(
    hub: HubWorld, changes: dict[str, str], code: str
) -> None:
    catalog = hub.catalog()
    record = catalog.create({"name": "V", "hs_sku": f"V-{code}"}, request_id=f"c-{code}")
    with pytest.raises(ValidationFailed) as caught:
        catalog.update(record, changes, request_id="u")
    assert caught.value.vendor_code == "VALIDATION_ERROR"
    assert code in caught.value.details["property_errors"]
    assert code in caught.value.message


def test_03_padded_number_is_refused(hub: HubWorld) -> None:
    with pytest.raises(ValidationFailed):
        hub.catalog().create({"name": "Pad", "price": " 12"}, request_id="pad")


def test_04_iter_all_pages_with_limit_100_until_no_paging(hub: HubWorld) -> None:
    hub.admin.vendor("POST", f"hubspot/portals/{hub.portal}/seed", json={"count": 230})
    since = hub.admin.last_seq()
    records = list(hub.catalog().iter_all())
    assert len(records) == len({r.id for r in records}) == 230
    pages = hub.ledger(since)
    assert len(pages) == 3 and all(p["query"]["limit"] == "100" for p in pages)


@pytest.mark.parametrize("body", ["empty", "html", "json"])
def test_05_get_unknown_is_none_whatever_the_404_body(hub: HubWorld, body: str) -> None:
    hub.admin.set_knobs(not_found_body=body)
    assert hub.catalog().get("123456789") is None


def test_06_archived_products_are_gone_except_for_include_inactive(hub: HubWorld) -> None:
    product = hub.add_product(name="Old", hs_sku="OLD-1")
    hub.admin.vendor("DELETE", f"hubspot/portals/{hub.portal}/products/{product['id']}")
    catalog = hub.catalog()
    assert catalog.get(product["id"]) is None
    assert list(catalog.iter_all()) == []
    [archived] = list(catalog.iter_all(include_inactive=True))
    assert archived.id == product["id"] and archived.active is False
    assert catalog.find_by_sku("OLD-1") == []


def test_07_08_get_many_batches_100_and_skips_missing(hub: HubWorld) -> None:
    made = hub.admin.vendor("POST", f"hubspot/portals/{hub.portal}/seed", json={"count": 150})
    ids = [str(i) for i in made["ids"]]
    since = hub.admin.last_seq()
    found = hub.catalog().get_many([*ids, "1", "2"])
    assert set(found) == set(ids)
    calls = sorted(hub.ledger(since), key=lambda c: len(c["body"]["inputs"]))  # sent at once
    assert [len(c["body"]["inputs"]) for c in calls] == [52, 100]
    assert calls[0]["status"] == 207  # missing ids: OBJECT_NOT_FOUND, not an error


def test_09_upsert_by_non_unique_hs_sku_is_never_used(hub: HubWorld) -> None:
    hub.catalog().create({"name": "U", "hs_sku": "U-1"}, request_id="c-09")
    bodies = [e["body"] for e in hub.ledger(path="batch/upsert")]
    assert bodies and all(i["idProperty"] != "hs_sku" for b in bodies for i in b["inputs"])


def test_10_changed_between_splits_windows_past_the_10000_cap(hub: HubWorld) -> None:
    hub.admin.vendor("POST", f"hubspot/portals/{hub.portal}/seed", json={"count": 10_050})
    hub.admin.set_knobs(search_per_second=200)
    with session_scope(hub.database_url) as session:
        row = session.query(Credential).filter_by(account_id=hub.account_id).one()
        row.rate_limits = {"search_per_second": 200}
    try:
        since = hub.admin.last_seq()
        changes = list(hub.catalog().changed_between(NOW(UTC) - timedelta(days=31), NOW(UTC)))
    finally:
        hub.admin.set_knobs(search_per_second=5)
    assert len(changes) == len({c.id for c in changes}) == 10_050
    searches = hub.ledger(since)
    assert {e["status"] for e in searches} == {200}
    assert all(int(e["body"].get("after", 0)) < 10_000 for e in searches)
    assert all(e["body"]["limit"] == 200 for e in searches)
    assert all(isinstance(e["body"]["sorts"][0], dict) for e in searches)


def test_10_one_millisecond_over_the_cap_is_walked_by_object_id(
    hub: HubWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Our cap lowered to 3 stands in for 10,000 products sharing one timestamp.
    monkeypatch.setattr(hub_search, "CAP", 3)
    monkeypatch.setattr(hub_search, "PAGE", 2)
    made = [hub.add_product(name=f"K{n}", hs_sku=f"K-{n}") for n in range(5)]
    stamps = sorted(p["properties"]["hs_lastmodifieddate"] for p in made)
    start = datetime.fromisoformat(stamps[0].replace("Z", "+00:00"))
    end = datetime.fromisoformat(stamps[-1].replace("Z", "+00:00"))
    changes = list(hub.catalog().changed_between(start, end))
    assert sorted(c.id for c in changes) == sorted(p["id"] for p in made)


def test_11_create_answers_from_the_write_not_from_search(hub: HubWorld) -> None:
    hub.admin.set_knobs(search_lag_create_ms=60_000)
    catalog = hub.catalog()
    record = catalog.create({"name": "Fresh", "hs_sku": "F-1"}, request_id="c-11")
    assert record.sku == "F-1"
    assert hub.ledger(kind="search") == []
    assert catalog.find_by_sku("F-1") == []  # the index lags; the engine relies on links


def test_12_search_stays_within_5_per_second(hub: HubWorld) -> None:
    catalog = hub.catalog()
    since = hub.admin.last_seq()
    started = datetime.now(UTC)
    for n in range(7):
        catalog.find_by_sku(f"S-{n}")
    searches = hub.ledger(since, kind="search")
    assert len(searches) == 7 and {e["status"] for e in searches} == {200}
    assert datetime.now(UTC) - started >= timedelta(seconds=1)


def _forbid(hub: HubWorld, path: str) -> None:
    body = {
        "status": "error",
        "message": "missing scopes",
        "correlationId": "c",
        "category": "MISSING_SCOPES",
    }
    hub.admin.add_fault("status", path=path, status=403, body=body)


def _hubspot_429(hub: HubWorld, policy: str, message: str) -> None:
    body = {
        "status": "error",
        "message": message,
        "errorType": "RATE_LIMIT",
        "correlationId": "c-429",
        "policyName": policy,
    }
    hub.admin.add_fault("status", path="/crm/v3/objects/products/", status=429, body=body)


def test_13_ten_secondly_429_is_rate_limited_and_blocks_the_account(hub: HubWorld) -> None:
    _hubspot_429(hub, "TEN_SECONDLY_ROLLING", "You have reached your ten_secondly_rolling limit.")
    with pytest.raises(RateLimited) as caught:
        hub.catalog().get("1")
    assert caught.value.vendor_code == "TEN_SECONDLY_ROLLING" and caught.value.retry_after == 10
    since = hub.admin.last_seq()
    with pytest.raises(RateLimited):
        hub.catalog().get("1")
    assert hub.ledger(since) == []


def test_13_daily_429_parks_until_the_portals_midnight(hub: HubWorld) -> None:
    with session_scope(hub.database_url) as session:
        row = session.query(Credential).filter_by(account_id=hub.account_id).one()
        row.time_zone = "Asia/Tokyo"
    _hubspot_429(hub, "DAILY", "You have reached your daily limit.")
    with pytest.raises(QuotaExhausted) as caught:
        hub.catalog().get("1")
    until = caught.value.until
    assert until is not None
    local = until.astimezone(ZoneInfo("Asia/Tokyo"))
    assert (local.hour, local.minute) == (0, 0)


@pytest.mark.parametrize(
    ("status", "headers", "cls", "wait"),
    [
        (423, {}, TransientError, 2.0),
        (477, {"Retry-After": "30"}, TransientError, 30.0),
        (477, {"Retry-After": "7200"}, QuotaExhausted, None),
        (502, {}, TransientError, None),
        (503, {}, TransientError, None),
        (504, {}, TransientError, None),
        (403, {}, AuthRefused, None),
    ],
)
def test_15_transient_and_refused_statuses_are_classified_and_not_retried(
    hub: HubWorld, status: int, headers: dict[str, str], cls: type, wait: float | None
) -> None:
    hub.admin.add_fault(
        "status",
        path="/crm/v3/objects/products/",
        status=status,
        headers=headers,
        body={"status": "error", "message": "m", "correlationId": "c", "category": "X"},
    )
    since = hub.admin.last_seq()
    with pytest.raises(cls) as caught:
        hub.catalog().get("1")
    assert len(hub.ledger(since)) == 1  # no retry below Celery
    if wait is not None:
        assert caught.value.retry_after == wait


def test_16_oauth_token_is_refreshed_ahead_of_expires_in(
    hubspot_server: object, migrated_db: str, rclient: object
) -> None:
    world = HubWorld(hubspot_server, migrated_db, rclient, oauth=True)  # type: ignore[arg-type]
    with session_scope(migrated_db) as session:
        row = session.query(Credential).filter_by(account_id=world.account_id).one()
        row.access_expires_at = datetime.now(UTC) + timedelta(seconds=60)  # inside the skew
    since = world.admin.last_seq()
    assert world.catalog().get("1") is None
    kinds = [(e["path"], e["status"]) for e in world.admin.ledger(since=since)]
    assert kinds[0] == ("/oauth/v1/token", 200)
    assert kinds[1][1] == 404
    [token_call] = [e for e in world.admin.ledger(since=since) if e["path"] == "/oauth/v1/token"]
    assert "grant_type=refresh_token" in token_call["body"]


def test_16_401_is_not_a_refresh_cue_for_hubspot(hub: HubWorld) -> None:
    hub.admin.vendor("POST", "hubspot/tokens/expire", json={"token": hub.token})
    since = hub.admin.last_seq()
    with pytest.raises(ReauthRequired) as caught:
        hub.catalog().get("1")
    assert caught.value.status == 401 and caught.value.until is not None
    assert [e["kind"] for e in hub.admin.ledger(since=since)] == ["read"]
    assert hub.token not in repr(caught.value.as_record())


def test_sku_lookup_is_exact_and_case_sensitive(hub: HubWorld) -> None:
    wanted = hub.add_product(name="Exact", hs_sku="CASE-Sku")
    hub.add_product(name="Lower", hs_sku="case-sku")
    found = hub.catalog().find_by_sku("CASE-Sku")
    assert [r.id for r in found] == [wanted["id"]]


@pytest.mark.parametrize("sku", ["O'REILLY-1", "BACK\\SLASH", "50%OFF", "UNDER_SCORE", "ÜNÏ-✓"])
def test_tricky_skus_match_exactly(hub: HubWorld, sku: str) -> None:
    wanted = hub.add_product(name="T", hs_sku=sku)
    hub.add_product(name="T2", hs_sku=sku + "x")
    assert [r.id for r in hub.catalog().find_by_sku(sku)] == [wanted["id"]]


def test_unique_hs_sku_is_read_by_id_property_without_search(hub: HubWorld) -> None:
    hub.admin.set_knobs(hs_sku_unique=True)
    wanted = hub.add_product(name="U", hs_sku="UQ-1")
    since = hub.admin.last_seq()
    assert [r.id for r in hub.catalog().find_by_sku("UQ-1")] == [wanted["id"]]
    assert hub.catalog().find_by_sku("UQ-2") == []
    entries = hub.ledger(since)
    assert "search" not in {e["kind"] for e in entries}
    assert all(e["query"].get("idProperty") == "hs_sku" for e in entries if "objects" in e["path"])


def test_lost_create_response_replays_to_the_same_product(hub: HubWorld) -> None:
    catalog = hub.catalog()
    catalog.writable_fields()
    hub.admin.add_fault("lose_response", path="batch/upsert")
    fields = {"name": "Lost", "hs_sku": "LOST-1"}
    with pytest.raises(TransientError) as caught:
        catalog.create(fields, request_id="lost-hub")
    assert caught.value.details["outcome_unknown"] is True
    again = catalog.create(fields, request_id="lost-hub")
    listed = hub.admin.vendor("GET", f"hubspot/portals/{hub.portal}/products")["products"]
    assert [p["id"] for p in listed] == [again.id]


def test_refused_custom_property_falls_back_to_plain_create(
    hub: HubWorld, caplog: pytest.LogCaptureFixture
) -> None:
    _forbid(hub, "/crm/v3/properties/products/productsync_write_id")
    record = hub.catalog().create({"name": "Plain", "hs_sku": "P-1"}, request_id="plain")
    assert record.sku == "P-1"
    assert [e["path"] for e in hub.ledger(kind="write")] == ["/crm/v3/objects/products"]
    assert "NOT idempotent" in caplog.text


def test_writable_fields_come_from_the_properties_api(hub: HubWorld) -> None:
    fields = hub.catalog().writable_fields()
    assert {"name", "price", "hs_sku", "description"} <= set(fields)
    assert "hs_object_id" not in fields and "hs_lastmodifieddate" not in fields
    assert set(fields["hs_product_type"].options) == {"inventory", "non_inventory", "service"}
    since = hub.admin.last_seq()
    hub.catalog().writable_fields()
    assert hub.ledger(since) == []  # cached per process


def test_14_rate_limit_headers_at_zero_pause_the_whole_portal(hub: HubWorld) -> None:
    hub.admin.set_knobs(rate_limit_scale=0.03)  # 3 calls per rolling 10 s
    try:
        catalog = hub.catalog()
        for _ in range(3):
            catalog.get("1")
        assert catalog.caller.budget.blocked_for() > 0.5  # type: ignore[attr-defined]
        [last] = hub.ledger(hub.admin.last_seq() - 1)
        assert last["status"] == 404
    finally:
        hub.admin.set_knobs(rate_limit_scale=1.0)


def test_refused_property_definitions_fall_back_to_search_for_skus(hub: HubWorld) -> None:
    _forbid(hub, "/crm/v3/properties/products/hs_sku$")
    wanted = hub.add_product(name="S", hs_sku="SCOPE-1")
    assert [r.id for r in hub.catalog().find_by_sku("SCOPE-1")] == [wanted["id"]]


def test_search_results_without_hs_sku_are_refused_not_guessed(hub: HubWorld) -> None:
    product = {
        "id": "9",
        "properties": {"name": "x"},
        "createdAt": "2026-01-01T00:00:00Z",
        "updatedAt": "2026-01-01T00:00:00Z",
        "archived": False,
    }
    hub.admin.add_fault(
        "status",
        path="/crm/v3/objects/products/search",
        status=200,
        body={"total": 1, "results": [product]},
        times=2,
    )
    with pytest.raises(ValidationFailed) as caught:
        hub.catalog().find_by_sku("ANY")
    assert caught.value.code == "sku_not_returned"
    with pytest.raises(ValidationFailed) as caught:
        hub.catalog().find_by_skus(["ANY", "OTHER"])
    assert caught.value.code == "sku_not_returned"


def test_write_id_property_created_concurrently_is_used(hub: HubWorld) -> None:
    # Another worker creates the property between our GET (404) and our POST.
    definition = {
        "name": "productsync_write_id",
        "label": "x",
        "type": "string",
        "fieldType": "text",
        "groupName": "productinformation",
        "hasUniqueValue": True,
    }
    made = requests.post(
        f"{hub.server.url}/crm/v3/properties/products",
        json=definition,
        headers={"Authorization": f"Bearer {hub.token}"},
        timeout=5,
    )
    assert made.status_code == 201
    hub.admin.add_fault(
        "status",
        path="/crm/v3/properties/products/productsync_write_id$",
        method="GET",
        status=404,
        body="",
    )
    record = hub.catalog().create({"name": "Race", "hs_sku": "R-1"}, request_id="race")
    assert record.sku == "R-1"
    post = hub.ledger(path="/crm/v3/properties/products$", method="POST")[-1]
    assert post["status"] in (400, 409)
    assert [e["path"] for e in hub.ledger(kind="batch")] == [
        "/crm/v3/objects/products/batch/upsert"
    ]
