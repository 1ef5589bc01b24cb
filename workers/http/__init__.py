"""The HTTP edge: pooled sessions with explicit timeouts, redaction, and classification of
every vendor response or transport failure into `workers.errors`, once, right here."""

from workers.http.common import (
    PARK_AFTER_SECONDS,
    classify_exception,
    json_or_transient,
    parse_body,
    retry_after_seconds,
)
from workers.http.hubspot_errors import hubspot_error, hubspot_pause, next_midnight
from workers.http.quickbooks_errors import Fault, faults, from_fault, quickbooks_error
from workers.http.redact import redact
from workers.http.transport import Timeouts, basic, bearer, close_all, send, session_for

__all__ = [
    "PARK_AFTER_SECONDS",
    "Fault",
    "Timeouts",
    "basic",
    "bearer",
    "classify_exception",
    "close_all",
    "faults",
    "from_fault",
    "hubspot_error",
    "hubspot_pause",
    "json_or_transient",
    "next_midnight",
    "parse_body",
    "quickbooks_error",
    "redact",
    "retry_after_seconds",
    "send",
    "session_for",
]
