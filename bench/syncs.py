"""Scenarios 1, 2 and 5: a full sync of every source product and a re-sync with nothing
changed, by productsync (real workers) and by the naive script, measured the same way."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from bench import pipeline
from bench.environment import Bench
from bench.floor import rate_floor
from bench.ledgers import Mark
from bench.naive import NaiveResult, run_naive
from bench.procstat import tree_cpu_seconds
from bench.results import NAIVE, OURS, SyncMeasurement
from tests.support.stack import Process, StackAccount
from workers.catalog.port import source_of

SOURCE_SEED = 6  # the same catalog for productsync and for the naive script


class _Window:
    """Wall time, ledger mark and CPU of one measured interval. ``worker`` is the Celery
    worker doing the syncs, if any; this process holds the emulators (and the naive
    script when that runs)."""

    def __init__(self, bench: Bench, worker: Process | None) -> None:
        self.bench = bench
        self.worker = worker
        self.mark: Mark = bench.ledgers.mark()
        self.cpu = self._cpu()
        self.started = time.perf_counter()
        self.wall = 0.0

    def _cpu(self) -> dict[str, float]:
        own = os.times()  # this process only (its threads), never its reaped children
        cpu = {"emulators": own.user + own.system}
        if self.worker is not None:
            cpu["worker"] = tree_cpu_seconds(self.worker.pid)
        return cpu

    def stop(self) -> None:
        self.wall = time.perf_counter() - self.started
        self.cpu = {name: after - self.cpu[name] for name, after in self._cpu().items()}

    def measurement(
        self, who: str, scenario: str, direction: str, products: int, outcomes: dict[str, int]
    ) -> SyncMeasurement:
        calls = self.bench.ledgers.since(self.mark)
        preset = self.bench.config.preset
        floor = rate_floor(preset.buckets(), {s: t.by_category() for s, t in calls.items()})
        return SyncMeasurement(
            who, scenario, direction, products, self.wall, calls, floor, preset.name, outcomes,
            self.cpu,
        )  # fmt: skip


@contextmanager
def _window(bench: Bench, worker: Process | None = None) -> Iterator[_Window]:
    window = _Window(bench, worker)
    yield window
    window.stop()


def ours(
    bench: Bench, account: StackAccount, direction: str, scenario: str, worker: Process,
    *, timeout: float,
) -> SyncMeasurement:  # fmt: skip
    """One full-sync run of ``account`` through the real workers, measured."""
    client = pipeline.broker(bench.stack)
    with _window(bench, worker) as window:
        run_id = pipeline.start_full_sync(bench.stack, client, account.id)
        state = pipeline.wait_for_run(bench.stack, run_id, timeout)
    client.close()
    return window.measurement(OURS, scenario, direction, state.total, state.outcomes())


@dataclass(frozen=True)
class NaiveTarget:
    """A portal + realm pair of the naive script's own, its source already seeded."""

    portal_id: str
    portal_token: str
    realm_id: str
    realm_token: str


def naive_target(bench: Bench, direction: str, products: int) -> NaiveTarget:
    hubspot = bench.stack.admin("hubspot").vendor("POST", "hubspot/portals", json={})
    quickbooks = bench.stack.admin("quickbooks").vendor("POST", "quickbooks/realms", json={})
    target = NaiveTarget(
        str(hubspot["portal_id"]), hubspot["token"],
        str(quickbooks["realm_id"]), quickbooks["access_token"],
    )  # fmt: skip
    system = source_of(direction)  # type: ignore[arg-type]
    owner = target.portal_id if system == "hubspot" else target.realm_id
    bench.seed(system, owner, products, SOURCE_SEED)
    return target


def naive(bench: Bench, target: NaiveTarget, direction: str, scenario: str) -> SyncMeasurement:
    """One pass of the naive script over every source product, measured."""
    stack = bench.stack
    with _window(bench) as window:
        result: NaiveResult = run_naive(
            direction,
            hubspot_url=stack.hubspot.url,
            hubspot_token=target.portal_token,
            quickbooks_url=stack.quickbooks.url,
            quickbooks_realm=target.realm_id,
            quickbooks_token=target.realm_token,
            backoff=1.0 / bench.config.preset.scale,
        )
    outcomes = {
        "created": result.created,
        "updated": result.updated,
        "skipped": result.skipped,
        "failed": len(result.errors),
    }
    return window.measurement(NAIVE, scenario, direction, result.products, outcomes)
