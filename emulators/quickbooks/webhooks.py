"""QuickBooks Online webhooks (checklist 33): Item notifications to the app's endpoint.

Each realm's notify hook (`Realm.notify`) hands every Item change here: Create, Update,
Delete (made inactive) and Merge. One app has one endpoint, so one POST may carry events
of several realms (api-reference §2.10):

* ``cloudevents`` (the current format): a JSON array of up to 100 CloudEvents, ``type``
  ``qbo.item.<created|updated|deleted|merged>.v1``, ``intuitaccountid`` = realm id,
  ``intuitentityid`` = Item id, ``time`` with milliseconds, ``data`` empty except for a
  merge's ``deletedId`` (where Intuit puts it in CloudEvents is not documented [U]);
* ``legacy``: ``{"eventNotifications": [{"realmId", "dataChangeEvent": {"entities":
  [{"name": "Item", "id", "operation", "lastUpdated"[, "deletedId"]}]}}]}``, one entry
  per realm in the POST;
* header ``intuit-signature`` = base64(HMAC-SHA256(verifier token, raw body)); no
  timestamp, no replay window;
* the endpoint must answer 2xx within 3 s; a failed POST is retried after 10 s, 20 s,
  30 s, 5 min, 20 min, 2 h, 4 h, 6 h, then every 6 h, and later events wait until it is
  acknowledged.

Subscription options (``PUT /__emulator__/quickbooks/webhooks``): ``target_url``,
``signed_url`` (unused: Intuit does not sign the URL), ``secret`` (the verifier token;
default `DEV_VERIFIER_TOKEN`), ``format`` (``cloudevents`` or ``legacy``), and the common
``batch_window_ms, retry_scale, duplicate_rate, reorder``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import random
import uuid
from datetime import UTC, timedelta
from typing import Any

from emulators.core.webhooks import RetryPolicy, Subscription, WebhookSender, subscription_from
from emulators.quickbooks.entities import Entity

DEV_VERIFIER_TOKEN = "emulator-qbo-verifier-token"
FORMATS = ("cloudevents", "legacy")
TYPES = {"Create": "created", "Update": "updated", "Delete": "deleted", "Merge": "merged"}
POLICY = RetryPolicy(
    delays=(10.0, 20.0, 30.0, 300.0, 1200.0, 7200.0, 14400.0, 21600.0),
    max_attempts=20,
    timeout=3.0,
    max_concurrent=1,
    hold_back=True,
)


def sign(body: bytes, verifier_token: str) -> str:
    digest = hmac.new(verifier_token.encode(), body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def _cloud_event(event: dict[str, Any]) -> dict[str, Any]:
    data = {"deletedId": event["deletedId"]} if event.get("deletedId") else {}
    return {
        "specversion": "1.0",
        "id": event["eventId"],
        "source": "intuit.emulator",
        "type": f"qbo.item.{TYPES[event['operation']]}.v1",
        "datacontenttype": "application/json",
        "time": event["time"],
        "intuitentityid": event["id"],
        "intuitaccountid": event["realmId"],
        "data": data,
    }


def _legacy(events: list[dict[str, Any]]) -> dict[str, Any]:
    realms: dict[str, list[dict[str, Any]]] = {}
    for event in events:
        entity = {
            "name": "Item",
            "id": event["id"],
            "operation": event["operation"],
            "lastUpdated": event["time"],
        }
        if event.get("deletedId"):
            entity["deletedId"] = event["deletedId"]
        realms.setdefault(event["realmId"], []).append(entity)
    return {
        "eventNotifications": [
            {"realmId": realm, "dataChangeEvent": {"entities": entities}}
            for realm, entities in realms.items()
        ]
    }


def render(
    events: list[dict[str, Any]], attempt: int, sub: Subscription
) -> tuple[bytes, dict[str, str]]:
    if sub.options["format"] == "legacy":
        payload: Any = _legacy(events)
    else:
        payload = [_cloud_event(e) for e in events]
    body = json.dumps(payload, separators=(",", ":")).encode()
    return body, {"intuit-signature": sign(body, sub.secret)}


def parse_subscription(body: dict[str, Any]) -> Subscription:
    fmt = body.get("format", "cloudevents")
    if fmt not in FORMATS:
        raise ValueError(f"format must be one of {', '.join(FORMATS)}")
    return subscription_from(body, default_secret=DEV_VERIFIER_TOKEN, options={"format": fmt})


class QboWebhooks:
    """The app's sender, and the event each Item change makes."""

    def __init__(self, seed: int = 0) -> None:
        self.sender = WebhookSender(render, POLICY, seed=seed)
        self._rng = random.Random(seed)

    def notify(self, realm_id: str, operation: str, item: Entity, deleted_id: str | None) -> None:
        if self.sender.subscription is None:
            return
        # The notification's time has milliseconds; the Item's LastUpdatedTime is the same
        # moment cut to the second.
        moment = item.updated.astimezone(UTC) + timedelta(milliseconds=self._rng.randrange(1000))
        self.sender.notify(
            {
                "eventId": str(uuid.UUID(int=self._rng.getrandbits(128), version=4)),
                "realmId": realm_id,
                "operation": operation,
                "id": item.id,
                "time": moment.strftime("%Y-%m-%dT%H:%M:%S.")
                + f"{moment.microsecond // 1000:03d}Z",
                "deletedId": deleted_id,
            }
        )
