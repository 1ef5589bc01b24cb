"""HubSpot app webhooks (checklist 17): ``product.*`` events to the app's target URL.

The portal's notify hook (`Portal.notify`) hands every product change here; the change
points are create, property updates, archive, and restore/merge when the emulator has
them. Deliveries (api-reference §1.7):

* a JSON array of at most 100 events; fields ``eventId, subscriptionId, portalId, appId,
  occurredAt`` (epoch ms), ``subscriptionType, attemptNumber`` (0-based), ``objectId,
  changeSource, changeFlag``, plus ``propertyName``/``propertyValue`` for property
  changes and ``mergedObjectIds``/``primaryObjectId`` for merges; one
  ``product.propertyChange`` event per changed property;
* headers ``X-HubSpot-Signature-v3`` = base64(HMAC-SHA256(app secret, method + URI + body
  + timestamp)) with ``X-HubSpot-Request-Timestamp`` (ms), and the older
  ``X-HubSpot-Signature`` (v1: sha256(secret + body); v2: sha256(secret + method + URI +
  body)) with ``X-HubSpot-Signature-Version``;
* retries on a non-2xx answer or a timeout (5 s): up to 10 attempts spread over about a
  day, each later batch going on meanwhile (so events arrive out of order).

Subscription options (``PUT /__emulator__/hubspot/webhooks``): ``target_url``,
``signed_url``, ``secret`` (default: the development app's client secret), ``app_id``,
``legacy_signature`` (``v1`` or ``v2``), ``subscriptions`` (event types),
``properties`` (property names that send ``propertyChange``; null: every property), and
the common ``batch_window_ms, retry_scale, duplicate_rate, reorder``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from emulators.core.webhooks import RetryPolicy, Subscription, WebhookSender, subscription_from
from emulators.hubspot.auth import DEV_CLIENT_SECRET
from emulators.hubspot.product import Product

EVENT_TYPES = ("creation", "propertyChange", "deletion", "restore", "merge")
DEV_APP_ID = 1_234_567
# Whichever way a write came in, HubSpot's changeSource names it; the emulator does not
# know a UI from an API call at this level, so it says CRM for all of them.
CHANGE_SOURCE = "CRM"
CHANGE_FLAGS = {
    "creation": "NEW",
    "deletion": "DELETED",
    "restore": "RESTORED",
    "merge": "MERGED",
    "propertyChange": None,
}
# Set by HubSpot itself on every write: never the subject of a subscription.
SYSTEM_PROPERTIES = frozenset({"hs_lastmodifieddate", "hs_object_id", "createdate"})

# 10 attempts over about a day (HubSpot documents "up to 10 times over 24 hours").
POLICY = RetryPolicy(
    delays=(60.0, 120.0, 300.0, 900.0, 1800.0, 3600.0, 7200.0, 14400.0, 28800.0),
    max_attempts=10,
    timeout=5.0,
    max_concurrent=10,
    hold_back=False,
)


def epoch_ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000 + 0.5)


def sign(
    method: str, url: str, body: bytes, secret: str, timestamp: str, legacy: str
) -> dict[str, str]:
    """Every signature header HubSpot puts on a request."""
    text = body.decode("utf-8")
    v3 = hmac.new(secret.encode(), (method + url + text + timestamp).encode(), hashlib.sha256)
    if legacy == "v2":
        old = hashlib.sha256((secret + method + url + text).encode()).hexdigest()
    else:
        old = hashlib.sha256((secret + text).encode()).hexdigest()
    return {
        "X-HubSpot-Signature-v3": base64.b64encode(v3.digest()).decode(),
        "X-HubSpot-Request-Timestamp": timestamp,
        "X-HubSpot-Signature": old,
        "X-HubSpot-Signature-Version": legacy,
    }


def render(
    events: list[dict[str, Any]], attempt: int, sub: Subscription
) -> tuple[bytes, dict[str, str]]:
    body = json.dumps(
        [{**e, "attemptNumber": attempt} for e in events], separators=(",", ":")
    ).encode()
    timestamp = str(int(time.time() * 1000))
    return body, sign(
        "POST", sub.signed_url, body, sub.secret, timestamp, str(sub.options["legacy_signature"])
    )


def parse_subscription(body: dict[str, Any]) -> Subscription:
    legacy = body.get("legacy_signature", "v1")
    if legacy not in ("v1", "v2"):
        raise ValueError("legacy_signature must be v1 or v2")
    kinds = body.get("subscriptions") or [f"product.{k}" for k in EVENT_TYPES]
    unknown = [k for k in kinds if k not in {f"product.{t}" for t in EVENT_TYPES}]
    if unknown:
        raise ValueError(f"unknown subscription types: {', '.join(map(str, unknown))}")
    properties = body.get("properties")
    if properties is not None and not (
        isinstance(properties, list) and all(isinstance(p, str) for p in properties)
    ):
        raise ValueError("properties must be a list of property names, or null")
    return subscription_from(
        body,
        default_secret=DEV_CLIENT_SECRET,
        options={
            "app_id": int(body.get("app_id", DEV_APP_ID)),
            "legacy_signature": legacy,
            "subscriptions": list(kinds),
            "properties": properties,
        },
    )


class HubSpotWebhooks:
    """The app's sender, and the events each kind of product change makes."""

    def __init__(self, seed: int = 0) -> None:
        self.sender = WebhookSender(render, POLICY, seed=seed)
        self._event_id = 100
        self._subscription_ids = {f"product.{k}": 5_000 + i for i, k in enumerate(EVENT_TYPES)}

    def notify(
        self,
        portal_id: str,
        kind: str,
        product: Product,
        changed: Mapping[str, str] | None = None,
        merged_ids: Sequence[str] = (),
    ) -> None:
        """One product change in ``portal_id``: ``kind`` is one of `EVENT_TYPES`;
        ``changed`` holds the properties a ``propertyChange`` changed (new values, ""
        when cleared); ``merged_ids`` the products a ``merge`` folded into ``product``."""
        sub = self.sender.subscription
        if sub is None:
            return
        kind_name = f"product.{kind}"
        if kind_name not in sub.options["subscriptions"]:
            return
        base = {
            "portalId": int(portal_id),
            "appId": sub.options["app_id"],
            "subscriptionType": kind_name,
            "objectId": int(product.id),
            "changeSource": CHANGE_SOURCE,
        }
        if kind == "propertyChange":
            wanted = sub.options["properties"]
            at = epoch_ms(product.updated_at)
            for name, value in (changed or {}).items():
                if name in SYSTEM_PROPERTIES or (wanted is not None and name not in wanted):
                    continue
                self._send({**base, "occurredAt": at, "propertyName": name, "propertyValue": value})
            return
        moment = (
            product.archived_at
            if kind == "deletion" and product.archived_at
            else (product.created_at if kind == "creation" else product.updated_at)
        )
        event = {**base, "occurredAt": epoch_ms(moment), "changeFlag": CHANGE_FLAGS[kind]}
        if kind == "merge":
            event["primaryObjectId"] = int(product.id)
            event["mergedObjectIds"] = [int(i) for i in merged_ids]
        self._send(event)

    def _send(self, event: dict[str, Any]) -> None:
        self._event_id += 1
        event = {
            "eventId": self._event_id,
            "subscriptionId": self._subscription_ids[event["subscriptionType"]],
            **event,
        }
        self.sender.notify(event)
