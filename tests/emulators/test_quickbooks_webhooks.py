"""QuickBooks Online webhooks: checklist item 33 (api-reference §2.10).

The ``intuit-signature`` is checked from Intuit's documented formula written out here
(base64 of HMAC-SHA256 over the raw body, keyed by the verifier token)."""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest

from emulators.core import EmulatorHandle
from emulators.quickbooks.app import state_of
from tests.emulators import quickbooks_fixtures
from tests.emulators.quickbooks_fixtures import Qbo, decode
from tests.support.webhook_sink import Received, WebhookSink, webhook_sink

qbo_server, qbo = quickbooks_fixtures.qbo_server, quickbooks_fixtures.qbo  # shared fixtures

TOKEN = "verifier-token-for-the-test"


@pytest.fixture
def sink() -> Iterator[WebhookSink]:
    with webhook_sink() as s:
        yield s


def subscribe(qbo: Qbo, sink: WebhookSink, **options: Any) -> None:
    body = {
        "target_url": sink.url,
        "secret": TOKEN,
        "retry_scale": 0.01,
        "batch_window_ms": 50,
        **options,
    }
    qbo.admin.vendor("PUT", "quickbooks/webhooks", json=body)


def cloud_events(received: list[Received]) -> list[dict[str, Any]]:
    return [e for r in received if 200 <= r.answered < 300 for e in r.json()]


def test_33_cloudevents_array_signed_with_the_verifier_token(qbo: Qbo, sink: WebhookSink) -> None:
    subscribe(qbo, sink)
    item = qbo.create(Name="Hooked", Sku="H-1")
    (request,) = sink.wait_for(lambda s: len(cloud_events(s)) >= 1)
    expected = base64.b64encode(
        hmac.new(TOKEN.encode(), request.body, hashlib.sha256).digest()
    ).decode()
    assert request.headers["intuit-signature"] == expected
    (event,) = request.json()
    assert event["specversion"] == "1.0"
    assert event["type"] == "qbo.item.created.v1"
    assert event["intuitentityid"] == item["Id"]
    assert event["intuitaccountid"] == qbo.realm
    # Milliseconds on the event; the Item's LastUpdatedTime is that moment to the second.
    sent = datetime.fromisoformat(event["time"].replace("Z", "+00:00"))
    updated = datetime.fromisoformat(item["MetaData"]["LastUpdatedTime"])
    assert sent.replace(microsecond=0) == updated


def test_33_update_inactivate_and_the_legacy_format(qbo: Qbo, sink: WebhookSink) -> None:
    item = qbo.create(Name="Legacy", Sku="LG-1")
    subscribe(qbo, sink, format="legacy")
    updated = decode(
        qbo.post(
            "/item",
            {"Id": item["Id"], "SyncToken": item["SyncToken"], "sparse": True, "UnitPrice": 5},
        )
    )["Item"]
    qbo.post(
        "/item",
        {"Id": item["Id"], "SyncToken": updated["SyncToken"], "sparse": True, "Active": False},
    )
    seen = sink.wait_for(
        lambda s: (
            sum(
                len(n["dataChangeEvent"]["entities"])
                for r in s
                for n in r.json()["eventNotifications"]
            )
            >= 2
        )
    )
    entities = [
        e
        for r in seen
        for n in r.json()["eventNotifications"]
        for e in n["dataChangeEvent"]["entities"]
    ]
    assert [(e["name"], e["id"], e["operation"]) for e in entities] == [
        ("Item", item["Id"], "Update"),
        ("Item", item["Id"], "Delete"),
    ]
    assert all(n["realmId"] == qbo.realm for r in seen for n in r.json()["eventNotifications"])


def test_33_one_post_may_mix_realms(qbo: Qbo, sink: WebhookSink) -> None:
    other = qbo.admin.vendor("POST", "quickbooks/realms", json={})
    other_qbo = Qbo(qbo.url, qbo.admin, other["realm_id"], other["access_token"])
    subscribe(qbo, sink, batch_window_ms=300)
    qbo.create(Name="Here", Sku="M-1")
    other_qbo.create(Name="There", Sku="M-2")
    seen = sink.wait_for(lambda s: len(cloud_events(s)) >= 2)
    assert len(seen) == 1
    assert {e["intuitaccountid"] for e in seen[0].json()} == {qbo.realm, other["realm_id"]}


def test_33_later_events_wait_behind_a_failing_post(qbo: Qbo, sink: WebhookSink) -> None:
    sink.script = [500, 500]
    subscribe(qbo, sink, batch_window_ms=10)
    first = qbo.create(Name="First", Sku="O-1")
    sink.wait_for(lambda s: len(s) >= 1)
    second = qbo.create(Name="Second", Sku="O-2")
    seen = sink.wait_for(lambda s: len(cloud_events(s)) >= 2)
    # Retried at 10 s and 20 s (scaled by 0.01), the second event only after the first.
    assert [r.answered for r in seen[:3]] == [500, 500, 200]
    assert [e["intuitentityid"] for e in cloud_events(seen)] == [first["Id"], second["Id"]]
    assert seen[1].at - seen[0].at >= 0.09


def test_33_at_most_100_events_per_post(qbo: Qbo, sink: WebhookSink) -> None:
    subscribe(qbo, sink, batch_window_ms=300)
    ops = [
        {
            "bId": str(i),
            "operation": "create",
            "Item": {
                "Name": f"B{i}",
                "Sku": f"B-{i}",
                "Type": "Service",
                "IncomeAccountRef": {"value": quickbooks_fixtures.INCOME},
            },
        }
        for i in range(30)
    ]
    for start in range(0, 120, 30):
        batch = [
            {
                **op,
                "bId": f"{start}-{op['bId']}",
                "Item": {
                    **op["Item"],
                    "Name": f"{op['Item']['Name']}-{start}",
                    "Sku": f"{op['Item']['Sku']}-{start}",
                },
            }
            for op in ops
        ]
        assert qbo.post("/batch", {"BatchItemRequest": batch}).status_code == 200
    seen = sink.wait_for(lambda s: len(cloud_events(s)) >= 120)
    assert all(len(r.json()) <= 100 for r in seen)
    assert len(seen) >= 2


def test_33_merge_goes_through_the_same_notify_hook(
    qbo_server: EmulatorHandle, qbo: Qbo, sink: WebhookSink
) -> None:
    kept = qbo.create(Name="Kept", Sku="QK-1")
    gone = qbo.create(Name="Gone", Sku="QK-2")
    subscribe(qbo, sink, format="legacy")
    realm = state_of(qbo_server.app).realms[qbo.realm]

    def merge() -> None:
        realm.notify("Merge", realm.items[kept["Id"]], deleted_id=gone["Id"])

    qbo_server._loop.call_soon_threadsafe(merge)
    (request,) = sink.wait_for(lambda s: len(s) >= 1)
    (entity,) = request.json()["eventNotifications"][0]["dataChangeEvent"]["entities"]
    assert (entity["operation"], entity["id"], entity["deletedId"]) == (
        "Merge", kept["Id"], gone["Id"])
