"""HubSpot app webhooks: checklist item 17 (api-reference §1.7).

Signatures are checked here from HubSpot's documented formulas, written out in the test
(never with the emulator's signing code)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from collections.abc import Iterator
from typing import Any

import pytest

from emulators.client import EmulatorAdmin
from emulators.core import EmulatorHandle
from emulators.hubspot import DEV_PORTAL
from tests.emulators.conftest import HubSpotApi
from tests.support.webhook_sink import Received, WebhookSink, webhook_sink

SECRET = "app-secret-for-the-test"
FIELDS = {
    "eventId",
    "subscriptionId",
    "portalId",
    "appId",
    "occurredAt",
    "subscriptionType",
    "attemptNumber",
    "objectId",
    "changeSource",
}


@pytest.fixture
def sink() -> Iterator[WebhookSink]:
    with webhook_sink() as s:
        yield s


def subscribe(admin: EmulatorAdmin, sink: WebhookSink, **options: Any) -> dict[str, Any]:
    body = {
        "target_url": sink.url,
        "secret": SECRET,
        "retry_scale": 0.001,
        "batch_window_ms": 20,
        **options,
    }
    return admin.vendor("PUT", "hubspot/webhooks", json=body)


def events(received: list[Received]) -> list[dict[str, Any]]:
    return [e for r in received if 200 <= r.answered < 300 for e in r.json()]


def count_events(n: int) -> Any:
    return lambda seen: len(events(seen)) >= n


def test_17_each_post_is_an_array_of_at_most_100_events(
    hubspot: HubSpotApi, hubspot_admin: EmulatorAdmin, sink: WebhookSink
) -> None:
    subscribe(hubspot_admin, sink, batch_window_ms=200)
    inputs = [{"properties": {"name": f"P{i}", "hs_sku": f"S{i}"}} for i in range(150)]
    for start in (0, 100):
        response = hubspot.products(
            "POST", "/batch/create", json={"inputs": inputs[start : start + 100]}
        )
        assert response.status_code == 201, response.text
    seen = sink.wait_for(count_events(150))
    assert all(isinstance(r.json(), list) and 1 <= len(r.json()) <= 100 for r in seen)
    got = events(seen)
    assert {e["subscriptionType"] for e in got} == {"product.creation"}
    for event in got:
        assert set(event) >= FIELDS, event
        assert event["portalId"] == int(DEV_PORTAL)
        assert event["changeFlag"] == "NEW"
        assert event["attemptNumber"] == 0
    assert len({e["objectId"] for e in got}) == 150


def test_17_property_change_is_one_event_per_changed_property_at_the_modified_time(
    hubspot: HubSpotApi, hubspot_admin: EmulatorAdmin, sink: WebhookSink
) -> None:
    product = hubspot.create(name="Widget", hs_sku="W-1", price="10")
    subscribe(hubspot_admin, sink, subscriptions=["product.propertyChange"])
    response = hubspot.products(
        "PATCH",
        f"/{product['id']}",
        json={"properties": {"name": "Widget 2", "price": "10", "description": "new"}},
    )
    assert response.status_code == 200
    modified = response.json()["updatedAt"]
    got = events(sink.wait_for(count_events(2)))
    assert {(e["propertyName"], e["propertyValue"]) for e in got} == {
        ("name", "Widget 2"),
        ("description", "new"),
    }  # price did not change: no event
    from datetime import datetime

    stamp = int(datetime.fromisoformat(modified.replace("Z", "+00:00")).timestamp() * 1000)
    assert {e["occurredAt"] for e in got} == {stamp}
    assert {e["objectId"] for e in got} == {int(product["id"])}


def test_17_archive_is_a_deletion_event(
    hubspot: HubSpotApi, hubspot_admin: EmulatorAdmin, sink: WebhookSink
) -> None:
    product = hubspot.create(name="Gone", hs_sku="G-1")
    subscribe(hubspot_admin, sink)
    assert hubspot.products("DELETE", f"/{product['id']}").status_code == 204
    (event,) = events(sink.wait_for(count_events(1)))
    assert event["subscriptionType"] == "product.deletion"
    assert event["objectId"] == int(product["id"])


def test_17_signatures_match_hubspots_documented_formulas(
    hubspot: HubSpotApi, hubspot_admin: EmulatorAdmin, sink: WebhookSink
) -> None:
    public = "https://sync.example.com/webhooks/hubspot?x=1"
    subscribe(hubspot_admin, sink, signed_url=public)
    hubspot.create(name="Signed", hs_sku="SIG-1")
    (request,) = sink.wait_for(count_events(1))
    headers, body = request.headers, request.body
    timestamp = headers["x-hubspot-request-timestamp"]
    assert abs(int(timestamp) - time.time() * 1000) < 60_000  # epoch milliseconds
    # v3: base64(HMAC-SHA256(secret, method + uri + body + timestamp)), UTF-8.
    message = ("POST" + public + body.decode("utf-8") + timestamp).encode("utf-8")
    v3 = base64.b64encode(hmac.new(SECRET.encode(), message, hashlib.sha256).digest()).decode()
    assert headers["x-hubspot-signature-v3"] == v3
    # v1 (what CRM webhooks carry in X-HubSpot-Signature): hex sha256(secret + body).
    assert headers["x-hubspot-signature-version"] == "v1"
    assert headers["x-hubspot-signature"] == hashlib.sha256(SECRET.encode() + body).hexdigest()


def test_17_v2_signature_when_chosen(
    hubspot: HubSpotApi, hubspot_admin: EmulatorAdmin, sink: WebhookSink
) -> None:
    subscribe(hubspot_admin, sink, legacy_signature="v2")
    hubspot.create(name="Signed", hs_sku="SIG-2")
    (request,) = sink.wait_for(count_events(1))
    expected = hashlib.sha256(
        SECRET.encode() + b"POST" + sink.url.encode() + request.body
    ).hexdigest()
    assert request.headers["x-hubspot-signature-version"] == "v2"
    assert request.headers["x-hubspot-signature"] == expected


def test_17_failed_deliveries_are_retried_with_the_attempt_number(
    hubspot: HubSpotApi, hubspot_admin: EmulatorAdmin, sink: WebhookSink
) -> None:
    sink.script = [500, 503]
    subscribe(hubspot_admin, sink)
    product = hubspot.create(name="Retry", hs_sku="R-1")
    seen = sink.wait_for(lambda s: len(s) >= 3)
    attempts = [(r.answered, r.json()[0]["attemptNumber"]) for r in seen[:3]]
    assert attempts == [(500, 0), (503, 1), (200, 2)]
    assert len({r.json()[0]["eventId"] for r in seen}) == 1
    assert seen[2].json()[0]["objectId"] == int(product["id"])


def test_17_gives_up_after_ten_attempts(
    hubspot: HubSpotApi, hubspot_admin: EmulatorAdmin, sink: WebhookSink
) -> None:
    sink.script = [500] * 12
    subscribe(hubspot_admin, sink, retry_scale=0.00005)  # the whole day in about 3 s
    hubspot.create(name="Lost", hs_sku="L-1")
    sink.wait_for(lambda s: len(s) >= 10)
    time.sleep(0.3)
    assert len(sink.received) == 10
    view = hubspot_admin.vendor("GET", "hubspot/webhooks")
    assert view["given_up_events"] == 1 and view["pending"] == 0


def test_17_duplicates_and_reordering_are_knobs(
    hubspot: HubSpotApi, hubspot_admin: EmulatorAdmin, sink: WebhookSink
) -> None:
    subscribe(hubspot_admin, sink, duplicate_rate=1.0, reorder=True, batch_window_ms=100)
    for i in range(30):
        hubspot.create(name=f"D{i}", hs_sku=f"D-{i}")
    got = events(sink.wait_for(count_events(60)))
    ids = [e["eventId"] for e in got]
    assert len(ids) == 60 and len(set(ids)) == 30  # every event delivered twice
    first = list(dict.fromkeys(ids))
    assert first != sorted(first)  # not in the order they happened


def test_17_secret_never_shown_by_the_admin_view(
    hubspot_admin: EmulatorAdmin, sink: WebhookSink
) -> None:
    view = subscribe(hubspot_admin, sink)
    assert SECRET not in str(view)
    hubspot_admin.vendor("DELETE", "hubspot/webhooks")
    assert hubspot_admin.vendor("GET", "hubspot/webhooks")["subscription"] is None


def test_17_restore_and_merge_go_through_the_same_notify_hook(
    hubspot_server: EmulatorHandle, hubspot: HubSpotApi, hubspot_admin: EmulatorAdmin,
    sink: WebhookSink,
) -> None:
    # The change points that restore or merge products call `Portal.notify` like the
    # others do; here the hook is called directly, on the server's own loop.
    kept = hubspot.create(name="Kept", hs_sku="K-1")
    gone = hubspot.create(name="Gone", hs_sku="K-2")
    subscribe(hubspot_admin, sink)
    portal = hubspot_server.emulator.vendor.portals[DEV_PORTAL]  # type: ignore[attr-defined]

    def notify() -> None:
        portal.notify("restore", portal.products[kept["id"]])
        portal.notify("merge", portal.products[kept["id"]], merged_ids=[gone["id"]])

    hubspot_server._loop.call_soon_threadsafe(notify)
    got = events(sink.wait_for(count_events(2)))
    assert [(e["subscriptionType"], e["changeFlag"]) for e in got] == [
        ("product.restore", "RESTORED"), ("product.merge", "MERGED")]
    assert got[1]["primaryObjectId"] == int(kept["id"])
    assert got[1]["mergedObjectIds"] == [int(gone["id"])]
