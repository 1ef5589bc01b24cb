"""The ``/metrics`` answer: the record read at scrape time, plus the event counters.

Each scrape builds its samples afresh from PostgreSQL (jobs, cursors, credentials,
accounts) and Redis (circuits, queue depths, event counters), so the numbers are right
however many processes did the work and whichever of them died since. A source that
cannot be read is reported as ``productsync_exporter_source_up{source=...} 0`` and its
metrics are left out, rather than failing the whole scrape.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

import redis
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector
from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from console.views import queue_depths
from models import Account, Credential, Cursor, Job
from workers.catalog.port import source_of
from workers.http.circuit import open_key
from workers.metrics import catalog
from workers.metrics.events import key, read_hash

log = logging.getLogger(__name__)

SYSTEMS = ("hubspot", "quickbooks")


@dataclass(frozen=True)
class _Account:
    id: int
    name: str
    enabled: bool
    poll_interval_seconds: float
    source: str
    vendor_ids: dict[str, str | None]


def gauge(family: catalog.Family) -> GaugeMetricFamily:
    return GaugeMetricFamily(family.name, family.help, labels=family.labels)


def counter(family: catalog.Family) -> CounterMetricFamily:
    return CounterMetricFamily(
        family.name.removesuffix("_total"), family.help, labels=family.labels
    )


class RecordCollector(Collector):
    """One scrape's worth of samples; ``open_session`` gives a read-only unit of work."""

    def __init__(
        self,
        open_session: Callable[[], Session],
        state: redis.Redis,
        broker: redis.Redis,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._open_session = open_session
        self._redis = state
        self._broker = broker
        self._now = now

    def collect(self) -> Iterator[Metric]:
        now = self._now()
        up = gauge(catalog.SOURCE_UP)
        accounts: list[_Account] = []
        try:
            with self._open_session() as session:
                accounts = _accounts(session)
                yield from _from_postgres(session, accounts, now)
            up.add_metric(["postgres"], 1)
        except SQLAlchemyError as exc:
            log.warning("metrics: PostgreSQL unreadable (%s)", type(exc).__name__)
            up.add_metric(["postgres"], 0)
        try:
            yield from self._from_redis(accounts)
            up.add_metric(["redis"], 1)
        except redis.RedisError as exc:
            log.warning("metrics: Redis unreadable (%s)", type(exc).__name__)
            up.add_metric(["redis"], 0)
        # Worker liveness: once workers prove progress through Redis (the always-on
        # supervisor work), their heartbeats are exported here, read the same way.
        yield up

    def _from_redis(self, accounts: list[_Account]) -> Iterator[Metric]:
        names = {str(a.id): a.name for a in accounts}
        circuits = gauge(catalog.CIRCUIT_OPEN)
        pipe = self._redis.pipeline(transaction=False)
        pairs = [(a, s) for a in accounts for s in SYSTEMS if a.vendor_ids[s]]
        for account, system in pairs:
            pipe.pttl(open_key(system, str(account.vendor_ids[system])))
        for (account, system), ttl in zip(pairs, pipe.execute(), strict=True):
            circuits.add_metric([account.name, system], 1 if int(ttl) > 0 else 0)
        depths = queue_depths(self._broker)
        if depths is None:
            raise redis.ConnectionError("the broker is unreachable")
        queues = gauge(catalog.QUEUE_DEPTH)
        for queue, depth in depths.items():
            queues.add_metric([queue], depth)
        yield circuits
        yield queues
        yield from self._counters(names)

    def _counters(self, names: dict[str, str]) -> Iterator[Metric]:
        def account_label(account_id: str) -> str:
            # A deleted account keeps its past counts, under its id.
            return names.get(account_id, f"#{account_id}")

        for family in (
            catalog.VENDOR_CALLS,
            catalog.VENDOR_429,
            catalog.BUDGET_WAITS,
            catalog.BUDGET_WAIT_SECONDS,
            catalog.OUTCOMES,
        ):
            metric = counter(family)
            for labels, value in sorted(read_hash(self._redis, key(family)).items()):
                if family.labels[0] == "account":
                    labels = (account_label(labels[0]), *labels[1:])
                metric.add_metric(list(labels), value)
            yield metric
        yield _histogram(self._redis, account_label)


def _histogram(client: redis.Redis, account_label: Callable[[str], str]) -> Metric:
    family = catalog.CHANGE_LATENCY
    # Buckets are counted one each (non-cumulative) by the workers; Prometheus wants
    # them cumulative, ending with +Inf = the count.
    buckets = read_hash(client, key(family, "bucket"))
    sums = read_hash(client, key(family, "sum_ms"))
    metric = HistogramMetricFamily(family.name, family.help, labels=family.labels)
    bounds = [*(str(b) for b in catalog.LATENCY_BUCKETS), "+Inf"]
    for account in sorted({labels[0] for labels in buckets}):
        running = 0.0
        cumulative = []
        for le in bounds:
            running += buckets.get((account, le), 0.0)
            cumulative.append((le, running))
        metric.add_metric(
            [account_label(account)], cumulative, sum_value=sums.get((account,), 0.0) / 1000
        )
    return metric


def _accounts(session: Session) -> list[_Account]:
    return [
        _Account(
            id=a.id,
            name=a.name,
            enabled=a.enabled,
            poll_interval_seconds=float(a.poll_interval_seconds),
            source=source_of(a.direction),  # type: ignore[arg-type]
            vendor_ids={"hubspot": a.hubspot_portal_id, "quickbooks": a.quickbooks_realm_id},
        )
        for a in session.scalars(select(Account).order_by(Account.id))
    ]


def _from_postgres(session: Session, accounts: list[_Account], now: datetime) -> Iterator[Metric]:
    name = {a.id: a.name for a in accounts}
    jobs = gauge(catalog.JOBS)
    for account_id, state, n in session.execute(
        select(Job.account_id, Job.status, func.count()).group_by(Job.account_id, Job.status)
    ):
        jobs.add_metric([name[account_id], state], n)
    yield jobs

    oldest = gauge(catalog.OLDEST_PENDING)
    for account_id, queue, created in session.execute(
        select(Job.account_id, Job.queue, func.min(Job.created_at))
        .where(Job.status.in_(("pending", "running")))
        .group_by(Job.account_id, Job.queue)
    ):
        oldest.add_metric([name[account_id], queue], (now - created).total_seconds())
    yield oldest

    lag, interval, enabled = (
        gauge(catalog.POLL_LAG),
        gauge(catalog.POLL_INTERVAL),
        gauge(catalog.ACCOUNT_ENABLED),
    )
    cursors = {(c.account_id, c.source_system): c.value for c in session.scalars(select(Cursor))}
    for account in accounts:
        interval.add_metric([account.name], account.poll_interval_seconds)
        enabled.add_metric([account.name], 1 if account.enabled else 0)
        cursor = cursors.get((account.id, account.source))
        if cursor is not None:
            lag.add_metric([account.name], (now - cursor).total_seconds())
    yield from (lag, interval, enabled)

    expiry, reauth = gauge(catalog.TOKEN_EXPIRY), gauge(catalog.NEEDS_REAUTH)
    for cred in session.scalars(select(Credential)):
        labels = [name[cred.account_id], cred.system]
        reauth.add_metric(labels, 1 if cred.status == "needs_reauth" else 0)
        # Only a refresh token's expiry needs a person (reconnecting); access tokens are
        # refreshed on use, and HubSpot's refresh tokens and private-app tokens never expire.
        if cred.refresh_expires_at is not None:
            expiry.add_metric(labels, (cred.refresh_expires_at - now).total_seconds())
    yield from (expiry, reauth)


def render(collector: Collector) -> bytes:
    """The Prometheus text exposition of one scrape."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(collector)
    return generate_latest(registry)
