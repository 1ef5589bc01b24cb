"""The whole benchmark: every scenario in one run, one JSON document at the end."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any

from bench import syncs
from bench.environment import Bench, Config, bench_stack
from bench.machine import load_average, machine_facts
from bench.machinery import measure_memory
from bench.steady import SteadyPlan, measure_steady
from workers.mapping import DEFAULT_MAPPINGS

log = logging.getLogger("bench")

DIRECTIONS = ("hubspot_to_quickbooks", "quickbooks_to_hubspot")


@dataclass(frozen=True)
class Plan:
    products: int = 1000
    memory_sizes: tuple[int, int] = (1000, 100_000)
    steady: SteadyPlan | None = field(default_factory=SteadyPlan)
    naive: bool = True
    run_timeout: float = 900.0


def run(config: Config, plan: Plan, command: str) -> dict[str, Any]:
    started = time.perf_counter()
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
    doc: dict[str, Any] = {"meta": meta, "runs": []}
    with bench_stack(config) as bench:
        cpu_seconds, cpu_products = 0.0, 0
        steady_account = None
        for direction in DIRECTIONS:
            account, cpu, n = _ours(bench, direction, plan, doc)
            cpu_seconds, cpu_products = cpu_seconds + cpu, cpu_products + n
            if direction == "hubspot_to_quickbooks":
                steady_account = account
            if plan.naive:
                _naive(bench, direction, plan, doc)
        machinery: dict[str, Any] = {
            "cpu_ms_per_product": round(cpu_seconds * 1000 / max(cpu_products, 1), 3),
            "cpu_products": cpu_products,
            "cpu_scope": "initial full syncs, both directions, every process of the worker",
        }
        if plan.steady is not None and steady_account is not None:
            log.info("steady state: %s", plan.steady)
            doc["steady"] = measure_steady(bench, steady_account, plan.steady)
        if plan.memory_sizes:
            machinery["memory"] = measure_memory(bench, plan.memory_sizes)
        doc["machinery"] = machinery
    meta["load_average_end"] = load_average()
    meta["duration_seconds"] = round(time.perf_counter() - started, 1)
    return doc


def _ours(bench: Bench, direction: str, plan: Plan, doc: dict[str, Any]) -> tuple[Any, float, int]:
    account = bench.new_account(direction)
    bench.seed_source(account, direction, plan.products)
    worker = bench.stack.start_worker(
        f"bulk-{direction}", queues=("bulk",), concurrency=bench.config.workers
    )
    try:
        cpu, products = 0.0, 0
        for scenario in ("full", "resync"):
            log.info("productsync %s %s of %d products", scenario, direction, plan.products)
            measured = syncs.ours(
                bench, account, direction, scenario, worker, timeout=plan.run_timeout
            )
            doc["runs"].append(measured.sync.as_dict())
            log.info("  %.1f s, %s", measured.sync.wall_seconds, measured.sync.outcomes)
            if scenario == "full":
                cpu, products = measured.worker_cpu_seconds, measured.sync.products
    finally:
        worker.stop()
    return account, cpu, products


def _naive(bench: Bench, direction: str, plan: Plan, doc: dict[str, Any]) -> None:
    target = syncs.naive_target(bench, direction, plan.products)
    for scenario in ("full", "resync"):
        log.info("naive %s %s of %d products", scenario, direction, plan.products)
        measured = syncs.naive(bench, target, direction, scenario)
        doc["runs"].append(measured.sync.as_dict())
        log.info("  %.1f s, %s", measured.sync.wall_seconds, measured.sync.outcomes)
