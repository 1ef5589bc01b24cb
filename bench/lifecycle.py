"""What the lifecycle policy `mirror` adds to each HubSpot poll: the archived listing.

HubSpot's search never shows archived products and its archived listing has no time
filter, so under `mirror` every poll reads the whole recycle bin (100 a page, 90 days of
archives) and keeps those archived inside its window. This measures that read through
the real connector (auth, the account's shared rate budget), for recycle bins of several
sizes, at a chosen preset::

    .venv/bin/python -m bench.lifecycle                      # starter*1, 0 / 1,000 / 5,000
    .venv/bin/python -m bench.lifecycle --archived 0 200 --preset starter*20

Each size gets a fresh portal: 100 live products plus that many archived (archived by
batch calls of 100 before the measurement: 5,000 is 50 calls, within Starter's 100 per
10 s). Printed per size: the vendor calls of one
poll's archived listing, its wall time, and how many archives it found in the window.
"""

from __future__ import annotations

import argparse
import time
from datetime import UTC, datetime, timedelta

import requests

from bench.environment import Bench, Config, bench_stack
from bench.presets import LATENCIES, parse_preset


def measure(bench: Bench, archived: int) -> dict[str, float]:
    acct = bench.new_account("hubspot_to_quickbooks")
    made = bench.stack.hubspot_admin.vendor(
        "POST", f"hubspot/portals/{acct.portal_id}/seed", json={"count": 100 + archived}
    )["ids"]
    headers = {"Authorization": f"Bearer {acct.secrets[0]}"}
    gone = made[:archived]
    for start in range(0, len(gone), 100):
        answer = requests.post(
            f"{bench.stack.hubspot.url}/crm/v3/objects/products/batch/archive",
            json={"inputs": [{"id": i} for i in gone[start : start + 100]]},
            headers=headers,
            timeout=30,
        )
        answer.raise_for_status()
    catalog = bench.stack.context().catalogs("hubspot", acct.id)
    time.sleep(1.0)  # past the archives' own calls in the rolling rate window
    mark = bench.ledgers.mark()
    now = datetime.now(UTC)
    began = time.monotonic()
    found = list(catalog.retired_between(now - timedelta(minutes=30), now))
    seconds = time.monotonic() - began
    calls = bench.ledgers.since(mark)["hubspot"]
    return {"archived": archived, "calls": calls.calls, "seconds": seconds, "found": len(found)}


def main() -> None:
    p = argparse.ArgumentParser(
        prog="python -m bench.lifecycle", description=__doc__.split("\n\n")[0]
    )
    p.add_argument("--archived", type=int, nargs="+", default=[0, 1000, 5000])
    p.add_argument("--preset", default="starter*1")
    p.add_argument("--latency", choices=sorted(LATENCIES), default="realistic")
    args = p.parse_args()
    config = Config(parse_preset(args.preset), LATENCIES[args.latency], workers=1)
    print(f"preset {args.preset}, latency {args.latency}")
    print(f"{'archived':>9} {'calls':>6} {'seconds':>8} {'found':>6}")
    with bench_stack(config) as bench:
        for size in args.archived:
            row = measure(bench, size)
            print(
                f"{row['archived']:>9} {row['calls']:>6} {row['seconds']:>8.2f} {row['found']:>6}"
            )


if __name__ == "__main__":
    main()
