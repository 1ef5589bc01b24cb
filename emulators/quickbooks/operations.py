"""The QBO operations beyond a single Item read: write dispatch, CDC and batch.

Pure functions of a :class:`~emulators.quickbooks.realm.Realm` and the
:class:`~emulators.quickbooks.switches.Switches`; the HTTP layer adds auth, throttling,
metering and envelopes. Faults are raised as :class:`~emulators.quickbooks.faults.QboFault`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import timedelta
from typing import Any

from emulators.quickbooks import faults
from emulators.quickbooks.entities import Entity, item_json, render_account, render_item
from emulators.quickbooks.jsonio import format_datetime, parse_datetime
from emulators.quickbooks.query_exec import run_query_text
from emulators.quickbooks.realm import Realm
from emulators.quickbooks.switches import Switches

__all__ = ["CDC_ENTITIES", "Metering", "batch", "cdc", "write_item"]

CDC_ENTITIES = ("Item", "Account")
Metering = Callable[[str], None]  # called with "core" or "coreplus" once per metered call


def write_item(realm: Realm, body: Any, switches: Switches) -> Entity:
    """``POST …/item``: an update when the body has an ``Id``, else a create."""
    if not isinstance(body, Mapping):
        raise faults.bad_property("Item", "Item")
    if body.get("Id") is not None:
        return realm.update_item(body, switches)
    return realm.create_item(body, switches)


def cdc(realm: Realm, entities: str | None, changed_since: str | None,
        switches: Switches) -> list[dict[str, Any]]:
    """The ``CDCResponse`` list: changed entities (oldest first) and Account deletions."""
    if not entities:
        raise faults.required_missing("entities")
    if not changed_since:
        raise faults.required_missing("changedSince")
    names = [name.strip() for name in entities.split(",") if name.strip()]
    for name in names:
        if name not in CDC_ENTITIES:
            raise faults.processing_error(f"CDC is not supported for entity {name}")
    try:
        since = parse_datetime(changed_since, realm.tz)
    except ValueError:
        raise faults.bad_property("changedSince", "changedSince") from None
    if since < realm.now() - timedelta(days=switches.cdc_lookback_days):
        raise faults.processing_error(
            f"changedSince must be within the last {switches.cdc_lookback_days} days")
    budget = switches.cdc_max_objects
    responses: list[dict[str, Any]] = []
    for name in names:
        render = item_json if name == "Item" else render_account
        objects: list[Any] = [render(e, realm.tz)
                                         for e in realm.changed_since(name, since)]
        objects += [
            {"Id": entity_id, "status": "Deleted",
             "MetaData": {"CreateTime": format_datetime(created, realm.tz),
                          "LastUpdatedTime": format_datetime(deleted, realm.tz)}}
            for entity_id, created, deleted in realm.deleted.get(name, ())
            if deleted >= since
        ]
        if len(objects) > budget:
            if switches.cdc_over_limit == "error":
                raise faults.processing_error(
                    f"CDC response exceeds {switches.cdc_max_objects} objects; "
                    "use a later changedSince")
            objects = objects[:budget]
        budget -= len(objects)
        if objects:
            responses.append({name: objects, "startPosition": 1, "maxResults": len(objects)})
        else:
            responses.append({})
    return [{"QueryResponse": responses}]


def _batch_item(realm: Realm, entry: Any, switches: Switches, meter: Metering) -> dict[str, Any]:
    if not isinstance(entry, Mapping):
        raise faults.bad_property("BatchItemRequest", "BatchItemRequest")
    if "Query" in entry:
        meter("coreplus")
        return {"QueryResponse": run_query_text(str(entry["Query"]), realm, switches)}
    operation = str(entry.get("operation", "")).lower()
    body = entry.get("Item")
    if body is None:
        others = [k for k in entry if k not in ("bId", "operation", "optionsData")]
        raise faults.unsupported_operation(
            f"Operation {operation or '?'} is not supported for {others[0] if others else '?'}.")
    if operation == "create":
        meter("core")
        if isinstance(body, Mapping) and body.get("Id") is not None:
            raise faults.bad_property("Id", "Id")
        return {"Item": render_item(realm.create_item(body, switches), realm.tz)}
    if operation == "update":
        meter("core")
        if not isinstance(body, Mapping):
            raise faults.bad_property("Item", "Item")
        return {"Item": render_item(realm.update_item(body, switches), realm.tz)}
    raise faults.unsupported_operation(f"Operation {operation or '?'} is not supported for Item.")


def batch(realm: Realm, body: Any, switches: Switches, meter: Metering) -> list[dict[str, Any]]:
    """``BatchItemResponse``: items run serially; each answers an entity, a QueryResponse or
    its own Fault, keyed by ``bId``. Too many items is a Fault for the whole request."""
    requests = body.get("BatchItemRequest") if isinstance(body, Mapping) else None
    if not isinstance(requests, list):
        raise faults.required_missing("BatchItemRequest")
    if len(requests) > switches.batch_max_items:
        raise faults.business_rule(
            f"Number of items in the batch request ({len(requests)}) exceeds the maximum "
            f"of {switches.batch_max_items}.", "BatchItemRequest")
    responses: list[dict[str, Any]] = []
    for entry in requests:
        bid = entry.get("bId") if isinstance(entry, Mapping) else None
        try:
            result = _batch_item(realm, entry, switches, meter)
        except faults.QboFault as fault:
            result = {"Fault": fault.fault_json()}
        responses.append({"bId": bid, **result})
    return responses
