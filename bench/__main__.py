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
import sys
from pathlib import Path

from bench.environment import Config
from bench.presets import LATENCIES, parse_preset
from bench.report import DOC_PATH, RESULTS_DIR, render, write_json
from bench.run import Plan, run
from bench.steady import SteadyPlan
from bench.targets import evaluate

DEFAULT_PRESET = "starter*10"


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0])
    p.add_argument("--n", type=int, default=1000, help="products per full sync (default 1000)")
    p.add_argument(
        "--preset",
        default=DEFAULT_PRESET,
        help="HubSpot tier (starter|professional|enterprise) and speed-up k, e.g. "
        f"'starter*10' = every real limit x10 and latency /10 (default {DEFAULT_PRESET})",
    )
    p.add_argument("--latency", choices=sorted(LATENCIES), default="realistic")
    p.add_argument("--workers", type=int, default=6, help="worker processes (default 6)")
    p.add_argument(
        "--memory-n",
        type=int,
        nargs=2,
        default=(1000, 100_000),
        metavar=("SMALL", "LARGE"),
        help="catalog sizes for the memory scenario (default 1000 100000)",
    )
    p.add_argument("--steady-seconds", type=float, default=30.0)
    p.add_argument("--steady-rate", type=float, default=4.0, help="edits per second")
    p.add_argument("--no-naive", action="store_true", help="skip the naive baseline")
    p.add_argument(
        "--quick", action="store_true", help="smoke run: tiny N and sizes (what CI runs)"
    )
    p.add_argument("--results-dir", type=Path, default=RESULTS_DIR)
    p.add_argument("--doc", type=Path, default=DOC_PATH, help="markdown page to write")
    p.add_argument("--render", type=Path, metavar="JSON", help="only re-render a saved run")
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", datefmt="%H:%M:%S")
    if args.render:
        doc = json.loads(args.render.read_text())
        args.doc.write_text(render(doc))
        print(f"wrote {args.doc}")
        return 0
    try:
        preset = parse_preset(args.preset)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.quick:
        args.n, args.memory_n, args.steady_seconds, args.steady_rate = 30, (50, 500), 4.0, 3.0
    config = Config(preset, LATENCIES[args.latency], args.workers)
    plan = Plan(
        products=args.n,
        memory_sizes=tuple(args.memory_n),  # type: ignore[arg-type]
        steady=SteadyPlan(args.steady_rate, args.steady_seconds),
        naive=not args.no_naive,
    )
    command = "python -m bench " + " ".join(shlex.quote(a) for a in (argv or sys.argv[1:]))
    doc = run(config, plan, command.strip())
    path = write_json(doc, args.results_dir)
    doc["meta"]["json_name"] = f"`bench/results/{path.name}`"
    path.write_text(json.dumps(doc, indent=2, sort_keys=True, ensure_ascii=False) + "\n")
    args.doc.parent.mkdir(parents=True, exist_ok=True)
    args.doc.write_text(render(doc))
    for verdict in evaluate(doc):
        mark = "n/a " if verdict.met is None else ("ok  " if verdict.met else "MISS")
        print(f"{mark} {verdict.target}: {verdict.measured}")
    print(f"wrote {path} and {args.doc}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
