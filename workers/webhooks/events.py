"""Reading webhook bodies into changes: which product of which portal or company changed,
and when. Nothing here trusts a body that was not verified first (`signatures`).

HubSpot (api-reference §1.7): a JSON array of events. ``product.creation``,
``product.propertyChange`` and ``product.restore`` name a product that may need a sync;
``product.merge`` names the product kept (``primaryObjectId``, else ``objectId``);
``product.deletion`` is an archive, which is never synced (the poll never sees archived
products either), so it is dropped. Generic ``object.*`` events count when their
``objectTypeId`` is products' ``0-7``.

Intuit (§2.10): a CloudEvents array (``type`` ``qbo.item.<action>.v1``,
``intuitaccountid``, ``intuitentityid``, ``time``) or the legacy ``eventNotifications``
object (``realmId``, ``entities[].name/id/operation/lastUpdated``). Every Item operation
names an item to sync (an inactivated one ends skipped like the poll's; a merge's ``id``
is the item kept). Intuit's event time carries milliseconds while the Item's
``LastUpdatedTime`` (what the poll sees) has whole seconds: the time is cut to the second,
so the webhook's job and the poll's job of one change are the same job.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
HUBSPOT_SYNCED = ("creation", "propertyChange", "restore", "merge")
PRODUCT_TYPE_ID = "0-7"


class MalformedPayload(ValueError):
    """A verified body that is not the vendor's webhook format."""


@dataclass(frozen=True)
class Change:
    """One event: ``account_key`` is the portal or realm id; ``object_id`` None and
    ``reason`` set when the event is dropped (``deletion``, ``not_a_product``,
    ``no_time``)."""

    account_key: str
    object_id: str | None
    occurred_at: datetime | None
    reason: str | None = None


def hubspot_changes(payload: Any) -> list[Change]:
    if not isinstance(payload, list):
        raise MalformedPayload("a HubSpot delivery is a JSON array of events")
    return [_hubspot_event(e) for e in payload]


def _hubspot_event(event: Any) -> Change:
    if not isinstance(event, dict) or "portalId" not in event:
        raise MalformedPayload("a HubSpot event is an object with a portalId")
    portal = str(event["portalId"])
    kind = str(event.get("subscriptionType", ""))
    family, _, action = kind.partition(".")
    is_product = family == "product" or (
        family == "object" and str(event.get("objectTypeId")) == PRODUCT_TYPE_ID
    )
    if not is_product:
        return Change(portal, None, None, "not_a_product")
    if action not in HUBSPOT_SYNCED:
        return Change(portal, None, None, "deletion" if action == "deletion" else "not_a_change")
    object_id = event.get("primaryObjectId") if action == "merge" else None
    object_id = object_id or event.get("objectId")
    occurred = event.get("occurredAt")
    if object_id is None or isinstance(occurred, bool) or not isinstance(occurred, int):
        return Change(portal, None, None, "no_time")
    # Exact milliseconds (no float): the job must equal the poll's hs_lastmodifieddate.
    return Change(portal, str(object_id), EPOCH + timedelta(milliseconds=occurred))


def intuit_changes(payload: Any) -> list[Change]:
    if isinstance(payload, list):
        return [_cloud_event(e) for e in payload]
    if isinstance(payload, dict) and isinstance(payload.get("eventNotifications"), list):
        return list(_legacy(payload["eventNotifications"]))
    raise MalformedPayload(
        "an Intuit delivery is a CloudEvents array or an eventNotifications object"
    )


def _cloud_event(event: Any) -> Change:
    if not isinstance(event, dict) or "intuitaccountid" not in event:
        raise MalformedPayload("a CloudEvent has an intuitaccountid")
    realm = str(event["intuitaccountid"])
    kind = str(event.get("type", ""))
    if not kind.startswith("qbo.item."):
        return Change(realm, None, None, "not_a_product")
    return _item(realm, event.get("intuitentityid"), event.get("time"))


def _legacy(notifications: list[Any]) -> Iterator[Change]:
    for note in notifications:
        if not isinstance(note, dict) or "realmId" not in note:
            raise MalformedPayload("an eventNotifications entry has a realmId")
        realm = str(note["realmId"])
        entities = (note.get("dataChangeEvent") or {}).get("entities") or []
        if not isinstance(entities, list):
            raise MalformedPayload("dataChangeEvent.entities is a list")
        for entity in entities:
            if not isinstance(entity, dict) or entity.get("name") != "Item":
                yield Change(realm, None, None, "not_a_product")
                continue
            yield _item(realm, entity.get("id"), entity.get("lastUpdated"))


def _item(realm: str, item_id: Any, when: Any) -> Change:
    moment = _parse_time(when)
    if item_id is None or moment is None:
        return Change(realm, None, None, "no_time")
    return Change(realm, str(item_id), moment.replace(microsecond=0))


def _parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        return None
    return moment.astimezone(UTC)
