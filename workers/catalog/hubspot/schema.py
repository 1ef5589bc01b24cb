"""What a portal's product properties allow, learned once per process and portal.

* ``hs_sku`` unique or not (``hasUniqueValue``): a unique SKU can be read by
  ``?idProperty=hs_sku`` (exact, no search-index lag); otherwise SKU lookups use search.
* ``productsync_write_id``: our own unique property. Creates go through batch upsert keyed
  on it with the request id, so replaying a create after a lost response finds the object
  the first attempt made. Created when missing; when the portal refuses (403, no schema
  scope) creates fall back to plain POST and a log line says idempotency is lost.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import Any

from workers.catalog.hubspot.records import SKU, WRITE_ID
from workers.catalog.port import FieldSpec
from workers.errors import AuthRefused, NotFound, ValidationFailed
from workers.http.caller import VendorCaller
from workers.http.common import json_or_transient

log = logging.getLogger(__name__)

PROPERTIES = "/crm/v3/properties/products"
_KINDS: dict[str, Any] = {
    "string": "string",
    "number": "number",
    "enumeration": "enumeration",
    "bool": "bool",
    "date": "date",
    "datetime": "date",
}


@dataclass
class PortalSchema:
    sku_unique: bool | None = None
    write_id_usable: bool | None = None
    fields: dict[str, FieldSpec] | None = None


_cache: dict[tuple[str, str], PortalSchema] = {}
_lock = threading.Lock()


def schema_for(base_url: str, portal: str) -> PortalSchema:
    with _lock:
        return _cache.setdefault((base_url, portal), PortalSchema())


def forget_all() -> None:
    with _lock:
        _cache.clear()


def sku_is_unique(caller: VendorCaller, schema: PortalSchema) -> bool:
    if schema.sku_unique is None:
        try:
            body = json_or_transient(caller.call("GET", f"{PROPERTIES}/{SKU}"), "hubspot")
        except AuthRefused:
            # Reading property definitions needs a schema scope the app may lack; search
            # works whether or not hs_sku is unique, so fall back to it.
            log.warning(
                "HubSpot refused reading the hs_sku definition (403); SKU lookups use search"
            )
            body = {}
        schema.sku_unique = bool(body.get("hasUniqueValue"))
    return schema.sku_unique


def ensure_write_id(caller: VendorCaller, schema: PortalSchema) -> bool:
    """Whether creates can be keyed on ``productsync_write_id`` (creating it if needed)."""
    if schema.write_id_usable is None:
        schema.write_id_usable = _ensure_write_id(caller)
    return schema.write_id_usable


def _ensure_write_id(caller: VendorCaller) -> bool:
    try:
        body = json_or_transient(caller.call("GET", f"{PROPERTIES}/{WRITE_ID}"), "hubspot")
    except NotFound:
        body = None
    except AuthRefused:
        log.warning(
            "HubSpot refused reading product properties (403); creates fall back to plain "
            "POST and are NOT idempotent after a lost response"
        )
        return False
    if body is None:
        definition = {
            "name": WRITE_ID,
            "label": "productsync write id",
            "description": "Set by productsync to make creates idempotent; do not edit.",
            "groupName": "productinformation",
            "type": "string",
            "fieldType": "text",
            "hasUniqueValue": True,
        }
        try:
            body = json_or_transient(
                caller.call("POST", PROPERTIES, json_body=definition), "hubspot"
            )
        except AuthRefused:
            log.warning(
                "HubSpot refused creating the custom property %s (403); creates fall back to "
                "plain POST and are NOT idempotent after a lost response",
                WRITE_ID,
            )
            return False
        except ValidationFailed as exc:
            # Another worker may have created it a moment ago (409, or 400: which one
            # HubSpot sends is [U]); if it exists now, use it, else the refusal stands.
            try:
                body = json_or_transient(caller.call("GET", f"{PROPERTIES}/{WRITE_ID}"), "hubspot")
            except NotFound:
                raise exc from None
    if not body.get("hasUniqueValue"):
        log.warning(
            "HubSpot property %s exists but is not unique; creates fall back to plain POST "
            "and are NOT idempotent after a lost response",
            WRITE_ID,
        )
        return False
    return True


def writable_fields(caller: VendorCaller, schema: PortalSchema) -> dict[str, FieldSpec]:
    if schema.fields is None:
        body = json_or_transient(caller.call("GET", PROPERTIES), "hubspot")
        fields: dict[str, FieldSpec] = {}
        for prop in body.get("results", []):
            spec = _field_spec(prop)
            if spec is not None:
                fields[spec.name] = spec
        schema.fields = fields
    return dict(schema.fields)


def _field_spec(prop: dict[str, Any]) -> FieldSpec | None:
    name = prop.get("name")
    meta = prop.get("modificationMetadata") or {}
    read_only = bool(meta.get("readOnlyValue")) or bool(prop.get("calculated"))
    if not isinstance(name, str) or read_only or name == WRITE_ID:
        return None
    options = tuple(str(o.get("value")) for o in prop.get("options") or [] if isinstance(o, dict))
    return FieldSpec(
        name=name,
        kind=_KINDS.get(str(prop.get("type")), "string"),
        label=str(prop.get("label") or name),
        options=options,
    )
