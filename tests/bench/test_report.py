from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from bench.calls import Tally
from bench.floor import Floor
from bench.report import json_path, render, write_json
from bench.results import NAIVE, OURS, LatencySummary, SyncMeasurement, percentile
from bench.targets import evaluate

H2Q = "hubspot_to_quickbooks"


def measurement(who: str, scenario: str, *, search: int, write: int, wall: float) -> dict[str, Any]:
    calls = {"quickbooks": Tally(search=search, write=write, busy_ms=wall * 500)}
    floor = Floor(10.0, "quickbooks.per_second", {"quickbooks.per_second": 10.0})
    return SyncMeasurement(who, scenario, H2Q, 100, wall, calls, floor, "starterx5").as_dict()


def doc(ours_full_write: int = 100) -> dict[str, Any]:
    return {
        "meta": {
            "date": "2026-11-25T20:00:00+00:00",
            "commit": "abc",
            "command": "python -m bench",
            "duration_seconds": 12.0,
            "cpu_model": "CPU",
            "cpus": 2,
            "memory_gib": 8,
            "kernel": "6",
            "python": "3.11",
            "load_average_start": [1.0, 1.0, 1.0],
            "preset": "starterx5",
            "preset_description": "limits",
            "latency": "realistic",
            "latency_description": "ms",
            "worker_concurrency": 4,
        },
        "runs": [
            measurement(OURS, "full", search=100, write=ours_full_write, wall=11.0),
            measurement(NAIVE, "full", search=100, write=100, wall=40.0),
            measurement(OURS, "resync", search=0, write=0, wall=2.0),
            measurement(NAIVE, "resync", search=100, write=100, wall=40.0),
        ],
        "steady": {
            "direction": H2Q,
            "edits": 20,
            "rate_per_second": 2.0,
            "poll_interval_seconds": 1.0,
            "latency": LatencySummary([1.0, 2.0, 4.0], 0).as_dict(),
            "preset": "starterx5",
            "explanation": "poll settle window",
        },
        "machinery": {
            "cpu_ms_per_product": 3.5,
            "cpu_products": 100,
            "memory": {
                "small_n": 1000,
                "large_n": 100000,
                "poller": {"1000": 50000, "100000": 55000},
                "worker": {"1000": 60000, "100000": 61000},
            },
        },
    }


def test_percentile() -> None:
    assert percentile([], 95) == 0.0
    assert percentile([3.0], 50) == 3.0
    assert percentile([1.0, 2.0, 3.0, 4.0], 50) == 2.5
    assert percentile([float(i) for i in range(101)], 95) == 95.0


def test_targets_say_what_was_met_and_why_not() -> None:
    verdicts = {v.target: v for v in evaluate(doc())}
    assert verdicts["full sync wall ≤ 1.2 x rate-limit floor"].met is True
    calls = verdicts["≤ 1.05 vendor calls per synced product (full sync)"]
    assert calls.met is False
    assert "1.00 search + 1.00 write" in calls.note and "SKU → id index" in calls.note
    assert verdicts["zero writes for unchanged products (re-sync)"].met is True
    assert verdicts["p95 change → destination ≤ poll interval + 2 s"].met is False
    assert verdicts["≤ 5 ms worker CPU per product"].met is True
    assert verdicts["poller memory at 100,000 ≤ 1.2 x at 1,000"].met is True
    naive = verdicts["≥ 2.5 x fewer vendor calls than the naive script"]
    assert naive.met is False and "full H→Q" in naive.note


def test_an_unfinished_large_poll_is_a_lower_bound() -> None:
    d = doc()
    memory = d["machinery"]["memory"]
    del memory["poller"]["100000"]
    memory["details"] = {
        "poller": {
            "100000": {
                "peak_kb": 150000,
                "seconds": 180.0,
                "outcome": "killed at the 180 s hard time limit",
            }
        }
    }
    verdict = {v.target: v for v in evaluate(d)}["poller memory at 100,000 ≤ 1.2 x at 1,000"]
    assert verdict.met is False and verdict.measured.startswith("≥ 3.00 x")
    assert "pauses at half its time limit" in verdict.note
    assert "≥ 146.5 (killed at the 180 s hard time limit, after 180 s)" in render(d)
    memory["details"]["poller"]["100000"]["peak_kb"] = 55000
    assert {v.target: v for v in evaluate(d)}[
        "poller memory at 100,000 ≤ 1.2 x at 1,000"
    ].met is None


def test_fewer_writes_flip_the_calls_target() -> None:
    verdicts = {v.target: v for v in evaluate(doc(ours_full_write=0))}
    assert verdicts["≤ 1.05 vendor calls per synced product (full sync)"].met is True


def test_render_and_write(tmp_path: Path) -> None:
    d = doc()
    text = render(d)
    assert text.startswith("# Benchmarks")
    assert "do not edit by hand" in text
    assert "| HubSpot → QBO | productsync | 100 | 11.0 |" in text
    assert "**missed** (" in text and "why a target was missed" in text
    assert "p95 s" in text and "48.8" in text  # 50,000 KiB poller peak
    path = write_json(d, json_path(d, tmp_path))
    assert path.name == "bench-20261125T200000Z.json"
    assert json.loads(path.read_text())["runs"][0]["wall_over_floor"] == 1.1


def test_real_speed_runs_get_their_own_targets_and_section() -> None:
    page = doc()
    floor = Floor(129.0, "quickbooks.batch (all limits)", {"quickbooks.batch": 120.0})
    calls = {"quickbooks": Tally(batch=334, write=2), "hubspot": Tally(read=100, search=50)}
    real = SyncMeasurement(OURS, "real", H2Q, 10_000, 170.0, calls, floor, "starter*1").as_dict()
    real["phases"] = {
        "first_write_seconds": 1.5,
        "listing_seconds": 15.0,
        "writing_seconds": 150.0,
    }
    real["per_product_path"] = {"products": 2, "by_reason": {"renamed": 2}, "unneeded": {}}
    page["runs"].append(real)
    verdicts = {v.target: v for v in evaluate(page)}
    wall = verdicts["`starter*1` full sync wall ≤ 1.2 x rate-limit floor"]
    assert wall.met is False and "1.5 s to the first write + 150.0 s of writes" in wall.note
    assert "listing of the source (15.0 s) runs alongside" in wall.note
    assert verdicts["`starter*1` ≤ 0.1 vendor calls per product (full sync)"].met is True
    assert verdicts["`starter*1` no 429 answers"].met is True
    assert verdicts["`starter*1` single writes only for products that need one"].met is True
    text = render(page)
    assert "## Initial full sync at real speed" in text and "2 (renamed 2)" in text
