"""The one error tree. Vendor responses are classified into it once, at the HTTP edge.

::

    SyncError                      every failure the sync knows how to handle
    ├── RetryableError             try again soon (backoff + full jitter, Retry-After wins)
    │   ├── TransientError         timeout, reset, 5xx, 423, truncated body
    │   ├── RateLimited            429 with a short or no Retry-After
    │   ├── StaleObject            QBO 5010: re-read and re-apply
    │   └── LockBusy               another worker holds the (account, SKU) lock
    ├── ParkedError                wait in Postgres until `until`, then resume by itself
    │   ├── QuotaExhausted         daily quota, long Retry-After, metered-read block
    │   ├── CircuitOpen            too many consecutive failures against one vendor account
    │   └── ReauthRequired         invalid_grant / revoked token: a person must reconnect
    └── TerminalError              no retry; recorded with a code and a human message
        ├── ValidationFailed       vendor 400 validation, bad mapped value
        ├── DuplicateName          QBO 6240 (carries the clashing item id when known)
        ├── NotFound               the object does not exist (any more)
        ├── AuthRefused            403 / missing scope / wrong realm
        └── DataError              our own rules: missing SKU, duplicate SKU, bad price, ...

Every error carries a machine-readable ``code`` (stable snake_case, used in the history
and the CLI), a ``message`` a person understands, and optionally the vendor's own code
(``vendor_code``) and the ``system`` it came from. Messages never contain secrets: the
HTTP edge builds them from status, vendor code and vendor message only.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any


class SyncError(Exception):
    """Base of the tree. ``code`` is machine-readable, ``message`` is for people."""

    default_code = "sync_error"

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        system: str | None = None,
        vendor_code: str | None = None,
        status: int | None = None,
        details: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code or self.default_code
        self.system = system
        self.vendor_code = vendor_code
        self.status = status
        self.details: dict[str, Any] = dict(details or {})

    def as_record(self) -> dict[str, Any]:
        """What the history stores: JSON-safe, secret-free."""
        record: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.system:
            record["system"] = self.system
        if self.vendor_code:
            record["vendor_code"] = self.vendor_code
        if self.status is not None:
            record["status"] = self.status
        if self.details:
            record["details"] = self.details
        return record

    def __repr__(self) -> str:
        return f"{type(self).__name__}(code={self.code!r}, message={self.message!r})"


# -- retryable ---------------------------------------------------------------------------


class RetryableError(SyncError):
    default_code = "retryable"

    # A wait for someone else (a rate limit, another worker's SKU lock) rather than a
    # failed try: it does not use up the job's attempts budget.
    waits_by_default = False

    def __init__(
        self,
        message: str,
        *,
        retry_after: float | None = None,
        waiting: bool | None = None,
        **kw: Any,
    ) -> None:
        super().__init__(message, **kw)
        self.retry_after = retry_after
        self.waiting = self.waits_by_default if waiting is None else waiting


class TransientError(RetryableError):
    default_code = "vendor_unavailable"


class RateLimited(RetryableError):
    default_code = "rate_limited"
    waits_by_default = True


class StaleObject(RetryableError):
    default_code = "stale_object"


class LockBusy(RetryableError):
    default_code = "lock_busy"


# -- parked ------------------------------------------------------------------------------


class ParkedError(SyncError):
    """The job waits in Postgres with a reason; it resumes when the cause is gone."""

    default_code = "parked"

    def __init__(self, message: str, *, until: datetime | None = None, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.until = until


class QuotaExhausted(ParkedError):
    default_code = "quota"


class CircuitOpen(ParkedError):
    default_code = "circuit_open"


class ReauthRequired(ParkedError):
    default_code = "needs_reauth"


# -- terminal ----------------------------------------------------------------------------


class TerminalError(SyncError):
    default_code = "terminal"


class ValidationFailed(TerminalError):
    default_code = "vendor_validation"


class DuplicateName(TerminalError):
    default_code = "duplicate_name"

    def __init__(self, message: str, *, clashing_ids: Sequence[str] = (), **kw: Any) -> None:
        super().__init__(message, **kw)
        self.clashing_ids = list(clashing_ids)
        if self.clashing_ids:
            self.details.setdefault("clashing_ids", self.clashing_ids)


class NotFound(TerminalError):
    default_code = "not_found"


class AuthRefused(TerminalError):
    default_code = "auth_refused"


class DataError(TerminalError):
    """A product breaks one of our own rules (missing SKU, duplicate SKU, bad price...)."""

    default_code = "invalid_data"


def nothing_written(error: SyncError) -> bool:
    """True when ``error`` means the vendor did not perform the call: our rate budget or
    an open circuit refused to send it, or the vendor refused it as a whole (a 429, a
    spent quota, a token it does not accept). A timeout or a 5xx may have written."""
    return isinstance(error, RateLimited | ParkedError)
