"""QBO CDC and batch contract tests over real sockets (api-reference §9 items 26, 27)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from tests.emulators import quickbooks_fixtures
from tests.emulators.quickbooks_fixtures import (
    INCOME,
    Qbo,
    decode,
    fault_of,
)

qbo_server, qbo = quickbooks_fixtures.qbo_server, quickbooks_fixtures.qbo  # shared fixtures


def since(delta: timedelta = timedelta(minutes=5)) -> str:
    return (datetime.now(UTC) - delta).isoformat()


def cdc(qbo: Qbo, changed_since: str, entities: str = "Item") -> Any:
    return qbo.get("/cdc", params={"entities": entities, "changedSince": changed_since})


def test_26_cdc_returns_full_changed_items_including_inactivated(qbo: Qbo) -> None:
    kept = qbo.create(Name="Kept", Sku="K-1", UnitPrice=3)
    gone = qbo.create(Name="Gone", Sku="G-1")
    qbo.post("/item", {"Id": gone["Id"], "SyncToken": "0", "sparse": True, "Active": False})
    response = cdc(qbo, since())
    assert response.status_code == 200
    body = decode(response)
    assert set(body) == {"CDCResponse", "time"}
    answer = body["CDCResponse"][0]["QueryResponse"][0]
    found = {i["Id"]: i for i in answer["Item"]}
    assert found[kept["Id"]] == kept  # the full object, as a read returns it
    assert found[gone["Id"]]["Active"] is False and found[gone["Id"]]["SyncToken"] == "1"
    assert (answer["startPosition"], answer["maxResults"]) == (1, 2)


def test_26_cdc_window_and_empty_answer(qbo: Qbo) -> None:
    qbo.create(Name="Earlier")
    future = (datetime.now(UTC) + timedelta(minutes=1)).isoformat()
    assert decode(cdc(qbo, future))["CDCResponse"] == [{"QueryResponse": [{}]}]
    too_old = cdc(qbo, since(timedelta(days=31)))
    assert too_old.status_code == 400 and fault_of(too_old)["code"] == "4002"
    assert cdc(qbo, since(timedelta(days=29))).status_code == 200
    missing = qbo.get("/cdc", params={"entities": "Item"})
    assert fault_of(missing)["code"] == "2020"


def test_26_cdc_caps_at_1000_objects_truncate_or_error(qbo: Qbo) -> None:
    qbo.admin.vendor("POST", f"quickbooks/realms/{qbo.realm}/seed", json={"count": 1003})
    answer = decode(cdc(qbo, since()))["CDCResponse"][0]["QueryResponse"][0]
    assert len(answer["Item"]) == 1000 and answer["maxResults"] == 1000
    assert answer["Item"][0]["Id"] == "1"  # oldest changes first: shrink the window and go on
    qbo.knobs(cdc_over_limit="error")
    assert fault_of(cdc(qbo, since()))["code"] == "4002"


def test_26_deleted_entities_have_the_deleted_shape(qbo: Qbo) -> None:
    qbo.admin.vendor("DELETE", f"quickbooks/realms/{qbo.realm}/accounts/4")
    answer = decode(cdc(qbo, since(), "Item,Account"))["CDCResponse"][0]["QueryResponse"]
    assert answer[0] == {}
    deleted = [a for a in answer[1]["Account"] if a.get("status") == "Deleted"]
    assert len(deleted) == 1
    assert set(deleted[0]) == {"Id", "status", "MetaData"} and deleted[0]["Id"] == "4"


def batch(qbo: Qbo, entries: list[dict[str, Any]], **kwargs: Any) -> Any:
    return qbo.post("/batch", {"BatchItemRequest": entries}, **kwargs)


def test_27_batch_runs_serially_with_per_item_results(qbo: Qbo) -> None:
    existing = qbo.create(Name="Existing", Sku="E-1")
    response = batch(qbo, [
        {"bId": "1", "operation": "create",
         "Item": {"Name": "New", "Type": "Service", "IncomeAccountRef": {"value": INCOME}}},
        {"bId": "2", "operation": "create",
         "Item": {"Name": "Existing", "Type": "Service", "IncomeAccountRef": {"value": INCOME}}},
        {"bId": "3", "Query": "select * from Item where Sku = 'E-1'"},
        {"bId": "4", "operation": "update",
         "Item": {"Id": existing["Id"], "SyncToken": "0", "sparse": True, "Description": "x"}},
        {"bId": "5", "operation": "update",
         "Item": {"Id": existing["Id"], "SyncToken": "0", "sparse": True, "Description": "y"}},
        {"bId": "6", "operation": "delete", "Item": {"Id": existing["Id"], "SyncToken": "1"}},
        {"bId": "7", "Query": "select * from Item where Name = 'a' OR Name = 'b'"},
    ])
    assert response.status_code == 200
    results = {r["bId"]: r for r in decode(response)["BatchItemResponse"]}
    assert results["1"]["Item"]["Name"] == "New"
    assert results["2"]["Fault"]["Error"][0]["code"] == "6240"
    assert results["3"]["QueryResponse"]["Item"][0]["Id"] == existing["Id"]
    assert results["4"]["Item"]["SyncToken"] == "1"
    assert results["5"]["Fault"]["Error"][0]["code"] == "5010"  # serial: saw item 4's save
    assert results["6"]["Fault"]["Error"][0]["code"] == "500"
    assert results["7"]["Fault"]["Error"][0]["code"] == "4000"
    assert all(r["Fault"]["type"] == "ValidationFault" for r in results.values() if "Fault" in r)
    # The ledger keeps no answers, but names the operations refused (a refused create is
    # not a create: the fault oracle counts creates from the ledger).
    assert qbo.admin.ledger(path="/batch$")[-1]["refused"] == ["2", "5", "6", "7"]


def test_27_more_than_30_items_is_a_fault_for_the_whole_batch(qbo: Qbo) -> None:
    query = {"Query": "select count(*) from Item"}
    assert batch(qbo, [{"bId": str(n), **query} for n in range(30)]).status_code == 200
    response = batch(qbo, [{"bId": str(n), **query} for n in range(31)])
    assert response.status_code == 400 and fault_of(response)["element"] == "BatchItemRequest"


def test_27_batch_items_are_metered_like_calls(qbo: Qbo) -> None:
    batch(qbo, [
        {"bId": "1", "Query": "select * from Item"},
        {"bId": "2", "operation": "create",
         "Item": {"Name": "M", "Type": "Service", "IncomeAccountRef": {"value": INCOME}}},
        {"bId": "3", "Query": "select count(*) from Item"},
    ])
    meter = qbo.admin.vendor("GET", "quickbooks/metering")["realms"][qbo.realm]
    assert meter == {"core": 1, "coreplus": 2}


def test_27_batch_own_per_minute_limit(qbo: Qbo) -> None:
    qbo.knobs(throttle_preset="legacy", throttle_scale=0.1)  # 40/min x 0.1 = 4 batches/min
    statuses = [batch(qbo, [{"bId": "1", "Query": "select count(*) from Item"}]).status_code
                for _ in range(5)]
    assert statuses == [200, 200, 200, 200, 429]
    assert qbo.query("select count(*) from Item").status_code == 200  # other calls still pass


def test_27_batch_requestid_replays(qbo: Qbo) -> None:
    entries = [{"bId": "1", "operation": "create",
                "Item": {"Name": "Once", "Type": "Service",
                         "IncomeAccountRef": {"value": INCOME}}}]
    first = batch(qbo, entries, params={"requestid": "b-1"})
    again = batch(qbo, entries, params={"requestid": "b-1"})
    assert first.content == again.content
    assert decode(qbo.query("select count(*) from Item"))["QueryResponse"]["totalCount"] == 1


def test_27_stale_synctoken_race_inside_a_batch(qbo: Qbo) -> None:
    item = qbo.create(Name="Raced")
    qbo.admin.add_fault("stale_synctoken", r"/batch$", params={"item_id": item["Id"]})
    response = batch(qbo, [{"bId": "1", "operation": "update",
                            "Item": {"Id": item["Id"], "SyncToken": "0", "sparse": True,
                                     "Description": "mine"}}])
    assert response.status_code == 200
    result = decode(response)["BatchItemResponse"][0]
    assert result["bId"] == "1" and result["Fault"]["Error"][0]["code"] == "5010"
