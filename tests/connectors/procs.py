"""Entry points for worker processes started by the connector tests (spawned, so they
share nothing with the test process but what they are given)."""

from __future__ import annotations

import threading
from typing import Any

import redis

from workers.catalog.factory import catalog_for
from workers.errors import SyncError
from workers.secret import Secret
from workers.settings import Settings


def settings_from(values: dict[str, Any]) -> Settings:
    secret_names = ("quickbooks_client_secret", "hubspot_client_secret")
    return Settings(**{k: Secret(v) if k in secret_names else v for k, v in values.items()})


def find_skus(
    settings_values: dict[str, Any],
    database_url: str,
    redis_url: str,
    account_id: int,
    threads: int,
    calls: int,
) -> list[str]:
    """``threads`` threads each make ``calls`` SKU lookups through their own catalog;
    returns the errors seen (class name and code)."""
    settings = settings_from(settings_values)
    client = redis.Redis.from_url(redis_url)
    errors: list[str] = []
    start = threading.Barrier(threads)

    def work() -> None:
        catalog = catalog_for(
            "quickbooks",
            account_id,
            settings=settings,
            database_url=database_url,
            redis_client=client,
        )
        start.wait()
        for n in range(calls):
            try:
                catalog.find_by_sku(f"PROC-{n}")
            except SyncError as exc:
                errors.append(f"{type(exc).__name__}:{exc.code}:{exc.message}")

    pool = [threading.Thread(target=work) for _ in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    return errors


def hold_leases_and_die(redis_url: str, account: str, count: int, lease_seconds: float) -> None:
    """Take ``count`` concurrency slots and die without releasing them (a killed worker)."""
    import os

    from workers.ratelimit import RateBudget, limits_for

    budget = RateBudget(
        redis.Redis.from_url(redis_url),
        "quickbooks",
        account,
        limits_for("quickbooks", {"lease_seconds": lease_seconds}),
    )
    for _ in range(count):
        budget.acquire()
    os._exit(0)
