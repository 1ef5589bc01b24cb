"""HubSpot responses → the error tree (api-reference §1.5, §1.6).

=====================  ==========================================================
status / envelope      class
=====================  ==========================================================
2xx                    none
400, 409, 414, other   ValidationFailed (category + embedded per-property codes)
401                    ReauthRequired (short park; HubSpot: a 401 is no refresh cue)
403                    AuthRefused (missing scopes)
404                    NotFound (body may be empty or HTML)
423                    TransientError, retry after ≥ 2 s
429 TEN_SECONDLY / SECONDLY / search  RateLimited (Retry-After, else the window)
429 DAILY              QuotaExhausted until the portal's next midnight
477                    TransientError with Retry-After; a long one parks (QuotaExhausted)
5xx, 52x               TransientError
=====================  ==========================================================
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any

import requests

from workers.errors import (
    AuthRefused,
    NotFound,
    QuotaExhausted,
    RateLimited,
    ReauthRequired,
    SyncError,
    TransientError,
    ValidationFailed,
)
from workers.http.common import parse_body, retry_after_seconds, snippet, wait_or_park
from workers.http.redact import redact

SYSTEM = "hubspot"
_EMBEDDED_CODE = re.compile(r'"error"\s*:\s*"([A-Z_]+)"')
# After a 401 the job waits this long before trying again: a person may be rotating the token.
REAUTH_PARK = timedelta(minutes=5)


def hubspot_error(
    response: requests.Response, *, portal_timezone: tzinfo = UTC
) -> SyncError | None:
    """The error a HubSpot response stands for, or None for success."""
    status = response.status_code
    if status < 300:
        return None
    body = parse_body(response)
    return classify(
        status,
        body if isinstance(body, dict) else {},
        text=snippet(response),
        correlation_id=response.headers.get("X-HubSpot-Correlation-Id"),
        retry_after=retry_after_seconds(response.headers),
        portal_timezone=portal_timezone,
    )


def classify(
    status: int,
    envelope: dict[str, Any],
    *,
    text: str = "",
    correlation_id: str | None = None,
    retry_after: float | None = None,
    portal_timezone: tzinfo = UTC,
) -> SyncError:
    """The error of a HubSpot error envelope answered with ``status`` (≥ 300): a whole
    response's (`hubspot_error`) or one batch input's, which carries no headers."""
    category = _text(envelope.get("category")) or _text(envelope.get("errorType"))
    vendor_message = redact(_text(envelope.get("message")) or text) or "no details"
    corr = _text(envelope.get("correlationId")) or correlation_id
    where = f" (correlation id {corr})" if corr else ""
    common: dict[str, Any] = {"system": SYSTEM, "status": status, "vendor_code": category or None}

    if status == 429:
        return _rate_limited(envelope, vendor_message, retry_after, portal_timezone, common)
    if status == 423:
        return TransientError(
            f"HubSpot 423 Locked: the portal is syncing a large volume of data; "
            f"retrying after at least 2 seconds{where}",
            retry_after=max(2.0, retry_after or 0.0),
            **common,
        )
    if status == 477:
        return wait_or_park(
            TransientError,
            f"HubSpot 477 Migration in progress for this portal{where}",
            retry_after=retry_after if retry_after is not None else 60.0,
            park_code="vendor_migration",
            **common,
        )
    if status >= 500:
        return TransientError(
            f"HubSpot {status} {category or 'server error'}: {vendor_message}; "
            f"retrying with backoff{where}",
            retry_after=retry_after,
            **common,
        )
    if status == 401:
        return ReauthRequired(
            f"HubSpot 401 {category or 'INVALID_AUTHENTICATION'}: the token was refused; "
            "if this persists reconnect the portal with `productsync connect hubspot`",
            until=datetime.now(UTC) + REAUTH_PARK,
            **common,
        )
    if status == 403:
        sub = _text(envelope.get("subCategory"))
        return AuthRefused(
            f"HubSpot 403 {sub or category or 'FORBIDDEN'}: {vendor_message}; grant the app the "
            "crm.objects.products.read/write scopes and reconnect",
            **common,
        )
    if status == 404:
        return NotFound(f"HubSpot 404: the product does not exist or is archived{where}", **common)
    codes = sorted(set(_EMBEDDED_CODE.findall(_text(envelope.get("message")))))
    details = {"property_errors": codes} if codes else None
    code_text = (f" {category}" if category else "") + (f" [{', '.join(codes)}]" if codes else "")
    return ValidationFailed(
        f"HubSpot {status}{code_text}: {vendor_message}; fix the value or the field mapping{where}",
        details=details,
        **common,
    )


def _rate_limited(
    envelope: dict[str, Any],
    vendor_message: str,
    retry_after: float | None,
    portal_timezone: tzinfo,
    common: dict[str, Any],
) -> SyncError:
    policy = _text(envelope.get("policyName")).upper()
    common = {**common, "vendor_code": policy or common["vendor_code"] or "RATE_LIMIT"}
    if policy == "DAILY":
        until = next_midnight(portal_timezone)
        return QuotaExhausted(
            f"HubSpot 429 DAILY: the portal's daily API limit is used up; syncing resumes "
            f"after midnight portal time ({until:%Y-%m-%d %H:%M} UTC)",
            until=until,
            **common,
        )
    window = 1.0 if policy == "SECONDLY" else 10.0
    return wait_or_park(
        RateLimited,
        f"HubSpot 429 {policy or 'RATE_LIMIT'}: {vendor_message}",
        retry_after=retry_after if retry_after is not None else window,
        park_code="quota",
        **common,
    )


def hubspot_pause(response: requests.Response) -> float | None:
    """Seconds every worker of the portal should hold off after this answer: the
    burst headers say the rolling window is used up (by us or by another app sharing the
    portal), so the next call would be a 429. One second lets the oldest calls age out."""
    remaining = response.headers.get("X-HubSpot-RateLimit-Remaining")
    if remaining is not None and remaining.strip().lstrip("-").isdigit() and int(remaining) <= 0:
        return 1.0
    return None


def next_midnight(zone: tzinfo, now: datetime | None = None) -> datetime:
    """The next midnight in ``zone``, as aware UTC."""
    local = (now or datetime.now(UTC)).astimezone(zone)
    midnight = datetime.combine(local.date() + timedelta(days=1), datetime.min.time(), zone)
    return midnight.astimezone(UTC)


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""
