"""Many accounts on one deployment: a thousand small HubSpot → QBO accounts polling every
30 s (divided by the preset's k), edits spread across them, and one account's
10,000-product full sync in the middle of it.

Two phases of the same edit stream: *alone* (only the small accounts' polls and edits),
then *with the full sync* (a big account's initial full sync runs on `bulk` meanwhile).
Each edit is a marker in a product's description (as `bench.steady`); its latency runs
to the QBO write carrying it (the emulator's ledger). Sampled every few seconds: each
account's poll lag (now minus its cursor), Postgres connections, Redis memory. From
Celery's logs: beat's tick (duration, beat → worker lag). From /proc: CPU and peak
memory of every process.

The small accounts start with their products in HubSpot only and their direction set
after the seeding, so the first poll finds nothing and the edits are the only changes
(an edited product is then created in QBO, one write like an update's).
"""

from __future__ import annotations

import logging
import random
import re
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select, update

from bench import celerylog, footprint, pipeline
from bench.environment import Bench, Config, bench_stack
from bench.presets import parse_preset
from bench.procstat import tree_cpu_seconds
from bench.results import LatencySummary, spread
from models import Account, Cursor, Job
from models.db import session_scope
from tests.support.stack import StackAccount

log = logging.getLogger("bench")

DIRECTION = "hubspot_to_quickbooks"
REAL_POLL_INTERVAL = 30.0  # the issue's: each small account polls every 30 s at k = 1
MARKER = re.compile(r"\((many-\d+-[0-9a-f]{8})\)")
SAMPLE_SECONDS = 2.0


@dataclass(frozen=True)
class ManyPlan:
    accounts: int = 1000
    products_each: int = 5
    big_products: int = 10_000
    edits_per_second: float = 2.0
    alone_seconds: float = 60.0  # the edit stream before the big full sync starts
    preset: str = "starter*1"
    # The `poll` worker runs threads: a poll is one vendor call and two short
    # transactions, mostly waiting on the network (150-300 ms at k = 1), so threads, not
    # processes, are what lets 33 polls a second overlap (docker-compose's worker-poll).
    poll_pool: str = "threads"
    poll_concurrency: int = 16
    sync_processes: int = 8  # the `sync` worker (the edits' jobs: ~2 s each at k = 1)
    bulk_processes: int = 4  # the `bulk` worker (the big full sync)
    timeout: float = 1800.0


@dataclass(frozen=True)
class _Edit:
    at: float  # just before the edit was made (unix time)
    phase: str
    account_id: int
    product_id: str


@dataclass
class _Samples:
    """What the sampler thread saw, every `SAMPLE_SECONDS`."""

    poll_lag: dict[str, list[float]] = field(default_factory=lambda: {"alone": [], "busy": []})
    connections: list[int] = field(default_factory=list)
    redis_bytes: list[int] = field(default_factory=list)
    phase: str = "warmup"


def _small_accounts(
    bench: Bench, plan: ManyPlan, interval: int
) -> list[tuple[StackAccount, list[str]]]:
    made = []
    started = time.perf_counter()
    admin = bench.stack.hubspot_admin
    for i in range(plan.accounts):
        account = bench.new_account(DIRECTION)
        seeded = admin.vendor(
            "POST",
            f"hubspot/portals/{account.portal_id}/seed",
            json={"count": plan.products_each, "seed": i},
        )
        made.append((account, [str(p) for p in seeded["ids"]]))
    ids = [a.id for a, _ in made]
    with session_scope(bench.stack.database_url) as session:
        # After the seeding: the first poll's window starts here and finds nothing.
        session.execute(
            update(Account)
            .where(Account.id.in_(ids))
            .values(poll_interval_seconds=interval, direction_changed_at=datetime.now(UTC))
        )
    log.info("  %d accounts made and seeded in %.1f s", len(made), time.perf_counter() - started)
    return made


def _big_account(bench: Bench, plan: ManyPlan, interval: int) -> StackAccount:
    account = bench.new_account(DIRECTION)
    bench.seed_source(account, DIRECTION, plan.big_products)
    with session_scope(bench.stack.database_url) as session:
        session.execute(
            update(Account)
            .where(Account.id == account.id)
            .values(poll_interval_seconds=interval, direction_changed_at=datetime.now(UTC))
        )
    return account


def _sampler(bench: Bench, samples: _Samples, small: set[int], stop: threading.Event) -> None:
    url = bench.stack.database_url
    while not stop.wait(SAMPLE_SECONDS):
        now = datetime.now(UTC)
        with session_scope(url) as session:
            rows = session.execute(select(Cursor.account_id, Cursor.value)).all()
        if samples.phase in samples.poll_lag:
            lags = [
                (now - value).total_seconds() for account_id, value in rows if account_id in small
            ]
            samples.poll_lag[samples.phase].extend(lags)
        samples.connections.append(footprint.connections(url))
        samples.redis_bytes.append(footprint.redis_memory(bench.stack.redis.url)["used_bytes"])


def _polled_once(bench: Bench, small: set[int]) -> bool:
    with session_scope(bench.stack.database_url) as session:
        polled = {
            a
            for (a,) in session.execute(
                select(Cursor.account_id).where(Cursor.polled_at.is_not(None))
            )
        }
    return small <= polled


def _edit(bench: Bench, account: StackAccount, product_id: str, marker: str) -> float:
    before = time.time()
    account.hubspot_update(product_id, description=f"Edited in the UI ({marker})")
    return before


def _arrivals(bench: Bench, since: int, big_realm: str, found: dict[str, float]) -> int:
    """Add marker → time of the QBO write carrying it (the big realm's batches left out);
    returns the ledger's last sequence number read."""
    # A negative look-ahead: the big full sync's batches are large and carry no marker.
    path = rf"^(?!/v3/company/{re.escape(big_realm)}/).*/(item|batch)$"
    last = since
    for entry in bench.stack.quickbooks_admin.ledger(since=since, method="POST", path=path):
        last = max(last, int(entry["seq"]))
        if entry["status"] is None or entry["status"] >= 300:
            continue
        when = datetime.fromisoformat(str(entry["time"]).replace("Z", "+00:00")).timestamp()
        for marker in MARKER.findall(str(entry["body"])):
            found.setdefault(marker, when)
    return last


def _split(bench: Bench, sent: dict[str, _Edit], found: dict[str, float]) -> dict[str, Any]:
    """Each phase's latency in two: edit → the job row its poll made (waiting for the
    poll, the settle window), and job row → destination (queue and sync)."""
    with session_scope(bench.stack.database_url) as session:
        rows = session.execute(
            select(Job.account_id, Job.source_id, Job.created_at).where(
                Job.reason == "poll", Job.source_system == "hubspot"
            )
        ).all()
    jobs: dict[tuple[int, str], list[float]] = {}
    for account_id, source_id, created in rows:
        jobs.setdefault((account_id, source_id), []).append(created.timestamp())
    parts: dict[str, dict[str, list[float]]] = {
        p: {"to_job": [], "job_to_destination": []} for p in ("alone", "busy")
    }
    for marker, edit in sent.items():
        made = [t for t in jobs.get((edit.account_id, edit.product_id), []) if t >= edit.at]
        if marker in found and made:
            parts[edit.phase]["to_job"].append(min(made) - edit.at)
            parts[edit.phase]["job_to_destination"].append(found[marker] - min(made))
    return {p: {k: spread(v, 2) for k, v in d.items()} for p, d in parts.items()}


def measure_many(config: Config, plan: ManyPlan) -> dict[str, Any]:
    real = Config(parse_preset(plan.preset), config.latency, config.workers)
    k = real.preset.scale
    interval = max(1, round(REAL_POLL_INTERVAL / k))
    with bench_stack(real) as bench:
        log.info("many accounts (%s): %d accounts of %d products, polling every %d s",
                 real.preset.name, plan.accounts, plan.products_each, interval)  # fmt: skip
        small = _small_accounts(bench, plan, interval)
        big = _big_account(bench, plan, interval)
        return _measure(bench, plan, interval, small, big)


def _measure(
    bench: Bench,
    plan: ManyPlan,
    interval: int,
    small: list[tuple[StackAccount, list[str]]],
    big: StackAccount,
) -> dict[str, Any]:
    ids = {a.id for a, _ in small}
    poller = bench.start_worker("many-poll", ("poll",), plan.poll_concurrency, pool=plan.poll_pool)
    worker = bench.start_worker("many-sync", ("sync",), plan.sync_processes)
    bulk = bench.start_worker("many-bulk", ("bulk",), plan.bulk_processes)
    beat = bench.start_beat("many-beat")
    samples, stop = _Samples(), threading.Event()
    sampler = threading.Thread(target=_sampler, args=(bench, samples, ids, stop), daemon=True)
    sampler.start()
    # Every edit a product of its own: a second edit of a product within one poll window
    # would replace the first's marker, which then never arrives.
    targets = [(account, product) for account, products in small for product in products]
    random.Random(14).shuffle(targets)
    sent: dict[str, _Edit] = {}
    run_state = None
    cpu: dict[str, float] = {}
    try:
        pipeline.wait_until(
            "every account's first poll",
            lambda: _polled_once(bench, ids),
            10 * interval + 120,
            bench.stack,
        )
        seq = bench.stack.quickbooks_admin.last_seq()
        workers = {"poll": poller, "sync": worker, "bulk": bulk}
        cpu_start = {name: tree_cpu_seconds(w.pid) for name, w in workers.items()}
        polls_start = celerylog.polls_done(poller.output())
        samples.phase = "alone"
        started = time.monotonic()
        count = 0

        def edit_until(phase: str, done: Any) -> None:
            nonlocal count
            while not done():
                due = started + count / plan.edits_per_second
                time.sleep(max(0.0, due - time.monotonic()))
                account, product = targets[count % len(targets)]
                marker = f"many-{count}-{uuid.uuid4().hex[:8]}"
                when = _edit(bench, account, product, marker)
                sent[marker] = _Edit(when, phase, account.id, product)
                count += 1

        edit_until("alone", lambda: time.monotonic() - started >= plan.alone_seconds)
        client = pipeline.broker(bench.stack)
        run_id = pipeline.start_full_sync(bench.stack, client, big.id)
        client.close()
        busy_started = time.monotonic()
        samples.phase = "busy"
        deadline = time.monotonic() + plan.timeout

        def run_over() -> bool:
            nonlocal run_state
            if count % 10 == 0 or run_state is None:
                run_state = pipeline.run_state(bench.stack, run_id)
            return run_state.status in ("finished", "failed") or time.monotonic() > deadline

        edit_until("busy", run_over)
        busy_seconds = time.monotonic() - busy_started
        samples.phase = "after"
        found: dict[str, float] = {}
        grace = time.monotonic() + 3 * interval + 60
        while len(found) < len(sent) and time.monotonic() < grace:
            seq = _arrivals(bench, seq, big.realm_id, found)
            time.sleep(1.0)
        cpu = {name: tree_cpu_seconds(w.pid) - cpu_start[name] for name, w in workers.items()}
        polls = celerylog.polls_done(poller.output()) - polls_start
        processes = footprint.processes(
            {"poll worker": poller, "sync worker": worker, "bulk worker": bulk, "beat": beat}
        )
    finally:
        stop.set()
        sampler.join(10)
        for process in (beat, poller, worker, bulk):
            process.stop()
    ticks = celerylog.ticks(beat.output(), poller.output())
    by_phase: dict[str, list[float]] = {"alone": [], "busy": []}
    for marker, edit in sent.items():
        if marker in found:
            by_phase[edit.phase].append(found[marker] - edit.at)
    missing = {
        p: sum(1 for m, e in sent.items() if e.phase == p and m not in found) for p in by_phase
    }
    latency = {p: LatencySummary(v, missing[p]).as_dict() for p, v in by_phase.items()}
    synced = sum(len(v) for v in by_phase.values())

    return {
        "preset": bench.config.preset.name,
        "accounts": plan.accounts,
        "products_each": plan.products_each,
        "poll_interval_seconds": interval,
        "tick_seconds": bench.stack.settings().poll_tick_seconds,
        "edits_per_second": plan.edits_per_second,
        "edits": len(sent),
        "alone_seconds": plan.alone_seconds,
        "busy_seconds": round(busy_seconds, 1),
        "big_full_sync": {
            "products": plan.big_products,
            "status": run_state.status if run_state else None,
            "done": run_state.done if run_state else 0,
            "outcomes": run_state.outcomes() if run_state else {},
        },
        "poll_lag_seconds": {p: spread(v, 2) for p, v in samples.poll_lag.items()},
        "change_to_destination_seconds": latency,
        "split_seconds": _split(bench, sent, found),
        "full_sync_adds_p95_seconds": round(latency["busy"]["p95"] - latency["alone"]["p95"], 3),
        "tick": ticks.as_dict(),
        "polls": polls,
        "task_seconds": {
            "poll": spread(celerylog.task_seconds(poller.output(), "productsync.poll"), 3),
            # A poll's jobs go one by one or, as pages of chunks, together.
            **{
                name: spread(celerylog.task_seconds(worker.output(), f"productsync.{name}"), 3)
                for name in ("sync_product", "sync_chunk")
            },
        },
        "cpu_seconds": {k: round(v, 1) for k, v in cpu.items()},
        "cpu_ms": {
            "per_poll": round(cpu.get("poll", 0.0) * 1000 / max(polls, 1), 2),
            "per_edit": round(cpu.get("sync", 0.0) * 1000 / max(synced, 1), 2),
            "per_big_product": round(cpu.get("bulk", 0.0) * 1000 / max(plan.big_products, 1), 2),
        },
        "postgres_connections_max": max(samples.connections, default=0),
        "redis_used_bytes_max": max(samples.redis_bytes, default=0),
        "processes": processes,
        "workers": {
            "poll": f"{plan.poll_concurrency} {plan.poll_pool}",
            "sync": f"{plan.sync_processes} prefork",
            "bulk": f"{plan.bulk_processes} prefork",
        },
    }
