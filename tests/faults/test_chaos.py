"""Chaos (issue 12): every passing fault at once, with batched polls on, and an oracle of
its own at the end.

One seeded run: two accounts (HubSpot → QBO and QBO → HubSpot, real client rate limits)
each get a full sync of a few hundred products while their sources are edited (and a few
products created) and beat polls them; meanwhile a pool process of the worker is killed
every few seconds, Redis and Postgres (this module's own, never the shared servers) are
each restarted once, and both vendors answer bursts of 5xx and storms of 429 (the
circuit opens and closes). The seed picks every time and size. At the end, besides the
contract oracle (G1-G5), every source product must be in the destination exactly once
with its latest values, and recorded as synced in the history.

CI runs one seed. ``PRODUCTSYNC_CHAOS_SEEDS`` runs others: ``"7"``, ``"1,5,9"`` or
``"1-10"`` (each seed a test case of its own, on the module's stack)::

    PRODUCTSYNC_CHAOS_SEEDS=1-10 ./dev test tests/faults/test_chaos.py -s
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import select, text, update

from models import Account, HistoryEntry, SyncRun
from models.db import session_scope
from tests.support import oracle
from tests.support.faults import LocalPostgres, keep_replacing, wait_for_database
from tests.support.stack import Process, Stack, StackAccount, Timings, running_stack
from workers.catalog.hubspot.records import record_from as hubspot_record
from workers.catalog.port import Direction, Record, source_of
from workers.catalog.quickbooks.records import record_from as quickbooks_record
from workers.engine.account_view import load_mappings
from workers.mapping import map_product
from workers.mapping.compare import changes_needed

PRODUCTS = 300  # per account, so 600 in all
CHAOS_SECONDS = 30.0  # faults, kills and edits happen in this window
EDITS = 60  # per account, spread over the window
CREATES = 8  # new source products per account, spread over the window
# A short circuit rest (production: 30 s) keeps one seed well under two minutes; the
# failure threshold and max attempts are production's. As in production (a 120 s lease,
# a 40 s liveness deadline), a deaf worker is out and replaced well within a lease, so
# a wedge after the Redis restart keeps to G2 (jobs wait at most a lease and a sweep).
TIMINGS = Timings(max_attempts=8, circuit_cooldown=3.0, lease=10.0, liveness_deadline=4.0)
# Each vendor call takes as long as the real one (api-reference §3), so the full syncs
# are still going when the first faults come.
LATENCY = {"hubspot": {"latency_ms": 150, "jitter_ms": 150},
           "quickbooks": {"latency_ms": 200, "jitter_ms": 300}}  # fmt: skip
HUBSPOT_API = r"^/crm/"
QBO_API = r"^/v3/company/"
HUBSPOT_429 = {
    "status": "error",
    "message": "You have reached your ten_secondly_rolling limit.",
    "errorType": "RATE_LIMIT",
    "policyName": "TEN_SECONDLY_ROLLING",
}


def _seeds() -> list[int]:
    raw = os.environ.get("PRODUCTSYNC_CHAOS_SEEDS", "1").strip()
    seeds: list[int] = []
    for part in raw.split(","):
        low, _, high = part.strip().partition("-")
        try:
            seeds += range(int(low), int(high or low) + 1)
        except ValueError:
            raise pytest.UsageError(
                f"PRODUCTSYNC_CHAOS_SEEDS: {raw!r} is not like '7', '1,5,9' or '1-10'"
            ) from None
    return seeds


@pytest.fixture(scope="module")
def stack(cluster: LocalPostgres) -> Iterator[Stack]:
    url = cluster.create_database("productsync_chaos")
    with running_stack(url, TIMINGS) as running:
        yield running


# -- the schedule -------------------------------------------------------------------------


@dataclass(order=True)
class Event:
    """What happens ``at`` seconds into the chaos; ``act`` draws from ``rng``, its own."""

    at: float
    name: str = field(compare=False)
    act: Callable[[random.Random], object] = field(compare=False, repr=False)
    rng: random.Random = field(compare=False, repr=False, default_factory=random.Random)


@dataclass
class Source:
    """One account's source, as a person edits it."""

    acct: StackAccount
    system: str
    ids: list[str]
    seed: int
    versions: Counter[str] = field(default_factory=Counter)

    def edit(self, rng: random.Random) -> None:
        product = rng.choice(self.ids)
        self.versions[product] += 1
        n = self.versions[product]
        price = str(Decimal(rng.randint(100, 99_999)) / 100)
        if self.system == "hubspot":
            self.acct.hubspot_update(product, name=f"Edited {product} v{n}", price=price)
        else:
            self.acct.quickbooks_update(product, Name=f"Edited {product} v{n}", UnitPrice=price)

    def create(self, n: int) -> None:
        sku, name = f"CHAOS-{self.seed}-{self.system[:2]}-{n}", f"Chaos new {self.seed} {n}"
        if self.system == "hubspot":
            self.ids.append(self.acct.hubspot_create(name=name, hs_sku=sku, price="3.50"))
        else:
            self.ids.append(self.acct.quickbooks_create(Name=name, Sku=sku, UnitPrice=3.5))


def _seeded_source(stack: Stack, direction: Direction, seed: int) -> Source:
    acct = stack.new_account(direction, rate_limits={})  # the vendors' real limits
    if source_of(direction) == "hubspot":
        route = f"hubspot/portals/{acct.portal_id}/seed"
        made = stack.hubspot_admin.vendor("POST", route, json={"count": PRODUCTS, "seed": seed})
        return Source(acct, "hubspot", [str(i) for i in made["ids"]], seed)
    route = f"quickbooks/realms/{acct.realm_id}/seed"
    stack.quickbooks_admin.vendor("POST", route, json={"count": PRODUCTS, "rng_seed": seed})
    ids = [str(i["Id"]) for i in acct.quickbooks_items() if i.get("Active", True)]
    return Source(acct, "quickbooks", ids, seed)


def _kill_a_pool_process(stack: Stack, rng: random.Random) -> None:
    workers = [p for p in stack.processes if p.name in ("w1", "bulk") and p.alive()]
    children = [pid for w in workers for pid in w.children()]
    if children:
        with suppress(ProcessLookupError):
            os.kill(rng.choice(children), signal.SIGKILL)


def _fault_burst(stack: Stack, rng: random.Random) -> str:
    """A 5xx burst or a 429 storm on one vendor's API, for every account."""
    vendor = rng.choice(("hubspot", "quickbooks"))
    times = rng.randint(3, 8)
    admin = stack.admin(vendor)
    if rng.random() < 0.5:
        if vendor == "hubspot":
            admin.add_fault("status", HUBSPOT_API, status=rng.choice((500, 502, 503)), times=times)
        else:
            admin.add_fault("system_fault", QBO_API, times=times)
        return f"{vendor} 5xx x{times}"
    retry_after = rng.choice((None, 1, 2))
    if vendor == "hubspot":
        headers = {"Retry-After": str(retry_after)} if retry_after else {}
        admin.add_fault("status", HUBSPOT_API, status=429, body=HUBSPOT_429, headers=headers,
                        times=times)  # fmt: skip
    else:
        params = {"retry_after": retry_after} if retry_after else {}
        admin.add_fault("throttle", QBO_API, times=times, params=params)
    return f"{vendor} 429 x{times} (Retry-After {retry_after})"


def _schedule(
    stack: Stack, cluster: LocalPostgres, sources: list[Source], rng: random.Random
) -> list[Event]:
    """The run's events. Each draws what it does from a generator of its own, seeded
    here: the same seed plays the same run whatever happens in between."""
    events: list[Event] = []

    def add(at: float, name: str, act: Callable[[random.Random], object]) -> None:
        events.append(Event(at, name, act, random.Random(rng.getrandbits(64))))

    at = rng.uniform(1.0, 4.0)
    while at < CHAOS_SECONDS:
        add(at, "kill a pool process", lambda r: _kill_a_pool_process(stack, r))
        at += rng.uniform(2.0, 5.0)

    def redis_restart(r: random.Random) -> None:
        stack.redis.stop()
        time.sleep(r.uniform(0.2, 2.0))
        stack.redis.start()

    def postgres_restart(r: random.Random) -> None:
        cluster.stop("immediate")
        time.sleep(r.uniform(0.2, 2.0))
        cluster.start()

    add(rng.uniform(2.0, CHAOS_SECONDS - 5), "Redis restart", redis_restart)
    add(rng.uniform(2.0, CHAOS_SECONDS - 5), "Postgres restart", postgres_restart)
    for _ in range(rng.randint(4, 7)):
        add(rng.uniform(0.0, CHAOS_SECONDS), "fault", lambda r: _fault_burst(stack, r))
    for source in sources:
        for _ in range(EDITS):
            add(rng.uniform(0.0, CHAOS_SECONDS), "edit", source.edit)
        for n in range(CREATES):
            add(rng.uniform(0.0, CHAOS_SECONDS), "create", lambda _, s=source, n=n: s.create(n))
    return events


def _play(events: list[Event]) -> list[str]:
    """Run the events at their times; returns what happened (the odd ones with times)."""
    start = time.monotonic()
    log: list[str] = []
    for event in events:
        delay = event.at - (time.monotonic() - start)
        if delay > 0:
            time.sleep(delay)
        result = event.act(event.rng)
        if event.name not in ("edit", "create", "kill a pool process"):
            log.append(f"{time.monotonic() - start:5.1f}s {event.name}: {result}")
    return log


# -- the chaos run's own oracle -----------------------------------------------------------


def _records(stack: Stack, acct: StackAccount, system: str) -> list[Record]:
    if system == "hubspot":
        return [hubspot_record(p) for p in acct.hubspot_products()]
    return [quickbooks_record(i) for i in acct.quickbooks_items()]


def _judge(stack: Stack, source: Source) -> list[str]:
    """Every active source product: exactly one active destination product with its SKU,
    linked to it, holding its latest values; and a succeeded history row for it."""
    acct = source.acct
    with session_scope(stack.database_url) as session:
        account = session.get(Account, acct.id)
        assert account is not None
        direction: Direction = account.direction  # type: ignore[assignment]
        mappings = load_mappings(session, acct.id)
        column = (
            HistoryEntry.hubspot_id if source.system == "hubspot" else HistoryEntry.quickbooks_id
        )
        recorded = set(
            session.scalars(
                select(column).where(
                    HistoryEntry.account_id == acct.id, HistoryEntry.status == "succeeded"
                )
            )
        )
    other = "quickbooks" if source.system == "hubspot" else "hubspot"
    by_sku: dict[str | None, list[Record]] = {}
    for record in _records(stack, acct, other):
        if record.active:
            by_sku.setdefault(record.sku, []).append(record)
    wrong: list[str] = []
    for record in _records(stack, acct, source.system):
        if not record.active:
            continue
        held = by_sku.get(record.sku, [])
        if len(held) != 1:
            wrong.append(f"{direction}: {record.sku!r} is in the destination {len(held)} times")
            continue
        diff = changes_needed(held[0], map_product(record, mappings, direction))
        if diff:
            wrong.append(f"{direction}: {record.sku!r} is not up to date: {diff}")
        if record.id not in recorded:
            wrong.append(f"{direction}: {record.sku!r} ({record.id}) has no succeeded history")
    return wrong


def _runs(stack: Stack, acct: StackAccount) -> list[SyncRun]:
    with session_scope(stack.database_url) as session:
        return list(
            session.scalars(
                select(SyncRun).where(SyncRun.account_id == acct.id, SyncRun.kind == "full_sync")
            )
        )


def _oddities(stack: Stack, sources: list[Source]) -> str:
    """What the faults did, from the history: attempts that did not succeed, by outcome
    and code, and the most attempts any job needed."""
    ids = [s.acct.id for s in sources]
    with session_scope(stack.database_url) as session:
        rows = session.execute(
            select(HistoryEntry.status, HistoryEntry.error_code, HistoryEntry.attempt).where(
                HistoryEntry.account_id.in_(ids)
            )
        ).all()
    codes = Counter(f"{status}:{code}" for status, code, _ in rows if status != "succeeded")
    return f"most attempts {max((a for *_, a in rows), default=0)}, history {dict(codes)}"


@pytest.fixture
def kept_logs(stack: Stack, seed: int) -> Iterator[None]:
    """``PRODUCTSYNC_CHAOS_LOGS=DIR`` keeps each seed's worker and beat logs in DIR."""
    yield
    where = os.environ.get("PRODUCTSYNC_CHAOS_LOGS")
    if where:
        target = Path(where) / f"seed{seed}"
        target.mkdir(parents=True, exist_ok=True)
        for log in stack.workdir.glob("*.log"):
            shutil.copy(log, target / log.name)
        with session_scope(stack.database_url) as session:
            rows = session.execute(text(JOB_DUMP)).all()
        (target / "jobs.txt").write_text("".join(f"{tuple(row)}\n" for row in rows))


# What each job of the enabled accounts ended as, for a seed's logs.
JOB_DUMP = """
    SELECT j.id, j.account_id, j.run_id, j.queue, j.reason, j.status, j.attempts,
           j.park_reason, j.error_code, j.created_at, j.next_attempt_at, j.enqueued_at,
           j.updated_at
    FROM jobs j JOIN accounts a ON a.id = j.account_id WHERE a.enabled ORDER BY j.id
"""


@pytest.mark.parametrize("seed", _seeds(), ids=lambda s: f"seed{s}")
@pytest.mark.usefixtures("kept_logs")
def test_chaos(pipeline: Stack, cluster: LocalPostgres, seed: int) -> None:
    # As docker-compose runs it: beat's maintenance (ticks, sweeps, broker checks) on a
    # worker of its own (behind a busy pool's work those messages expire unread), and
    # full syncs on one of their own (`w1` serves every queue).
    def start_poller() -> Process:
        return pipeline.start_worker("poller", queues=("poll",), concurrency=1)

    def start_bulk() -> Process:
        return pipeline.start_worker("bulk", queues=("bulk",), concurrency=2)

    start_poller()
    start_bulk()
    with (
        keep_replacing(pipeline, "poller", start_poller),
        keep_replacing(pipeline, "bulk", start_bulk),
    ):
        _chaos(pipeline, cluster, seed)


def _chaos(pipeline: Stack, cluster: LocalPostgres, seed: int) -> None:
    # The seeds before this one share the stack: their accounts are left alone (a seed
    # that failed must not leave its backlog and its faults to the next).
    with session_scope(pipeline.database_url) as session:
        session.execute(update(Account).values(enabled=False))
    began = time.monotonic()
    rng = random.Random(seed)
    sources = [
        _seeded_source(pipeline, "hubspot_to_quickbooks", seed),
        _seeded_source(pipeline, "quickbooks_to_hubspot", seed),
    ]
    runs: dict[int, int] = {}
    events = _schedule(pipeline, cluster, sources, rng)

    def full_sync(acct: StackAccount) -> Callable[[random.Random], object]:
        return lambda _: runs.setdefault(acct.id, acct.full_sync())

    for source in sources:  # each full sync starts a little into the chaos
        events.append(Event(rng.uniform(0.0, 6.0), "full sync", full_sync(source.acct)))
    for system, knobs in LATENCY.items():
        pipeline.admin(system).set_knobs(**knobs)
    try:
        happened = _play(sorted(events))
    finally:
        for system, knobs in LATENCY.items():
            pipeline.admin(system).set_knobs(**{k: 0 for k in knobs})
        pipeline.hubspot_admin.clear_faults()
        pipeline.quickbooks_admin.clear_faults()
    calm, calm_wall = time.monotonic(), datetime.now(UTC)
    wait_for_database(pipeline)
    phases = [f"{time.monotonic() - calm:5.1f}s after: database up"]
    for source in sources:
        run_id = runs[source.acct.id]
        pipeline.wait_for(
            lambda a=source.acct, r=run_id: a.run(r).status in ("finished", "failed"),
            timeout=120,
            interval=0.5,
        )
        phases.append(f"{time.monotonic() - calm:5.1f}s after: full sync {run_id} over")
    # Parked is a valid end for the oracle; here every wait passes: wait for it to.
    pipeline.wait_for(lambda: all(s.acct.quiet() for s in sources), timeout=120, interval=0.5)
    phases.append(f"{time.monotonic() - calm:5.1f}s after: nothing pending, running or parked")
    verdicts = []
    for source in sources:
        verdicts.append(oracle.check(pipeline, source.acct, timeout=120))
        last = max(j.updated_at for j in verdicts[-1].jobs) - calm_wall
        phases.append(
            f"{time.monotonic() - calm:5.1f}s after: account {source.acct.id} quiet "
            f"(its last job ended {last.total_seconds():.1f}s after)"
        )
    quiet = time.monotonic() - calm
    wrong = [line for s in sources for line in _judge(pipeline, s)]
    statuses = [dict(v.by_status()) for v in verdicts]
    took = time.monotonic() - began
    print(
        f"\nchaos seed {seed}: {took:.0f} s (quiet {quiet:.0f} s after the chaos), "
        f"jobs {statuses}, lost {sum(v.lost for v in verdicts)}, "
        f"duplicates {sum(v.duplicates for v in verdicts)}, {_oddities(pipeline, sources)}"
        + "".join(f"\n  {line}" for line in happened + phases)
    )
    for source in sources:
        [run] = _runs(pipeline, source.acct)
        assert (run.status, run.failed) == ("finished", 0), (run.status, run.error_message)
    assert wrong == [], "\n".join(wrong)
    for status in statuses:
        assert set(status) <= {"succeeded", "skipped"}, statuses
