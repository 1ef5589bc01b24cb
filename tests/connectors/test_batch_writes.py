"""`Catalog.write_many` against the emulators over real sockets: QBO ``/batch`` of 30,
HubSpot ``batch/upsert`` and ``batch/update`` of 100 (api-reference §1.3, §2.8; checklist
7, 9, 27, 31). What each call costs is read from the emulators' ledgers."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from tests.connectors.conftest import HubWorld, QboWorld
from workers.catalog.hubspot.records import WRITE_ID
from workers.catalog.port import Record, Write
from workers.errors import (
    DataError,
    DuplicateName,
    NotFound,
    StaleObject,
    SyncError,
    TransientError,
    ValidationFailed,
)

INVALID_PRICE_BODY = {
    "status": "error",
    "message": 'Property values were not valid: [{"isValid":false,"message":"abc is not a '
    'valid number","error":"INVALID_FLOAT","name":"price"}]',
    "correlationId": "c-400",
    "category": "VALIDATION_ERROR",
}


def sent_bodies(catalog: Any, monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """What ``catalog`` hands its caller, in order (the ledger keeps only 4 KB of a body);
    every call still goes to the emulator."""
    sent: list[dict[str, Any]] = []
    real = catalog.caller.call

    def call(method: str, path: str, **kw: Any) -> Any:
        sent.append({"method": method, "path": path, **kw})
        return real(method, path, **kw)

    monkeypatch.setattr(catalog.caller, "call", call)
    return sent


def records(results: dict[str, Record | SyncError]) -> dict[str, Record]:
    return {k: v for k, v in results.items() if isinstance(v, Record)}


def unknown_outcome(error: Record | SyncError) -> bool:
    return isinstance(error, TransientError) and error.details.get("outcome_unknown") is True


# -- QuickBooks -----------------------------------------------------------------------------


def qbo_items(qbo: QboWorld) -> list[dict[str, Any]]:
    return qbo.admin.vendor("GET", f"quickbooks/realms/{qbo.realm}/items")["items"]


def batch_window(qbo: QboWorld) -> int:
    """Requests the shared rate budget counted as QBO batches (120/min per realm)."""
    return int(qbo.redis.zcard(f"rl:{{quickbooks:{qbo.realm}}}:w:batch"))


def test_qbo_45_mixed_writes_are_two_batches(
    qbo: QboWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    old = [qbo.add_item(Name=f"Old {n}", Sku=f"OLD-{n}") for n in range(15)]
    catalog = qbo.catalog()
    current = catalog.get_many([i["Id"] for i in old])
    creates = [
        Write(
            f"c{n}",
            {"Name": f"New {n}", "Sku": f"NEW-{n}", "UnitPrice": Decimal(f"{n}.25")},
            f"rc-{n}",
        )
        for n in range(30)
    ]
    updates = [
        Write(
            f"u{n}",
            {"Description": f"d{n}", "UnitPrice": Decimal("9.90")},
            f"ru-{n}",
            current[i["Id"]],
        )
        for n, i in enumerate(old)
    ]
    since, counted = qbo.admin.last_seq(), batch_window(qbo)
    calls = sent_bodies(catalog, monkeypatch)

    results = catalog.write_many(creates + updates)

    assert set(records(results)) == {w.key for w in creates + updates}
    entries = qbo.ledger(since)
    assert [e["kind"] for e in entries] == ["batch", "batch"]
    assert [c["op"] for c in calls] == ["batch", "batch"]
    assert batch_window(qbo) - counted == 2  # budgeted as batches, not plain requests
    assert sorted(len(c["json_body"]["BatchItemRequest"]) for c in calls) == [15, 30]
    ids = [e["query"]["requestid"] for e in entries]
    assert len(set(ids)) == 2 and all(e["query"]["minorversion"] == "75" for e in entries)
    sent = [i for c in calls for i in c["json_body"]["BatchItemRequest"]]
    for item in (i["Item"] for i in sent if i["operation"] == "create"):
        assert item["Type"] == "NonInventory" and "AssetAccountRef" not in item  # as `create`
    for item in (i["Item"] for i in sent if i["operation"] == "update"):
        assert set(item) == {"Id", "SyncToken", "sparse", "Description", "UnitPrice"}
        assert item["sparse"] is True
    stored = catalog.get_many([r.id for r in records(results).values()])
    for n in range(30):
        made = stored[results[f"c{n}"].id]  # type: ignore[union-attr]
        assert made.sku == f"NEW-{n}" and made.fields["UnitPrice"] == Decimal(f"{n}.25")
    for n, item in enumerate(old):
        changed = stored[item["Id"]]
        assert changed.fields["Description"] == f"d{n}" and changed.fields["Name"] == f"Old {n}"
        assert changed.version == str(int(current[item["Id"]].version or 0) + 1)
        assert results[f"u{n}"].version == changed.version  # type: ignore[union-attr]


def test_qbo_duplicate_name_fails_only_its_item_with_the_clashing_id(qbo: QboWorld) -> None:
    existing = qbo.add_item(Name="Garden Hose", Sku="GH-1")
    results = qbo.catalog().write_many(
        [
            Write("dup", {"Name": "Garden Hose", "Sku": "GH-2"}, "dn-1"),
            Write("rake", {"Name": "Rake", "Sku": "RK-1"}, "dn-2"),
            Write("spade", {"Name": "Spade", "Sku": "SP-1"}, "dn-3"),
        ]
    )
    dup = results["dup"]
    assert isinstance(dup, DuplicateName) and dup.vendor_code == "6240"
    assert dup.clashing_ids == [existing["Id"]] and existing["Id"] in dup.message
    assert set(records(results)) == {"rake", "spade"}
    assert sorted(i["Sku"] for i in qbo_items(qbo)) == ["GH-1", "RK-1", "SP-1"]


def test_qbo_stale_synctoken_fails_only_its_update(qbo: QboWorld) -> None:
    catalog = qbo.catalog()
    lamp = catalog.create({"Name": "Lamp", "Sku": "L-1"}, request_id="st-c1")
    desk = catalog.create({"Name": "Desk", "Sku": "D-1"}, request_id="st-c2")
    catalog.update(lamp, {"Description": "edited meanwhile"}, request_id="st-u0")
    results = catalog.write_many(
        [
            Write("stale", {"Description": "mine"}, "st-u1", current=lamp),
            Write("desk", {"Description": "oak"}, "st-u2", current=desk),
            Write("chair", {"Name": "Chair", "Sku": "C-1"}, "st-c3"),
        ]
    )
    stale = results["stale"]
    assert isinstance(stale, StaleObject) and stale.vendor_code == "5010"
    assert set(records(results)) == {"desk", "chair"}
    assert results["desk"].fields["Description"] == "oak"  # type: ignore[union-attr]
    assert catalog.get(lamp.id).fields["Description"] == "edited meanwhile"  # type: ignore[union-attr]


def test_qbo_lost_batch_answer_is_replayed_and_creates_nothing_new(qbo: QboWorld) -> None:
    catalog = qbo.catalog()
    kept = catalog.create({"Name": "Kept", "Sku": "K-1"}, request_id="lb-k")
    writes = [Write(f"c{n}", {"Name": f"Lost {n}", "Sku": f"LB-{n}"}, f"lb-{n}") for n in range(5)]
    writes.append(Write("u", {"Description": "after"}, "lb-u", current=kept))
    qbo.admin.add_fault("lose_response", path=f"/v3/company/{qbo.realm}/batch$", method="POST")

    first = catalog.write_many(writes)
    assert set(first) == {w.key for w in writes}
    assert all(unknown_outcome(e) for e in first.values())
    made = len(qbo_items(qbo))

    again = catalog.write_many(list(reversed(writes)))  # the order does not matter

    assert set(records(again)) == {w.key for w in writes}
    skus = sorted(i["Sku"] for i in qbo_items(qbo))
    assert len(skus) == made == 6 and skus == ["K-1", *(f"LB-{n}" for n in range(5))]
    assert again["u"].fields["Description"] == "after"  # type: ignore[union-attr]
    [lost, replayed] = qbo.ledger(kind="batch")
    assert lost["query"]["requestid"] == replayed["query"]["requestid"]


def test_qbo_5xx_fails_each_item_of_its_call_and_later_calls_still_run(qbo: QboWorld) -> None:
    fault = {"Error": [{"code": "10000", "Message": "An application error"}], "type": "SystemFault"}
    qbo.admin.add_fault(
        "status",
        path=f"/v3/company/{qbo.realm}/batch$",
        method="POST",
        status=503,
        body={"Fault": fault},
    )
    writes = [
        Write(f"c{n}", {"Name": f"Five {n}", "Sku": f"FX-{n}"}, f"fx-{n:02}") for n in range(35)
    ]
    results = qbo.catalog().write_many(writes)
    # The two calls go at once: whichever arrives first meets the fault.
    failed = [e for e in results.values() if isinstance(e, TransientError)]
    assert len(failed) in (30, 5) and all(e.status == 503 for e in failed)
    assert len(records(results)) == 35 - len(failed) and len(results) == 35
    assert sorted(e["status"] for e in qbo.ledger(kind="batch")) == [200, 503]
    assert len(qbo_items(qbo)) == 35 - len(failed)


@pytest.mark.parametrize("fine", [1, 4])
def test_qbo_an_unsendable_item_fails_alone(qbo: QboWorld, fine: int) -> None:
    writes = [Write("float", {"Name": "Float", "Sku": "F-1", "UnitPrice": 1.5}, "us-1")]
    writes += [
        Write(f"fine{n}", {"Name": f"Fine {fine}{n}", "Sku": f"F-{fine}{n}",
                           "UnitPrice": Decimal("1.50")}, f"us-{fine}{n}")
        for n in range(fine)
    ]  # fmt: skip
    results = qbo.catalog().write_many(writes)
    assert isinstance(results["float"], DataError)
    assert set(records(results)) == {f"fine{n}" for n in range(fine)}
    if fine == 1:  # fewer than four writes: one call each, never a batch of one
        assert qbo.ledger(kind="batch") == [] and len(qbo.ledger(kind="write")) == 1
    else:
        [call] = qbo.ledger(kind="batch")
        assert len(call["body"]["BatchItemRequest"]) == fine


# -- HubSpot --------------------------------------------------------------------------------


def hub_products(hub: HubWorld) -> list[dict[str, Any]]:
    return hub.admin.vendor("GET", f"hubspot/portals/{hub.portal}/products")["products"]


def batch_paths(hub: HubWorld, since: int) -> list[str]:
    return [e["path"].rsplit("/", 1)[-1] for e in hub.ledger(since, kind="batch")]


def test_hubspot_150_creates_are_two_upserts(
    hub: HubWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    catalog = hub.catalog()
    writes = [
        Write(f"k{n}", {"name": f"P{n}", "hs_sku": f"B-{n}", "price": Decimal(f"{n}.50")}, f"r{n}")
        for n in range(150)
    ]
    since = hub.admin.last_seq()
    sent = sent_bodies(catalog, monkeypatch)

    results = catalog.write_many(writes)

    made = records(results)
    assert set(made) == {w.key for w in writes}
    assert batch_paths(hub, since) == ["upsert", "upsert"]
    calls = [c for c in sent if c["path"].endswith("batch/upsert")]
    assert sorted(len(c["json_body"]["inputs"]) for c in calls) == [50, 100]
    inputs = [i for c in calls for i in c["json_body"]["inputs"]]
    assert {i["objectWriteTraceId"] for i in inputs} == set(made)
    assert {i["idProperty"] for i in inputs} == {WRITE_ID}
    assert {i["id"] for i in inputs} == {w.request_id for w in writes}
    for n in range(150):
        assert made[f"k{n}"].sku == f"B-{n}" and made[f"k{n}"].fields["price"] == f"{n}.50"
        assert made[f"k{n}"].fields["description"] is None  # completed like `create`
    stored = {p["properties"]["hs_sku"]: p["id"] for p in hub_products(hub)}
    assert len(stored) == 150
    assert all(stored[f"B-{n}"] == made[f"k{n}"].id for n in range(150))


def test_hubspot_creates_and_updates_are_one_call_each(hub: HubWorld) -> None:
    catalog = hub.catalog()
    old = [hub.add_product(name=f"Old {n}", hs_sku=f"O-{n}", description="x") for n in range(30)]
    current = catalog.get_many([p["id"] for p in old])
    creates = [
        Write(f"c{n}", {"name": f"New {n}", "hs_sku": f"N-{n}"}, f"rc{n}") for n in range(30)
    ]
    updates = [
        Write(f"u{n}", {"price": Decimal("3.10")}, f"ru{n}", current[p["id"]])
        for n, p in enumerate(old)
    ]
    since = hub.admin.last_seq()

    results = catalog.write_many(updates + creates)

    assert set(records(results)) == {w.key for w in creates + updates}
    # (The first create of a process also checks our write-id property: not a product call.)
    products = [e["kind"] for e in hub.ledger(since) if "/objects/" in e["path"]]
    assert products == ["batch", "batch"]
    assert sorted(batch_paths(hub, since)) == ["update", "upsert"]
    for n, product in enumerate(old):
        written = results[f"u{n}"]
        assert isinstance(written, Record) and written.id == product["id"]
        assert written.fields["price"] == "3.10" and written.fields["description"] == "x"
    stored = catalog.get_many([p["id"] for p in old])
    assert {r.fields["price"] for r in stored.values()} == {"3.10"}
    assert len(hub_products(hub)) == 60


def test_hubspot_a_bad_input_costs_only_itself(hub: HubWorld) -> None:
    catalog = hub.catalog()
    gone = hub.add_product(name="Gone", hs_sku="G-1")
    kept = hub.add_product(name="Kept", hs_sku="K-1")
    current = catalog.get_many([gone["id"], kept["id"]])
    hub.admin.vendor("DELETE", f"hubspot/portals/{hub.portal}/products/{gone['id']}")
    writes = [
        Write("bad-price", {"name": "Bad", "hs_sku": "BP-1", "price": "abc"}, "bi-1"),
        Write("ok-1", {"name": "Ok 1", "hs_sku": "OK-1"}, "bi-2"),
        Write("ok-2", {"name": "Ok 2", "hs_sku": "OK-2"}, "bi-3"),
        Write("unknown-prop", {"no_such_property": "1"}, "bi-4", current[kept["id"]]),
        Write("archived", {"description": "late"}, "bi-5", current[gone["id"]]),
        Write("ok-3", {"description": "fine"}, "bi-6", current[kept["id"]]),
    ]
    since = hub.admin.last_seq()
    # One product updated twice in one call is refused by HubSpot: keep ok-3 for later.
    results = catalog.write_many(writes[:5])
    results.update(catalog.write_many(writes[5:]))

    assert [e["status"] for e in hub.ledger(since, kind="batch")] == [207, 207, 200]
    bad = results["bad-price"]
    assert isinstance(bad, ValidationFailed) and bad.vendor_code == "VALIDATION_ERROR"
    unknown = results["unknown-prop"]
    assert isinstance(unknown, ValidationFailed)
    assert "PROPERTY_DOESNT_EXIST" in unknown.details["property_errors"]
    assert isinstance(results["archived"], NotFound)  # matched by its id in context.ids
    assert set(records(results)) == {"ok-1", "ok-2", "ok-3"}
    assert sorted(p["properties"]["hs_sku"] for p in hub_products(hub)) == [
        "G-1",
        "K-1",
        "OK-1",
        "OK-2",
    ]


def test_hubspot_creates_replayed_after_a_lost_answer_make_nothing_new(hub: HubWorld) -> None:
    catalog = hub.catalog()
    hub.admin.add_fault("lose_response", path="batch/upsert", account=hub.portal)
    writes = [Write(f"k{n}", {"name": f"L{n}", "hs_sku": f"LR-{n}"}, f"lr-{n}") for n in range(3)]

    first = catalog.write_many(writes)
    assert set(first) == {w.key for w in writes} and all(unknown_outcome(e) for e in first.values())
    made = {p["id"] for p in hub_products(hub)}
    assert len(made) == 3

    again = records(catalog.write_many(writes))

    assert set(again) == {w.key for w in writes}
    assert {r.id for r in again.values()} == made == {p["id"] for p in hub_products(hub)}


def test_hubspot_batch_refused_as_a_whole_falls_back_to_one_call_each(
    hub: HubWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A vendor that ignores trace ids refuses the whole call for one bad input (400);
    # the emulator honours them, so that refusal is scripted for the first call.
    catalog = hub.catalog()
    hub.admin.add_fault(
        "status", path="batch/upsert$", account=hub.portal, status=400, body=INVALID_PRICE_BODY
    )
    writes = [
        Write("bad", {"name": "Bad", "hs_sku": "FB-0", "price": "abc"}, "fb-0"),
        *(Write(f"k{n}", {"name": f"F{n}", "hs_sku": f"FB-{n}"}, f"fb-{n}") for n in (1, 2, 3)),
    ]
    since = hub.admin.last_seq()
    sent = sent_bodies(catalog, monkeypatch)

    results = catalog.write_many(writes)

    upserts = [c for c in sent if c["path"].endswith("batch/upsert")]
    assert [len(c["json_body"]["inputs"]) for c in upserts] == [4, 1, 1, 1, 1]
    calls = hub.ledger(since, kind="batch")
    assert [c["status"] for c in calls] == [400, 400, 200, 200, 200]
    bad = results["bad"]
    assert isinstance(bad, ValidationFailed) and bad.status == 400
    assert set(records(results)) == {"k1", "k2", "k3"}
    assert sorted(p["properties"]["hs_sku"] for p in hub_products(hub)) == ["FB-1", "FB-2", "FB-3"]


def test_hubspot_a_single_input_refused_is_that_items_error(hub: HubWorld) -> None:
    catalog = hub.catalog()
    hub.admin.add_fault(
        "status", path="batch/upsert$", account=hub.portal, status=400, body=INVALID_PRICE_BODY
    )
    since = hub.admin.last_seq()
    results = catalog.write_many([Write("one", {"name": "One", "hs_sku": "S-1"}, "s-1")])
    assert isinstance(results["one"], ValidationFailed)
    assert len(hub.ledger(since, kind="batch")) == 1  # no fallback for one input


def test_hubspot_without_the_write_id_creates_one_by_one_and_updates_batch(hub: HubWorld) -> None:
    hub.admin.add_fault(
        "status",
        path="/crm/v3/properties/products/productsync_write_id",
        account=hub.portal,
        status=403,
        body={
            "status": "error",
            "message": "no",
            "correlationId": "c",
            "category": "MISSING_SCOPES",
        },
    )
    catalog = hub.catalog()
    old = [hub.add_product(name=f"W{n}", hs_sku=f"W-{n}") for n in range(2)]
    current = catalog.get_many([p["id"] for p in old])
    since = hub.admin.last_seq()
    results = catalog.write_many(
        [
            Write("c1", {"name": "Plain 1", "hs_sku": "PL-1"}, "pl-1"),
            Write("c2", {"name": "Plain 2", "hs_sku": "PL-2"}, "pl-2"),
            *(
                Write(f"u{n}", {"description": "d"}, f"pu-{n}", current[p["id"]])
                for n, p in enumerate(old)
            ),
        ]
    )
    assert set(records(results)) == {"c1", "c2", "u0", "u1"}
    writes = [(e["kind"], e["path"]) for e in hub.ledger(since) if e["kind"] in ("write", "batch")]
    assert writes.count(("write", "/crm/v3/objects/products")) == 2
    assert writes.count(("batch", "/crm/v3/objects/products/batch/update")) == 1
    assert ("batch", "/crm/v3/objects/products/batch/upsert") not in writes
