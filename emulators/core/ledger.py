"""The request ledger: every vendor request an emulator answered, in arrival order.

Tests and benchmarks read it (through the admin API) to count calls by kind, to check
that a retry reused its ``requestid``, or that a no-op sync made no write call. Admin
requests are never recorded. The hot path stores raw bytes; parsing happens on read.
"""

from __future__ import annotations

import json
import re
import threading
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

BODY_LIMIT = 4096  # bytes kept per request body; enough to see what a client sent
# A batch (at most 30 QBO items or 100 HubSpot inputs) is kept whole up to this, so tests
# and benchmarks can tell which products each of its operations wrote.
BATCH_BODY_LIMIT = 256 * 1024


@dataclass
class LedgerEntry:
    """One recorded request. ``status`` is None when the connection was dropped unanswered."""

    seq: int
    time: datetime
    vendor: str
    account: str | None
    method: str
    path: str
    query: dict[str, str | list[str]]
    requestid: str | None
    raw_body: bytes
    body_truncated: bool
    status: int | None
    kind: str
    fault: str | None = None
    duration_ms: float = 0.0
    operations: tuple[int, int] | None = None  # a batch: (operations, of which writes)
    refused: list[str] | None = None  # a batch: the ids of the operations it refused
    _body: Any = field(default=None, repr=False)

    @property
    def body(self) -> Any:
        """The request body: parsed JSON when it is JSON, else text; None when empty."""
        if self._body is None and self.raw_body:
            text = self.raw_body.decode("utf-8", errors="replace")
            if self.body_truncated:
                self._body = text + "…"
            else:
                try:
                    self._body = json.loads(text)
                except ValueError:
                    self._body = text
        return self._body

    def as_dict(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "time": self.time.isoformat().replace("+00:00", "Z"),
            "vendor": self.vendor,
            "account": self.account,
            "method": self.method,
            "path": self.path,
            "query": self.query,
            "requestid": self.requestid,
            "body": self.body,
            "status": self.status,
            "kind": self.kind,
            "fault": self.fault,
            "duration_ms": round(self.duration_ms, 3),
            "operations": list(self.operations) if self.operations else None,
            "refused": self.refused,
        }


def query_dict(pairs: Iterable[tuple[str, str]]) -> dict[str, str | list[str]]:
    """A query string as a dict; a repeated key keeps all its values as a list."""
    out: dict[str, str | list[str]] = {}
    for key, value in pairs:
        if key in out:
            prev = out[key]
            out[key] = [*prev, value] if isinstance(prev, list) else [prev, value]
        else:
            out[key] = value
    return out


def batch_operations(path: str, body: bytes) -> tuple[int, int] | None:
    """(operations, of which writes) carried by one batch request body; None when the
    body is not a batch. HubSpot: every input does what the path says; QBO: each item is
    an operation (a write) or a query."""
    try:
        parsed = json.loads(body)
    except ValueError:
        return None
    if not isinstance(parsed, dict):
        return None
    if isinstance(parsed.get("inputs"), list):
        n = len(parsed["inputs"])
        return n, 0 if path.endswith("/read") else n
    items = parsed.get("BatchItemRequest")
    if isinstance(items, list):
        writes = sum(1 for item in items if isinstance(item, dict) and "operation" in item)
        return len(items), writes
    return None


class Ledger:
    """Bounded, thread-safe log of requests. Sequence numbers never restart, even on clear,
    so a reader's ``since`` cursor stays valid."""

    def __init__(self, vendor: str, capacity: int = 200_000) -> None:
        self.vendor = vendor
        self._entries: deque[LedgerEntry] = deque(maxlen=capacity)
        self._seq = 0
        self._lock = threading.Lock()

    @property
    def last_seq(self) -> int:
        return self._seq

    def record(
        self,
        *,
        account: str | None,
        method: str,
        path: str,
        query: Mapping[str, str | list[str]],
        body: bytes,
        status: int | None,
        kind: str,
        fault: str | None = None,
        duration_ms: float = 0.0,
        time: datetime | None = None,
        refused: list[str] | None = None,
    ) -> LedgerEntry:
        requestid = query.get("requestid")
        if isinstance(requestid, list):
            requestid = requestid[-1]
        limit = BATCH_BODY_LIMIT if "/batch" in path else BODY_LIMIT
        with self._lock:
            self._seq += 1
            entry = LedgerEntry(
                seq=self._seq,
                time=time or datetime.now(UTC),
                vendor=self.vendor,
                account=account,
                method=method,
                path=path,
                query=dict(query),
                requestid=requestid,
                raw_body=body[:limit],
                body_truncated=len(body) > limit,
                status=status,
                kind=kind,
                fault=fault,
                duration_ms=duration_ms,
                # Counted from the whole body, even one past BATCH_BODY_LIMIT.
                operations=batch_operations(path, body) if "/batch" in path else None,
                refused=refused,
            )
            self._entries.append(entry)
        return entry

    def entries(
        self,
        *,
        since: int = 0,
        kind: str | None = None,
        path: str | None = None,
        account: str | None = None,
        method: str | None = None,
    ) -> list[LedgerEntry]:
        """Entries with ``seq > since``; ``path`` is a regular expression searched in the path."""
        pattern = re.compile(path) if path else None
        with self._lock:
            snapshot = list(self._entries)
        return [
            e
            for e in snapshot
            if e.seq > since
            and (kind is None or e.kind == kind)
            and (account is None or e.account == account)
            and (method is None or e.method == method.upper())
            and (pattern is None or pattern.search(e.path))
        ]

    def counts(self, **filters: Any) -> dict[str, int]:
        """How many entries of each kind match the filters (same filters as `entries`)."""
        counts: dict[str, int] = {}
        for e in self.entries(**filters):
            counts[e.kind] = counts.get(e.kind, 0) + 1
        return counts

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
