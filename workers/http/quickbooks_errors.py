"""QuickBooks Online responses → the error tree (api-reference §2.7, §2.8).

Both fault shapes are read: data-service ``{"Fault": {"Error": [{"code", "Message",
"Detail"}], "type"}}`` and gateway ``{"fault": {"error": [{"code", "message", "detail"}],
"type"}}`` (401/403/429).

=============================  ====================================================
status / code                  class
=============================  ====================================================
2xx                            none
400 5010                       StaleObject (re-read, re-apply; never retried here)
400 6240                       DuplicateName (the catalog adds the clashing item id)
400 610, 404                   NotFound
400 6190                       AuthRefused (company subscription not active)
400 other (2xxx, 4xxx, 6000…)  ValidationFailed
401                            ReauthRequired after the one refresh-and-replay
403                            AuthRefused
429                            RateLimited (Retry-After, else 5 s); long → QuotaExhausted
5xx                            TransientError
=============================  ====================================================
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import requests

from workers.errors import (
    AuthRefused,
    DuplicateName,
    NotFound,
    RateLimited,
    ReauthRequired,
    StaleObject,
    SyncError,
    TransientError,
    ValidationFailed,
)
from workers.http.common import parse_body, retry_after_seconds, snippet, wait_or_park
from workers.http.redact import redact

SYSTEM = "quickbooks"
REAUTH_PARK = timedelta(minutes=5)
# No documented Retry-After on QBO 429s. The shared budget already keeps us under the
# per-minute and per-second limits, so a 429 without one is most likely another app or a
# burst: hold the whole account off for a few seconds, not a full minute.
DEFAULT_THROTTLE_WAIT = 5.0


@dataclass(frozen=True)
class Fault:
    code: str
    message: str
    detail: str
    element: str
    type: str


def faults(body: Any) -> list[Fault]:
    """Every fault entry of either envelope casing; tolerant of missing fields."""
    if not isinstance(body, dict):
        return []
    envelope = body.get("Fault") or body.get("fault")
    if not isinstance(envelope, dict):
        return []
    entries = envelope.get("Error") or envelope.get("error") or []
    kind = _text(envelope.get("type"))
    found = []
    for entry in entries if isinstance(entries, list) else []:
        if not isinstance(entry, dict):
            continue
        found.append(
            Fault(
                code=_text(entry.get("code")),
                message=redact(_text(entry.get("Message") or entry.get("message"))),
                detail=redact(_text(entry.get("Detail") or entry.get("detail"))),
                element=_text(entry.get("element")),
                type=kind,
            )
        )
    return found


def quickbooks_error(response: requests.Response) -> SyncError | None:
    """The error a QBO response stands for, or None for success (also for a 200 whose
    body is a Fault, which QBO never sends for single-entity calls but batch items do)."""
    status = response.status_code
    if status < 300:
        return None
    found = faults(parse_body(response))
    first = found[0] if found else None
    code = first.code if first else ""
    text = (f"{first.message}: {first.detail}".strip(": ") if first else "") or snippet(response)
    tid = response.headers.get("intuit_tid")
    where = f" (intuit_tid {tid})" if tid else ""
    common: dict[str, Any] = {"system": SYSTEM, "status": status, "vendor_code": code or None}
    if len(found) > 1:
        common["details"] = {"faults": [f"{f.code} {f.message}" for f in found]}
    return from_fault(status, code, text, where, response, common)


def from_fault(
    status: int,
    code: str,
    text: str,
    where: str,
    response: requests.Response | None,
    common: dict[str, Any],
) -> SyncError:
    """Classify one fault (also used for batch item faults, which come with HTTP 200)."""
    label = f"QuickBooks {status}" + (f" code {code}" if code else "")
    if status == 429 or code == "3001":
        retry_after = retry_after_seconds(response.headers) if response is not None else None
        return wait_or_park(
            RateLimited,
            f"{label} ThrottleExceeded: {text}",
            retry_after=retry_after if retry_after is not None else DEFAULT_THROTTLE_WAIT,
            park_code="quota",
            **common,
        )
    if status >= 500:
        return TransientError(f"{label}: {text}; retrying with backoff{where}", **common)
    if status == 401:
        return ReauthRequired(
            f"{label}: the access token was refused even after a refresh; if this persists "
            "reconnect the company with `productsync connect quickbooks`",
            until=datetime.now(UTC) + REAUTH_PARK,
            **common,
        )
    if status == 403:
        return AuthRefused(
            f"{label}: {text}; check that the app is authorized for this company "
            "(com.intuit.quickbooks.accounting scope) and reconnect",
            **common,
        )
    if code == "5010":
        return StaleObject(
            f"{label} Stale Object Error: the item changed since it was read; "
            "it will be re-read and the change re-applied",
            **common,
        )
    if code == "6240":
        return DuplicateName(
            f"{label} Duplicate Name Exists: another item already uses this name; rename one "
            "of them in QuickBooks or adjust the name mapping",
            **common,
        )
    if code == "610" or status == 404:
        return NotFound(f"{label} Object Not Found: {text}{where}", **common)
    if code == "6190":
        return AuthRefused(
            f"{label} Invalid Company Status: the QuickBooks subscription is not active; "
            "reactivate it, then resume",
            **common,
        )
    return ValidationFailed(f"{label}: {text}; fix the value or the field mapping{where}", **common)


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ("" if value is None else str(value))
