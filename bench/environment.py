"""The benchmark's services: a fresh Postgres database, a throwaway Redis server, both
emulators with the chosen presets, and the real Celery processes (from
`tests.support.stack`, the same helpers the end-to-end tests use)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from bench.ledgers import Ledgers
from bench.presets import LatencyPreset, RatePreset
from tests.support.services import fresh_database
from tests.support.stack import Process, Stack, StackAccount, Timings, running_stack
from workers.catalog.port import source_of

# HubSpot's search index lag at k = 1 (emulator defaults, api-reference §1.4).
SEARCH_LAG_CREATE_MS = 2000
SEARCH_LAG_UPDATE_MS = 5000
# Production timings (workers/settings.py) that the preset speeds up by k.
REAL_POLL_INTERVAL = 60.0
REAL_RETRY_BASE = 2.0
REAL_RETRY_CAP = 300.0


@dataclass(frozen=True)
class Config:
    preset: RatePreset
    latency: LatencyPreset
    workers: int  # prefork processes of the worker that runs the syncs

    @property
    def poll_interval(self) -> int:
        """The accounts' poll interval: production's 60 s sped up by k (at least 1 s, the
        service's floor)."""
        return max(1, round(REAL_POLL_INTERVAL / self.preset.scale))

    def timings(self) -> Timings:
        k = self.preset.scale
        return Timings(
            poll_interval=self.poll_interval,
            sweep_interval=max(1.0, 30.0 / k),
            # Production's lease: it is also the tasks' time limit, which a listing of a
            # large catalog must fit in (it is not sped up: CPU does not compress).
            lease=120.0,
            # Changes must have reached HubSpot's search index before a poll relies on it.
            settle=SEARCH_LAG_UPDATE_MS / 1000 / k,
            overlap=max(5.0, 120.0 / k),
            retry_base=REAL_RETRY_BASE / k,
            retry_cap=REAL_RETRY_CAP / k,
            max_attempts=8,
            visibility_timeout=600,
            search_lag_ms=int(SEARCH_LAG_CREATE_MS / k),
        )

    def knobs(self, system: str) -> dict[str, Any]:
        knobs: dict[str, Any] = {
            **self.preset.emulator_knobs()[system],
            **self.latency.knobs(system, self.preset.scale),
        }
        if system == "hubspot":
            knobs["search_lag_create_ms"] = round(SEARCH_LAG_CREATE_MS / self.preset.scale)
            knobs["search_lag_update_ms"] = round(SEARCH_LAG_UPDATE_MS / self.preset.scale)
        return knobs


# The end-to-end stack shortens HTTP timeouts so fault tests fail fast; the benchmark uses
# production's (workers/settings.py), or a large listing would time out where it would not.
PRODUCTION_HTTP = {"PRODUCTSYNC_HTTP_CONNECT_TIMEOUT": "10", "PRODUCTSYNC_HTTP_READ_TIMEOUT": "30"}


class Bench:
    """One stack plus what the scenarios share."""

    def __init__(self, stack: Stack, config: Config) -> None:
        self.stack = stack
        self.config = config
        self.ledgers = Ledgers({s: stack.admin(s) for s in ("hubspot", "quickbooks")})

    def env(self) -> dict[str, str]:
        """The workers' environment (``PRODUCTSYNC_*``)."""
        return {**self.stack.env(), **PRODUCTION_HTTP}

    def start_worker(
        self, name: str, queues: tuple[str, ...], concurrency: int, *, pool: str = "prefork"
    ) -> Process:
        return self.stack.start_worker(
            name, queues=queues, concurrency=concurrency, env=PRODUCTION_HTTP, pool=pool
        )

    def start_beat(self, name: str) -> Process:
        return self.stack.start_beat(name, env=PRODUCTION_HTTP)

    def new_account(self, direction: str) -> StackAccount:
        """A fresh portal + realm + account, its client budget set for the preset."""
        return self.stack.new_account(
            direction,  # type: ignore[arg-type]
            rate_limits=self.config.preset.client_limits(),
        )

    def seed(self, system: str, owner: str, count: int, rng_seed: int = 6) -> None:
        """``count`` realistic products in ``system`` for ``owner`` (a HubSpot portal id or a
        QBO realm id), through the admin route: no limits, not in the ledger."""
        if system == "hubspot":
            route, body = f"hubspot/portals/{owner}/seed", {"seed": rng_seed}
        else:
            route, body = f"quickbooks/realms/{owner}/seed", {"rng_seed": rng_seed}
        admin = self.stack.admin(system)
        admin.timeout = 600.0  # seeding 100,000 products takes a while
        admin.vendor("POST", route, json={"count": count, **body})

    def seed_source(self, account: StackAccount, direction: str, count: int) -> None:
        system = source_of(direction)  # type: ignore[arg-type]
        self.seed(system, account.portal_id if system == "hubspot" else account.realm_id, count)


@contextmanager
def bench_stack(config: Config) -> Iterator[Bench]:
    with fresh_database() as url, running_stack(url, config.timings()) as stack:
        for system in ("hubspot", "quickbooks"):
            stack.admin(system).set_knobs(**config.knobs(system))
        yield Bench(stack, config)
