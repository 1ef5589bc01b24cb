"""Events counted in Redis by the process that saw them, exported by the web process.

Why Redis and not prometheus-client's multiprocess mode: the workers run in other
containers (or hosts) than the web process, and a prefork pool replaces its children;
a ``PROMETHEUS_MULTIPROC_DIR`` would need one directory shared by every container. A
Redis hash per metric (one field per label set, ``HINCRBY``) is already shared by all of
them, costs one pipelined round trip per vendor call, and a Redis restart only looks
like a counter reset to Prometheus (``rate()`` handles those).

Counting is on only in processes that `install` a Redis client (the Celery workers, in
``tasks.context``); anywhere else (the CLI, in-process tests) the calls do nothing.
Outcomes are counted (and logged) only once their transaction commits, so a rolled-back
attempt never is. A counting failure never fails the work being counted.
"""

from __future__ import annotations

import bisect
import logging
from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any

import redis
from sqlalchemy import event
from sqlalchemy.orm import Session

from workers import logs
from workers.metrics import catalog

log = logging.getLogger(__name__)

PREFIX = "metrics:"
SEP = "\x1f"  # between label values in a hash field (never in a label value)
_PENDING = "productsync_metrics_pending"  # Session.info key: counts awaiting commit
_ROWS = "productsync_outcomes_pending"  # Session.info key: outcome lines awaiting commit

_client: redis.Redis | None = None


def install(client: redis.Redis | None) -> None:
    """Count this process's events in ``client`` (None: stop counting)."""
    global _client
    _client = client


def key(family: catalog.Family, part: str = "") -> str:
    return f"{PREFIX}{family.name}{':' + part if part else ''}"


def field(*labels: object) -> str:
    return SEP.join(str(v) for v in labels)


def _send(increments: Iterable[tuple[str, str, float]]) -> None:
    client = _client
    if client is None:
        return
    try:
        pipe = client.pipeline(transaction=False)
        for hash_key, hash_field, amount in increments:
            if isinstance(amount, int):
                pipe.hincrby(hash_key, hash_field, amount)
            else:
                pipe.hincrbyfloat(hash_key, hash_field, amount)
        pipe.execute()
    except redis.RedisError as exc:
        log.debug("metrics not counted (Redis: %s)", type(exc).__name__)


def call_kind(method: str, op: str) -> str:
    """read / write / search / batch: what a call was, without its path or ids."""
    if op != "default":
        return op
    return "read" if method.upper() == "GET" else "write"


def vendor_call(
    vendor: str, vendor_account: str, method: str, path: str, op: str, status: int | None
) -> None:
    """One answer (``status``) or none (None: timeout, reset, truncated) from a vendor:
    counted, and logged (at DEBUG when it succeeded)."""
    kind = call_kind(method, op)
    logs.vendor_call(vendor, vendor_account, method, path, kind, status)
    if _client is None:
        return
    status_class = "error" if status is None else f"{status // 100}xx"
    increments = [(key(catalog.VENDOR_CALLS), field(vendor, kind, status_class), 1)]
    if status == 429:
        increments.append((key(catalog.VENDOR_429), field(vendor), 1))
    _send(increments)


def rate_budget(vendor: str, outcome: str, waited_seconds: float = 0.0) -> None:
    """The shared budget was spent: ``waited`` (then went ahead), ``refused``, ``quota``."""
    increments: list[tuple[str, str, float]] = [
        (key(catalog.BUDGET_WAITS), field(vendor, outcome), 1)
    ]
    if waited_seconds > 0:
        increments.append((key(catalog.BUDGET_WAIT_SECONDS), field(vendor), waited_seconds))
    _send(increments)


def note_outcomes(session: Session, rows: Iterable[Mapping[str, Any]], jobs: Iterable[Any]) -> None:
    """Count history rows (as inserted) once ``session`` commits. ``jobs`` (the rows'
    `Job`s) give the change time of polled jobs for the latency histogram. Each row is
    logged too (`workers.logs.outcome`), also once committed."""
    rows = list(rows)
    session.info.setdefault(_ROWS, []).extend(rows)
    if _client is None:
        return
    changed_at = {
        j.id: j.source_updated_at
        for j in jobs
        if j.reason in ("poll", "webhook") and j.source_updated_at is not None
    }
    pending: Counter[tuple[str, str]] = session.info.setdefault(_PENDING, Counter())
    for row in rows:
        account = row["account_id"]
        labels = field(account, row["action"], row["status"], row.get("error_code") or "")
        pending[(key(catalog.OUTCOMES), labels)] += 1
        seen = changed_at.get(row["job_id"])
        if seen is not None and row["action"] in ("created", "updated"):
            _observe(pending, account, (row["finished_at"] - seen).total_seconds())


def _observe(pending: Counter[tuple[str, str]], account: object, seconds: float) -> None:
    """One latency observation: its bucket (non-cumulative; the exporter sums them), the
    count and the sum. The sum is kept in milliseconds so every increment is whole."""
    seconds = max(0.0, seconds)
    i = bisect.bisect_left(catalog.LATENCY_BUCKETS, seconds)
    le = str(catalog.LATENCY_BUCKETS[i]) if i < len(catalog.LATENCY_BUCKETS) else "+Inf"
    family = catalog.CHANGE_LATENCY
    pending[(key(family, "bucket"), field(account, le))] += 1
    pending[(key(family, "sum_ms"), field(account))] += round(seconds * 1000)


@event.listens_for(Session, "after_commit")
def _committed(session: Session) -> None:
    pending = session.info.pop(_PENDING, None)
    if pending:
        _send((k, f, n) for (k, f), n in pending.items())
    for row in session.info.pop(_ROWS, ()):
        logs.outcome(row)


@event.listens_for(Session, "after_rollback")
def _rolled_back(session: Session) -> None:
    session.info.pop(_PENDING, None)
    session.info.pop(_ROWS, None)


def read_hash(client: redis.Redis, hash_key: str) -> dict[tuple[str, ...], float]:
    """A counter hash as {label values: value} (what the exporter reads)."""
    raw: Mapping[bytes, bytes] = client.hgetall(hash_key)  # type: ignore[assignment]
    return {tuple(k.decode().split(SEP)): float(v) for k, v in raw.items()}
