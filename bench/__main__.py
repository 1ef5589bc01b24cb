"""``python -m bench``: run every scenario, print the table, write the JSON and the page.

See bench/README.md. ``--quick`` is the smoke variant CI runs (tiny N, short steady
state, small memory sizes); ``--render FILE`` regenerates the page from a saved JSON
document without running anything.
"""

from __future__ import annotations

import argparse
import json
import logging
import shlex
import signal
import sys
from pathlib import Path

from bench.environment import Config
from bench.machine import ROOT
from bench.many import ManyPlan
from bench.presets import LATENCIES, parse_preset
from bench.realspeed import RealSpeedPlan
from bench.report import DOC_PATH, RESULTS_DIR, json_path, render, write_json
from bench.retention import RetentionPlan
from bench.run import DIRECTIONS, Plan, new_document, run
from bench.steady import SteadyPlan
from bench.targets import evaluate

DEFAULT_PRESET = "starter*20"
# The smoke run: everything once, tiny, at a speed-up that makes the poll interval 2 s.
QUICK = {
    "n": 10,
    "memory_n": (20, 200),
    "steady_seconds": 2.0,
    "steady_rate": 3.0,
    "profile_n": 10,
    "real_n": (30, 30),
    "retention_rows": 2000,
}
REAL_PRESET = "starter*1"
QUICK_PRESET = "starter*30"


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0])
    p.add_argument("--n", type=int, default=1000, help="products per full sync (default 1000)")
    p.add_argument(
        "--preset",
        help="HubSpot tier (starter|professional|enterprise) and speed-up k, e.g. "
        f"'starter*10' = every real limit x10 and latency /10 (default {DEFAULT_PRESET}; "
        f"{QUICK_PRESET} with --quick)",
    )
    p.add_argument("--latency", choices=sorted(LATENCIES), default="realistic")
    p.add_argument("--workers", type=int, default=6, help="worker processes (default 6)")
    p.add_argument(
        "--memory-n",
        type=int,
        nargs=2,
        default=(1000, 100_000),
        metavar=("SMALL", "LARGE"),
        help="catalog sizes for the memory scenario (default 1000 100000; 0 0 skips it)",
    )
    p.add_argument("--steady-seconds", type=float, default=20.0, help="0 skips the steady state")
    p.add_argument("--steady-rate", type=float, default=4.0, help="edits per second")
    p.add_argument(
        "--no-steady-webhooks",
        action="store_true",
        help="skip the second steady state (webhooks on)",
    )
    p.add_argument("--no-naive", action="store_true", help="skip the naive baseline")
    p.add_argument(
        "--direction",
        choices=("both", *DIRECTIONS),
        default="both",
        help="full-sync directions to run (default both; the steady state needs HubSpot → QBO)",
    )
    p.add_argument(
        "--profile-n", type=int, default=100, help="products synced under cProfile (0: skip)"
    )
    p.add_argument(
        "--real-n",
        type=int,
        nargs=2,
        default=(10_000, 10_000),
        metavar=("HQ", "QH"),
        help="products of the real-speed full syncs, HubSpot → QBO and QBO → HubSpot "
        "(default 10000 10000; 0 skips a direction)",
    )
    p.add_argument(
        "--real-preset",
        default=REAL_PRESET,
        help=f"preset of the real-speed full syncs (default {REAL_PRESET})",
    )
    p.add_argument(
        "--quick", action="store_true", help="smoke run: tiny N and sizes (what CI runs)"
    )
    p.add_argument(
        "--retention-rows",
        type=int,
        default=1_000_000,
        help="old history rows pruned while the steady state runs again (0: skip)",
    )
    p.add_argument(
        "--many-accounts",
        type=int,
        default=0,
        metavar="N",
        help="also run the many-accounts scenario with N small accounts (default 0: skip; "
        "1000 is the issue's, about 8 minutes)",
    )
    p.add_argument(
        "--many-preset",
        default=ManyPlan.preset,
        help=f"preset of the many-accounts scenario (default {ManyPlan.preset})",
    )
    p.add_argument(
        "--many-big",
        type=int,
        default=ManyPlan.big_products,
        help=f"products of its big full sync (default {ManyPlan.big_products})",
    )
    p.add_argument(
        "--many-workers",
        type=int,
        nargs=3,
        default=(ManyPlan.poll_concurrency, ManyPlan.sync_processes, ManyPlan.bulk_processes),
        metavar=("POLL", "SYNC", "BULK"),
        help="concurrency of its `poll`, `sync` and `bulk` workers (default "
        f"{ManyPlan.poll_concurrency} {ManyPlan.sync_processes} {ManyPlan.bulk_processes})",
    )
    p.add_argument(
        "--many-poll-pool",
        choices=("threads", "prefork"),
        default=ManyPlan.poll_pool,
        help=f"Celery pool of its `poll` worker (default {ManyPlan.poll_pool})",
    )
    p.add_argument("--results-dir", type=Path, default=RESULTS_DIR)
    p.add_argument("--doc", type=Path, default=DOC_PATH, help="markdown page to write")
    p.add_argument("--render", type=Path, metavar="JSON", help="only re-render a saved run")
    return p


def _real_speed(args: argparse.Namespace) -> RealSpeedPlan | None:
    wanted = DIRECTIONS if args.direction == "both" else (args.direction,)
    products = {d: n for d, n in zip(DIRECTIONS, args.real_n, strict=True) if n and d in wanted}
    return RealSpeedPlan(args.real_preset, products) if products else None


def _stop_on_sigterm() -> None:
    """`timeout`, service managers and `kill` stop with SIGTERM, whose default ends Python
    at once, skipping every `finally`: the workers, beat and servers this run started
    would outlive it. SIGTERM is made to stop the run as Ctrl-C does."""

    def interrupt(signum: int, frame: object) -> None:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)  # one is enough; the exits are running
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, interrupt)


def _retention_plan(args: argparse.Namespace) -> RetentionPlan | None:
    if not args.retention_rows or not args.steady_seconds:
        return None  # it compares two steady states
    products = max(1, min(10_000, args.retention_rows // 100))  # 100 attempts per product
    steady = SteadyPlan(args.steady_rate, args.steady_seconds)
    return RetentionPlan(args.retention_rows, products, steady)


def _many_plan(args: argparse.Namespace) -> ManyPlan | None:
    if not args.many_accounts:
        return None
    poll, sync, bulk = args.many_workers
    return ManyPlan(
        accounts=args.many_accounts,
        big_products=args.many_big,
        preset=args.many_preset,
        poll_pool=args.many_poll_pool,
        poll_concurrency=poll,
        sync_processes=sync,
        bulk_processes=bulk,
    )


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", datefmt="%H:%M:%S")
    if args.render:
        doc = json.loads(args.render.read_text())
        args.doc.write_text(render(doc))
        print(f"wrote {args.doc}")
        return 0
    if args.quick:
        vars(args).update(QUICK)
    try:
        preset = parse_preset(args.preset or (QUICK_PRESET if args.quick else DEFAULT_PRESET))
        parse_preset(args.real_preset)
        parse_preset(args.many_preset)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    config = Config(preset, LATENCIES[args.latency], args.workers)
    plan = Plan(
        products=args.n,
        memory_sizes=tuple(args.memory_n) if max(args.memory_n) > 0 else (),  # type: ignore[arg-type]
        steady=SteadyPlan(args.steady_rate, args.steady_seconds) if args.steady_seconds else None,
        steady_webhooks=not args.no_steady_webhooks,
        directions=DIRECTIONS if args.direction == "both" else (args.direction,),
        naive=not args.no_naive,
        profile_products=args.profile_n,
        real_speed=_real_speed(args),
        retention=_retention_plan(args),
        many=_many_plan(args),
    )
    command = "python -m bench " + " ".join(shlex.quote(a) for a in (argv or sys.argv[1:]))
    doc = new_document(config, command.strip())
    path = json_path(doc, args.results_dir)
    shown = path.resolve().relative_to(ROOT) if path.resolve().is_relative_to(ROOT) else path
    doc["meta"]["json_name"] = f"`{shown}`"
    print(f"results go to {path}", flush=True)
    _stop_on_sigterm()
    try:
        run(config, plan, doc, lambda d: write_json(d, path))
    except KeyboardInterrupt:
        # The stack's exits have stopped every process this run started.
        print(f"interrupted; what was measured so far is in {path}", file=sys.stderr)
        return 130
    args.doc.parent.mkdir(parents=True, exist_ok=True)
    args.doc.write_text(render(doc))
    for verdict in evaluate(doc):
        mark = "n/a " if verdict.met is None else ("ok  " if verdict.met else "MISS")
        print(f"{mark} {verdict.target}: {verdict.measured}")
    print(f"wrote {path} and {args.doc}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
