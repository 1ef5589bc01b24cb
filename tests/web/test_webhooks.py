"""The webhook receiver in the web app, on real PostgreSQL and Redis: signatures, size
limit, what becomes a job and what is counted and dropped. Deliveries are signed here
from the vendors' documented formulas (not with the emulators' code)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import random
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import redis
from flask.testing import FlaskClient
from sqlalchemy import select

from models import Job
from models.db import session_scope
from tests.web.seed import make_account
from workers.secret import Secret
from workers.settings import Settings
from workers.webhooks.stats import account_stats

HS_SECRET = "hubspot-app-secret-for-tests"
QB_TOKEN = "intuit-verifier-token-for-tests"
PUBLIC = "https://sync.example.com/productsync"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.replace(
        hubspot_webhook_secret=Secret(HS_SECRET),
        quickbooks_webhook_verifier_token=Secret(QB_TOKEN),
        public_url=PUBLIC,
        webhook_max_body_bytes=4096,
    )


def ids() -> tuple[str, str]:
    return str(random.randrange(10**7, 10**8)), str(random.randrange(10**15, 10**16))


def ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def hubspot_event(portal: str, object_id: int, at: datetime, **extra: Any) -> dict[str, Any]:
    return {"eventId": random.randrange(10**9), "subscriptionId": 1, "portalId": int(portal),
            "appId": 7, "occurredAt": ms(at), "subscriptionType": "product.propertyChange",
            "attemptNumber": 0, "objectId": object_id, "changeSource": "CRM",
            "propertyName": "price", "propertyValue": "10", **extra}


def post_hubspot(client: FlaskClient, events: list[dict[str, Any]], *, secret: str = HS_SECRET,
                 uri: str = PUBLIC + "/webhooks/hubspot", stamp: int | None = None) -> Any:
    body = json.dumps(events).encode()
    stamp_text = str(stamp if stamp is not None else int(time.time() * 1000))
    message = ("POST" + uri + body.decode() + stamp_text).encode()
    signature = base64.b64encode(hmac.new(secret.encode(), message, hashlib.sha256).digest())
    return client.post("/webhooks/hubspot", data=body, content_type="application/json",
                       headers={"X-HubSpot-Signature-v3": signature.decode(),
                                "X-HubSpot-Request-Timestamp": stamp_text})


def post_intuit(client: FlaskClient, payload: Any, token: str = QB_TOKEN) -> Any:
    body = json.dumps(payload).encode()
    signature = base64.b64encode(hmac.new(token.encode(), body, hashlib.sha256).digest())
    return client.post("/webhooks/quickbooks", data=body, content_type="application/json",
                       headers={"intuit-signature": signature.decode()})


def jobs_of(database_url: str, account_id: int) -> list[tuple[str, str, datetime | None]]:
    with session_scope(database_url) as session:
        rows = session.execute(
            select(Job.source_id, Job.reason, Job.source_updated_at)
            .where(Job.account_id == account_id).order_by(Job.id)
        ).all()
    return [tuple(r) for r in rows]  # type: ignore[misc]


def stats(settings: Settings, account_id: int) -> dict[str, Any]:
    found = account_stats(redis.Redis.from_url(settings.redis_url), account_id)
    assert found is not None
    return found


def test_a_signed_hubspot_change_becomes_one_job_however_often_it_is_delivered(
    client: FlaskClient, settings: Settings
) -> None:
    portal, realm = ids()
    account = make_account(settings.database_url, hubspot_portal_id=portal,
                           quickbooks_realm_id=realm)
    at = datetime.now(UTC) + timedelta(seconds=1)
    event = hubspot_event(portal, 111, at)
    for _ in range(10):
        response = post_hubspot(client, [event, {**event, "propertyName": "name"}])
        assert response.status_code == 200, response.get_data(as_text=True)
    expected = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=ms(at))
    assert jobs_of(settings.database_url, account.id) == [("111", "webhook", expected)]
    seen = stats(settings, account.id)
    assert seen["events"] == 20 and seen["refused"] == 0
    assert seen["last_at"] is not None


@pytest.mark.parametrize("fault", ["forged", "stale", "wrong_url", "unsigned"])
def test_a_forged_or_stale_delivery_is_401_and_nothing_is_enqueued(
    client: FlaskClient, settings: Settings, fault: str
) -> None:
    portal, realm = ids()
    account = make_account(settings.database_url, hubspot_portal_id=portal,
                           quickbooks_realm_id=realm)
    events = [hubspot_event(portal, 222, datetime.now(UTC))]
    if fault == "unsigned":
        response = client.post("/webhooks/hubspot", json=events)
    else:
        response = post_hubspot(
            client, events,
            secret="guessed" if fault == "forged" else HS_SECRET,
            stamp=int(time.time() * 1000) - 301_000 if fault == "stale" else None,
            # What the web process sees, not the public URL HubSpot called.
            uri=("http://localhost/webhooks/hubspot" if fault == "wrong_url"
                 else PUBLIC + "/webhooks/hubspot"),
        )
    assert response.status_code == 401
    assert jobs_of(settings.database_url, account.id) == []
    seen = stats(settings, account.id)
    assert seen["refused"] == 1 and seen["events"] == 0
    assert seen["last_refused_reason"] in {"mismatch", "stale", "missing"}


def test_events_for_the_destination_side_disabled_or_unknown_accounts_are_dropped(
    client: FlaskClient, settings: Settings
) -> None:
    portal, realm = ids()
    reverse = make_account(settings.database_url, hubspot_portal_id=portal,
                           quickbooks_realm_id=realm, direction="quickbooks_to_hubspot")
    portal2, realm2 = ids()
    paused = make_account(settings.database_url, hubspot_portal_id=portal2,
                          quickbooks_realm_id=realm2, enabled=False)
    now = datetime.now(UTC) + timedelta(seconds=1)
    response = post_hubspot(client, [
        hubspot_event(portal, 1, now), hubspot_event(portal2, 2, now),
        hubspot_event("999", 3, now),
        hubspot_event(portal, 4, now, subscriptionType="contact.creation"),
    ])
    assert response.status_code == 200
    assert response.get_json() == {"accepted": 0, "new_jobs": 0, "dropped": 3, "unknown": 1}
    assert jobs_of(settings.database_url, reverse.id) == []
    assert jobs_of(settings.database_url, paused.id) == []
    assert stats(settings, reverse.id)["dropped"] == 2


def test_archives_and_changes_from_before_the_direction_switch_are_dropped(
    client: FlaskClient, settings: Settings
) -> None:
    portal, realm = ids()
    account = make_account(settings.database_url, hubspot_portal_id=portal,
                           quickbooks_realm_id=realm)
    now = datetime.now(UTC) + timedelta(seconds=1)
    response = post_hubspot(client, [
        hubspot_event(portal, 5, now, subscriptionType="product.deletion"),
        hubspot_event(portal, 6, now - timedelta(hours=1)),
        hubspot_event(portal, 7, now, subscriptionType="product.merge", primaryObjectId=8,
                      mergedObjectIds=[7]),
    ])
    assert response.get_json()["dropped"] == 2
    assert [j[0] for j in jobs_of(settings.database_url, account.id)] == ["8"]


def test_quickbooks_both_formats_mixed_realms_and_times_cut_to_the_second(
    client: FlaskClient, settings: Settings
) -> None:
    portal, realm = ids()
    account = make_account(settings.database_url, hubspot_portal_id=portal,
                           quickbooks_realm_id=realm, direction="quickbooks_to_hubspot")
    at = (datetime.now(UTC) + timedelta(seconds=2)).replace(microsecond=0)
    when = at.strftime("%Y-%m-%dT%H:%M:%S") + ".657Z"
    cloud = [{"specversion": "1.0", "id": "e1", "source": "intuit.x",
              "type": "qbo.item.updated.v1", "time": when, "intuitentityid": "42",
              "intuitaccountid": realm, "data": {}},
             {"specversion": "1.0", "id": "e2", "source": "intuit.x",
              "type": "qbo.item.created.v1", "time": when, "intuitentityid": "43",
              "intuitaccountid": "123", "data": {}},
             {"specversion": "1.0", "id": "e3", "source": "intuit.x",
              "type": "qbo.customer.created.v1", "time": when, "intuitentityid": "44",
              "intuitaccountid": realm, "data": {}}]
    assert post_intuit(client, cloud).status_code == 200
    legacy = {"eventNotifications": [{"realmId": realm, "dataChangeEvent": {"entities": [
        {"name": "Item", "id": "42", "operation": "Update", "lastUpdated": when},
        {"name": "Item", "id": "45", "operation": "Merge", "lastUpdated": when,
         "deletedId": "46"}]}}]}
    assert post_intuit(client, legacy).status_code == 200
    assert jobs_of(settings.database_url, account.id) == [
        ("42", "webhook", at), ("45", "webhook", at)]
    assert post_intuit(client, legacy, token="wrong").status_code == 401


def test_too_large_malformed_and_unconfigured(
    client: FlaskClient, settings: Settings, app: Any
) -> None:
    big = [hubspot_event("1", i, datetime.now(UTC)) for i in range(40)]
    assert post_hubspot(client, big).status_code == 413
    assert post_hubspot(client, {"not": "an array"}).status_code == 400  # type: ignore[arg-type]
    app.config["PRODUCTSYNC_SETTINGS"] = settings.replace(
        quickbooks_webhook_verifier_token=Secret(""))
    assert post_intuit(client, []).status_code == 404


def test_signed_endpoints_need_no_login_or_csrf_but_pages_still_do(
    client: FlaskClient,
) -> None:
    assert post_intuit(client, []).status_code == 200
    page = client.post("/accounts")
    assert page.status_code == 302 and "/login" in page.location
