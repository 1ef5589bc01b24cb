"""HubSpot batch writes: inputs out, one outcome per input back (api-reference §1.3;
checklist 7).

Every input carries a distinct ``objectWriteTraceId`` (the write's key): with one, a bad
input costs only itself (HubSpot answers 207 with ``errors``); without, one bad input
refuses the whole call. Results come in no guaranteed order and are matched back by trace
id, else by our write id (upserts) or the record id (updates). A per-input error is
classified by the HTTP edge's own classifier, as if its body had been answered alone.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from workers.catalog.hubspot.records import WRITE_ID
from workers.errors import SyncError, TransientError
from workers.http.hubspot_errors import classify

MAX_INPUTS = 100  # HubSpot's limit per batch call

# The status HubSpot gives a single call failing with each category (api-reference §1.5);
# a per-input error carries only the category. Anything else reads as a 400.
_CATEGORY_STATUS = {
    "VALIDATION_ERROR": 400,
    "INVALID_AUTHENTICATION": 401,
    "EXPIRED_AUTHENTICATION": 401,
    "MISSING_SCOPES": 403,
    "FORBIDDEN": 403,
    "OBJECT_NOT_FOUND": 404,
    "CONFLICT": 409,
    "OBJECT_ALREADY_EXISTS": 409,
    "LOCKED": 423,
    "RATE_LIMITS": 429,
    "INTERNAL_ERROR": 500,
    "SERVICE_UNAVAILABLE": 503,
}

Outcome = Mapping[str, Any] | SyncError  # a result object, or that input's error


def upsert_input(key: str, request_id: str, properties: Mapping[str, str]) -> dict[str, Any]:
    """A create keyed on our unique write id: a replay finds what the first try made."""
    return {
        "idProperty": WRITE_ID,
        "id": request_id,
        "properties": dict(properties),
        "objectWriteTraceId": key,
    }


def update_input(key: str, record_id: str, properties: Mapping[str, str]) -> dict[str, Any]:
    return {"id": record_id, "properties": dict(properties), "objectWriteTraceId": key}


def by_write_id(obj: Mapping[str, Any]) -> str | None:
    properties = obj.get("properties")
    value = properties.get(WRITE_ID) if isinstance(properties, dict) else None
    return str(value) if value else None


def by_record_id(obj: Mapping[str, Any]) -> str | None:
    return str(obj["id"]) if obj.get("id") is not None else None


def correlate(
    body: Any,
    keys: Iterable[str],
    keys_by_match: Mapping[str, str],
    match: Callable[[Mapping[str, Any]], str | None],
) -> dict[str, Outcome]:
    """Each key's result object or error. ``keys_by_match`` maps what ``match`` reads from a
    result (and what an error's ``context.ids`` lists) to the key that wrote it. A key in
    neither results nor errors may or may not have been written: ``outcome_unknown``."""
    wanted = set(keys)
    envelope: dict[str, Any] = body if isinstance(body, dict) else {}
    outcomes: dict[str, Outcome] = {}
    for obj in _objects(envelope.get("results")):
        key = _key(obj.get("objectWriteTraceId"), wanted) or keys_by_match.get(match(obj) or "")
        if key is not None:
            outcomes.setdefault(key, obj)
    for error in _objects(envelope.get("errors")):
        context = error.get("context") if isinstance(error.get("context"), dict) else {}
        traced = [_key(t, wanted) for t in _strings(context.get("objectWriteTraceId"))]
        named = [keys_by_match.get(i) for i in _strings(context.get("ids"))]
        classified = item_error(error)
        for key in [k for k in traced if k] or [k for k in named if k]:
            outcomes.setdefault(key, classified)
    for key in wanted - outcomes.keys():
        outcomes[key] = TransientError(
            "HubSpot's batch answer says nothing about this product; it may or may not have "
            "been written, retrying",
            system="hubspot",
            details={"outcome_unknown": True},
        )
    return outcomes


def item_error(error: Mapping[str, Any]) -> SyncError:
    """One input's error, classified exactly as the same body answered alone would be."""
    status = _CATEGORY_STATUS.get(str(error.get("category") or ""), 400)
    # Without a message, the start of the body stands in (as `snippet` does for a response).
    text = " ".join(json.dumps(error, default=str)[:200].split())
    return classify(status, dict(error), text=text)


def _objects(value: Any) -> list[dict[str, Any]]:
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    return [str(v) for v in value] if isinstance(value, list) else []


def _key(trace: Any, keys: set[str]) -> str | None:
    return trace if isinstance(trace, str) and trace in keys else None
