"""The whole benchmark: every scenario in one run, one JSON document, saved after each
scenario so an interrupted run still leaves its numbers."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from bench import syncs
from bench.environment import Bench, Config, bench_stack
from bench.machine import load_average, machine_facts
from bench.machinery import measure_memory
from bench.many import ManyPlan, measure_many
from bench.profile import explain_cpu, profile_sync
from bench.realspeed import RealSpeedPlan, measure_real_speed
from bench.retention import RetentionPlan, measure_retention
from bench.steady import SteadyPlan, measure_steady
from bench.steady_webhooks import measure_steady_webhooks
from tests.support.stack import StackAccount
from workers.mapping import DEFAULT_MAPPINGS

log = logging.getLogger("bench")

DIRECTIONS = ("hubspot_to_quickbooks", "quickbooks_to_hubspot")
Save = Callable[[dict[str, Any]], None]


@dataclass(frozen=True)
class Plan:
    products: int = 1000
    memory_sizes: tuple[int, int] | tuple[()] = (1000, 100_000)
    directions: tuple[str, ...] = DIRECTIONS
    steady: SteadyPlan | None = field(default_factory=SteadyPlan)
    steady_webhooks: bool = True  # the same steady state again with webhooks on
    naive: bool = True
    profile_products: int = 100
    retention: RetentionPlan | None = field(default_factory=RetentionPlan)
    run_timeout: float = 1800.0
    real_speed: RealSpeedPlan | None = field(default_factory=RealSpeedPlan)
    many: ManyPlan | None = None  # behind a flag: about 8 minutes at 1,000 accounts


def new_document(config: Config, command: str) -> dict[str, Any]:
    meta = machine_facts()
    meta.update(
        command=command,
        preset=config.preset.name,
        preset_description=config.preset.describe(),
        latency=config.latency.name,
        latency_description=config.latency.describe(config.preset.scale),
        worker_concurrency=config.workers,
        pipeline=(
            f"one Celery worker (prefork, {config.workers} processes) consuming `bulk` for "
            "full syncs; for the steady state a second one on `poll,sync` and one beat; "
            f"accounts poll every {config.poll_interval} s; mapped fields: "
            + ", ".join(f"{m.hubspot_field}↔{m.quickbooks_field}" for m in DEFAULT_MAPPINGS)
        ),
    )
    return {"meta": meta, "runs": []}


def run(config: Config, plan: Plan, doc: dict[str, Any], save: Save) -> dict[str, Any]:
    """Fill ``doc`` (from `new_document`) with every scenario's results."""
    started = time.perf_counter()
    meta = doc["meta"]
    with bench_stack(config) as bench:
        steady_account = None
        for direction in plan.directions:
            account = _ours(bench, direction, plan, doc, save)
            if direction == "hubspot_to_quickbooks":
                steady_account = account
            if plan.naive:
                _naive(bench, direction, plan, doc, save)
        doc["machinery"] = _cpu_summary(doc)
        if plan.steady is not None and steady_account is not None:
            log.info("steady state: %s", plan.steady)
            doc["steady"] = measure_steady(bench, steady_account, plan.steady)
            save(doc)
            if plan.steady_webhooks:
                log.info("steady state with webhooks: %s", plan.steady)
                doc["steady_webhooks"] = measure_steady_webhooks(
                    bench, steady_account, plan.steady
                )
                save(doc)
        if plan.retention is not None and steady_account is not None:
            log.info("retention: %s", plan.retention)
            doc["retention"] = measure_retention(bench, steady_account, plan.retention)
            save(doc)
        if plan.memory_sizes:
            doc["machinery"]["memory"] = measure_memory(bench, plan.memory_sizes)  # type: ignore[arg-type]
            save(doc)
        if plan.profile_products:
            log.info("profile: %d products synced in-process", plan.profile_products)
            profile = profile_sync(bench, DIRECTIONS[0], plan.profile_products)
            doc["machinery"]["profile"] = profile
            doc["machinery"]["cpu_explanation"] = explain_cpu(profile)
    if plan.real_speed is not None:
        measure_real_speed(config, plan.real_speed, doc, save)
    if plan.many is not None:
        doc["many_accounts"] = measure_many(config, plan.many)
        save(doc)
    meta["load_average_end"] = load_average()
    meta["duration_seconds"] = round(time.perf_counter() - started, 1)
    save(doc)
    return doc


def _cpu_summary(doc: dict[str, Any]) -> dict[str, Any]:
    full = [r for r in doc["runs"] if r["who"] == syncs.OURS and r["scenario"] == "full"]
    products = sum(r["products"] for r in full)
    worker_ms = sum(r["cpu_ms_per_product"].get("worker", 0) * r["products"] for r in full)
    emulator_ms = sum(r["cpu_ms_per_product"].get("emulators", 0) * r["products"] for r in full)
    return {
        "cpu_ms_per_product": round(worker_ms / max(products, 1), 3),
        "emulator_cpu_ms_per_product": round(emulator_ms / max(products, 1), 3),
        "cpu_products": products,
        "cpu_scope": "initial full syncs, both directions, every process of the worker",
    }


def _ours(
    bench: Bench, direction: str, plan: Plan, doc: dict[str, Any], save: Save
) -> StackAccount:
    account = bench.new_account(direction)
    bench.seed_source(account, direction, plan.products)
    worker = bench.start_worker(f"bulk-{direction}", ("bulk",), bench.config.workers)
    try:
        for scenario in ("full", "resync"):
            log.info("productsync %s %s of %d products", scenario, direction, plan.products)
            sync = syncs.ours(bench, account, direction, scenario, worker, timeout=plan.run_timeout)
            doc["runs"].append(sync.as_dict())
            save(doc)
            log.info("  %.1f s, %s", sync.wall_seconds, sync.outcomes)
    finally:
        worker.stop()
    return account


def _naive(bench: Bench, direction: str, plan: Plan, doc: dict[str, Any], save: Save) -> None:
    target = syncs.naive_target(bench, direction, plan.products)
    for scenario in ("full", "resync"):
        log.info("naive %s %s of %d products", scenario, direction, plan.products)
        sync = syncs.naive(bench, target, direction, scenario)
        doc["runs"].append(sync.as_dict())
        save(doc)
        log.info("  %.1f s, %s", sync.wall_seconds, sync.outcomes)
