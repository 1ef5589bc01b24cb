"""Scenarios 1, 2 and 5: a full sync of every source product and a re-sync with nothing
changed, by productsync (real workers) and by the naive script, measured the same way."""

from __future__ import annotations

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


@dataclass
class Measured:
    sync: SyncMeasurement
    worker_cpu_seconds: float = 0.0


class _Window:
    """Wall time and ledger mark of one measured interval."""

    def __init__(self, bench: Bench) -> None:
        self.bench = bench
        self.mark: Mark = bench.ledgers.mark()
        self.started = time.perf_counter()
        self.wall = 0.0

    def measurement(
        self, who: str, scenario: str, direction: str, products: int, outcomes: dict[str, int]
    ) -> SyncMeasurement:
        calls = self.bench.ledgers.since(self.mark)
        preset = self.bench.config.preset
        floor = rate_floor(preset.buckets(), {s: t.by_category() for s, t in calls.items()})
        return SyncMeasurement(
            who, scenario, direction, products, self.wall, calls, floor, preset.name, outcomes
        )


@contextmanager
def _window(bench: Bench) -> Iterator[_Window]:
    window = _Window(bench)
    yield window
    window.wall = time.perf_counter() - window.started


def ours(
    bench: Bench, account: StackAccount, direction: str, scenario: str, worker: Process,
    *, timeout: float,
) -> Measured:  # fmt: skip
    """One full-sync run of ``account`` through the real workers, measured."""
    client = pipeline.broker(bench.stack)
    cpu_before = tree_cpu_seconds(worker.pid)
    with _window(bench) as window:
        run_id = pipeline.start_full_sync(bench.stack, client, account.id)
        state = pipeline.wait_for_run(bench.stack, run_id, timeout)
    cpu = tree_cpu_seconds(worker.pid) - cpu_before
    client.close()
    sync = window.measurement(OURS, scenario, direction, state.total, state.outcomes())
    return Measured(sync, cpu)


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


def naive(bench: Bench, target: NaiveTarget, direction: str, scenario: str) -> Measured:
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
    return Measured(window.measurement(NAIVE, scenario, direction, result.products, outcomes))
