"""What both vendors' classifiers share: Retry-After, body parsing, exceptions, parking."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any

import requests

from workers.errors import QuotaExhausted, RetryableError, SyncError, TransientError
from workers.http import jsonwire
from workers.http.redact import redact

# A Retry-After longer than this parks the job in Postgres instead of a Celery countdown
# (the design keeps countdowns to a few minutes, far below the broker's visibility timeout).
PARK_AFTER_SECONDS = 120.0

VENDOR_NAMES = {"hubspot": "HubSpot", "quickbooks": "QuickBooks Online"}


def retry_after_seconds(headers: Mapping[str, str], now: datetime | None = None) -> float | None:
    """``Retry-After`` as seconds (delta-seconds or HTTP-date), None when absent or garbled."""
    raw = headers.get("Retry-After")
    if raw is None:
        return None
    raw = raw.strip()
    try:
        return max(0.0, float(raw))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(raw)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def parse_body(response: requests.Response) -> Any:
    """The JSON body (numbers as Decimal), or None when empty or not JSON."""
    content = response.content
    if not content or not content.strip():
        return None
    try:
        return jsonwire.loads(content)
    except ValueError:
        return None


def json_or_transient(response: requests.Response, system: str) -> Any:
    """The JSON body of a successful answer; a missing or broken body is transient
    (the vendor acted or not, we cannot tell: the retry reuses the same request id)."""
    body = parse_body(response)
    if body is None:
        raise TransientError(
            f"{VENDOR_NAMES[system]} answered {response.status_code} with an empty or "
            "non-JSON body; the request will be retried",
            system=system,
            status=response.status_code,
            details={"outcome_unknown": True},
        )
    return body


def snippet(response: requests.Response, limit: int = 200) -> str:
    """A short, redacted piece of a non-JSON body, for error messages."""
    text = response.content[:limit].decode("utf-8", errors="replace").strip()
    return redact(" ".join(text.split()))


def wait_or_park(
    cls: type[RetryableError],
    message: str,
    *,
    retry_after: float | None,
    park_code: str,
    **kw: Any,
) -> SyncError:
    """A retryable error for a short wait, a parked `QuotaExhausted` for a long one."""
    if retry_after is not None and retry_after > PARK_AFTER_SECONDS:
        until = datetime.now(UTC) + timedelta(seconds=retry_after)
        return QuotaExhausted(
            f"{message}; paused until {until:%Y-%m-%d %H:%M} UTC", until=until, code=park_code, **kw
        )
    return cls(message, retry_after=retry_after, **kw)


def classify_exception(exc: requests.RequestException, system: str, method: str) -> SyncError:
    """A transport failure as a `TransientError`; says whether the vendor may have acted."""
    vendor = VENDOR_NAMES[system]
    if isinstance(exc, requests.ConnectTimeout):
        what, unknown = "connecting timed out", False
    elif isinstance(exc, requests.ReadTimeout):
        what, unknown = "the answer timed out", True
    elif isinstance(exc, requests.ConnectionError) and _never_connected(exc):
        what, unknown = "the connection was refused", False
    elif isinstance(exc, requests.ConnectionError | requests.exceptions.ChunkedEncodingError):
        what, unknown = "the connection broke before the answer was complete", True
    else:
        what, unknown = f"the request failed ({type(exc).__name__})", True
    unknown = unknown and method not in ("GET", "HEAD")
    return TransientError(
        f"{vendor}: {what}; the request will be retried"
        + (" with the same request id (the vendor may have acted)" if unknown else ""),
        system=system,
        details={"outcome_unknown": unknown},
    )


def _never_connected(exc: requests.ConnectionError) -> bool:
    text = repr(exc.args)
    return any(s in text for s in ("NewConnectionError", "Connection refused", "NameResolution"))
