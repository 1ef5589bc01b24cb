"""What a run costs the machine besides wall time: peak memory and CPU of every process,
Postgres table bytes, Postgres connections and Redis memory.

Peaks are the kernel's high-water marks (``VmHWM``) read while the processes still run;
the benchmark process itself holds both emulators, so its peak (``ru_maxrss``) is theirs
and the run's so far. Table bytes are `pg_total_relation_size` (heap, indexes and TOAST)
of every table of the service's schema.
"""

from __future__ import annotations

import resource
from collections.abc import Mapping
from typing import Any

import psycopg
import redis

from bench.procstat import cpu_seconds, peak_rss_kb, tree
from tests.support.stack import Process


def processes(named: Mapping[str, Process]) -> dict[str, Any]:
    """Per named process (a Celery worker, beat): each of its processes' peak resident
    memory in KiB and CPU seconds (the main one first, then the pool's)."""
    result: dict[str, Any] = {}
    for name, process in named.items():
        pids = tree(process.pid)
        result[name] = {
            "peak_kb": [peak_rss_kb(pid) for pid in pids],
            "cpu_seconds": [round(cpu_seconds(pid), 2) for pid in pids],
        }
    result["bench (emulators)"] = {
        "peak_kb": [resource.getrusage(resource.RUSAGE_SELF).ru_maxrss],
        "cpu_seconds": [round(sum(resource.getrusage(resource.RUSAGE_SELF)[:2]), 2)],
    }
    return result


def _dsn(database_url: str) -> str:
    return database_url.replace("postgresql+psycopg://", "postgresql://", 1)


def table_bytes(database_url: str) -> dict[str, int]:
    """Bytes of every table of the public schema, indexes and TOAST included."""
    query = (
        "SELECT c.relname, pg_total_relation_size(c.oid) FROM pg_class c "
        "JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = 'public' AND c.relkind = 'r' AND c.relname <> 'alembic_version'"
    )
    with psycopg.connect(_dsn(database_url)) as conn:
        return {name: int(size) for name, size in conn.execute(query).fetchall()}


def table_growth(
    before: Mapping[str, int], after: Mapping[str, int], products: int
) -> dict[str, Any]:
    """Bytes each table grew by, per product (tables that grew only)."""
    grown = {t: after[t] - before.get(t, 0) for t in after if after[t] > before.get(t, 0)}
    return {
        "bytes_per_product": {t: round(b / max(products, 1)) for t, b in sorted(grown.items())},
        "total_bytes_per_product": round(sum(grown.values()) / max(products, 1)),
    }


def connections(database_url: str) -> int:
    """Open connections to the service's database (this probe's own not counted)."""
    with psycopg.connect(_dsn(database_url)) as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        ).fetchone()
    return int(row[0]) if row else 0


def redis_memory(url: str) -> dict[str, int]:
    client = redis.Redis.from_url(url)
    try:
        info = client.info("memory")
    finally:
        client.close()
    return {"used_bytes": int(info["used_memory"]), "peak_bytes": int(info["used_memory_peak"])}
