"""Where a worker's CPU goes while it syncs products (``python -m bench.profile`` or the
"cost of the machinery" scenario of a full run).

Runs the engine's own `sync_product` (what the Celery task calls) in this process on the
jobs of a real full sync against the emulators, under cProfile with a per-thread CPU
clock, so neither the emulators (other threads) nor network waits are counted. The
result: CPU ms per product (inflated by the profiler itself; the real figure is the
worker's, from /proc), self time by library, and the top functions by cumulative time:
the list of what to make cheaper when the CPU target is missed.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from bench.environment import Bench, Config, bench_stack
from bench.presets import LATENCIES, parse_preset
from models.db import session_scope
from workers import engine

ROOT = str(Path(__file__).resolve().parent.parent)
WARM_UP = 10  # first jobs: imports, connection pools, the property catalogue, tokens


def library_of(filename: str) -> str:
    """``sqlalchemy``, ``workers.engine``, ``stdlib:request`` … for a function's file."""
    if "site-packages/" in filename:
        return filename.split("site-packages/", 1)[1].split("/", 1)[0]
    if filename.startswith(ROOT + "/"):
        parts = Path(filename[len(ROOT) + 1 :]).with_suffix("").parts
        return ".".join(parts[:2])
    if filename.startswith(("<", "~")):
        return "builtins"
    return "stdlib:" + Path(filename).stem


def profile_sync(bench: Bench, direction: str, products: int, top: int = 12) -> dict[str, Any]:
    """Sync ``products`` (after a warm-up) of a fresh account in this process, profiled."""
    account = bench.new_account(direction)
    bench.seed_source(account, direction, products + WARM_UP)
    os.environ.update(bench.env())  # the worker's configuration, in this process
    from tasks.context import current_context

    ctx = current_context()
    with session_scope(ctx.database_url) as session:
        run_id = engine.start_full_sync(session, account.id).id
    jobs = [d.job_id for d in engine.enumerate_run(ctx, run_id)]
    for job_id in jobs[:WARM_UP]:
        engine.sync_product(ctx, job_id)
    profiler = cProfile.Profile(time.thread_time)
    started = time.thread_time()
    profiler.enable()
    for job_id in jobs[WARM_UP:]:
        engine.sync_product(ctx, job_id)
    profiler.disable()
    cpu = time.thread_time() - started
    synced = max(len(jobs) - WARM_UP, 1)
    stats = pstats.Stats(profiler)
    raw: dict[Any, Any] = stats.stats  # type: ignore[attr-defined]
    own: dict[str, float] = defaultdict(float)
    for (filename, _, _), (_, _, self_time, _, _) in raw.items():
        own[library_of(filename)] += self_time
    functions = sorted(raw.items(), key=lambda kv: -kv[1][3])[:top]
    return {
        "direction": direction,
        "products": synced,
        "cpu_ms_per_product": round(cpu * 1000 / synced, 2),
        "self_ms_by_library": {
            lib: round(s * 1000 / synced, 2)
            for lib, s in sorted(own.items(), key=lambda kv: -kv[1])[:top]
        },
        "cumulative_ms_by_function": [
            [f"{library_of(f)}:{name}:{line}", round(v[3] * 1000 / synced, 2), v[1]]
            for (f, line, name), v in functions
        ],
    }


def explain_cpu(profile: dict[str, Any]) -> str:
    """Why the CPU per product is what it is, from a `profile_sync` result."""
    libraries = list(profile["self_ms_by_library"].items())[:4]
    total = profile["cpu_ms_per_product"]
    parts = ", ".join(f"{lib} {ms:g} ms" for lib, ms in libraries)
    text = (
        f"Profiled in-process ({profile['products']} products, {total:g} ms each under "
        f"cProfile): the largest self times are {parts}."
    )
    functions = {name.split(":")[1]: ms for name, ms, _ in profile["cumulative_ms_by_function"]}
    if "merge_environment_settings" in functions:
        text += (
            f" `requests` re-reads the proxy settings from the environment on every call "
            f"({functions['merge_environment_settings']:g} ms per product): resolving them "
            "once per session (`Session.trust_env = False` with explicit proxies) removes it."
        )
    if "_execute_internal" in functions:
        text += (
            f" SQLAlchemy ORM statements cost {functions['_execute_internal']:g} ms per product: "
            "fewer round trips per job (claim, link, outcome and history in fewer statements, "
            "Core inserts instead of ORM units of work) is the next lever."
        )
    return text


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.profile", description=__doc__)
    p.add_argument("--n", type=int, default=200, help="products to sync under the profiler")
    p.add_argument(
        "--direction",
        choices=("hubspot_to_quickbooks", "quickbooks_to_hubspot"),
        default="hubspot_to_quickbooks",
    )
    p.add_argument("--top", type=int, default=25)
    args = p.parse_args(argv)
    # Limits far out of reach and no latency: this measures CPU, not the vendors.
    config = Config(parse_preset("starter*1000"), LATENCIES["none"], workers=1)
    with bench_stack(config) as bench:
        result = profile_sync(bench, args.direction, args.n, args.top)
    print(
        f"{result['products']} products ({args.direction}): "
        f"{result['cpu_ms_per_product']} ms CPU per product under the profiler\n"
    )
    print("self CPU by library (ms per product):")
    for library, ms in result["self_ms_by_library"].items():
        print(f"  {ms:7.2f}  {library}")
    print("\ncumulative CPU by function (ms per product, calls):")
    for name, ms, calls in result["cumulative_ms_by_function"]:
        print(f"  {ms:7.2f}  {calls:6d}  {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
