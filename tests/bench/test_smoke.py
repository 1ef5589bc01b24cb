"""The smoke variant of the benchmark (``python -m bench --quick``), run as a user runs it,
so the harness cannot rot: every scenario runs once against the real pipeline."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.e2e


def test_quick_benchmark_runs_every_scenario_and_writes_the_report(tmp_path: Path) -> None:
    doc_path, results = tmp_path / "benchmarks.md", tmp_path / "results"
    done = subprocess.run(
        [sys.executable, "-m", "bench", "--quick", "--doc", str(doc_path),
         "--results-dir", str(results)],
        cwd=ROOT, capture_output=True, text=True, timeout=240,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    [saved] = list(results.glob("bench-*.json"))
    doc = json.loads(saved.read_text())

    runs = {(r["who"], r["scenario"], r["direction"]): r for r in doc["runs"]}
    for direction in ("hubspot_to_quickbooks", "quickbooks_to_hubspot"):
        ours_full = runs["productsync", "full", direction]
        assert ours_full["products"] == 10
        assert ours_full["outcomes"]["created"] == 10
        # One object written per product (+ HubSpot's once-per-portal idempotency property).
        assert 10 <= ours_full["total"]["writes"] <= 11
        assert runs["productsync", "resync", direction]["total"]["writes"] == 0
        naive_resync = runs["naive", "resync", direction]
        assert naive_resync["outcomes"]["updated"] == 10  # the naive script always writes
        assert naive_resync["per_product"]["search"] == 1.0

    steady = doc["steady"]
    assert steady["edits"] == 6 and steady["latency"]["edits_missing"] == 0
    assert 0 < steady["latency"]["p50"] <= steady["latency"]["max"]

    hooked = doc["steady_webhooks"]  # the same edits again, found by webhooks
    assert hooked["edits"] == 6 and hooked["latency"]["edits_missing"] == 0
    assert hooked["webhook_posts"] >= 1 and hooked["webhook_failed_posts"] == 0

    retention = doc["retention"]  # 2,000 old rows over 20 SKUs: each SKU's last row stays
    assert (retention["deleted"], retention["kept"]) == (1980, 20)
    assert retention["during"]["edits_missing"] == 0

    machinery = doc["machinery"]
    assert machinery["cpu_ms_per_product"] > 0
    assert machinery["profile"]["products"] == 10 and machinery["profile"]["self_ms_by_library"]
    assert machinery["cpu_explanation"].startswith("Profiled in-process")
    memory = machinery["memory"]
    assert all(
        memory[role][size] > 10_000 for role in ("poller", "worker") for size in ("20", "200")
    )

    page = doc_path.read_text()
    assert "## Initial full sync" in page and "## Steady state" in page
    assert "webhooks (+ polling)" in page
    assert "## Retention" in page
    assert f"{saved.name}`; do not edit by hand" in page
    assert "ok  " in done.stdout or "MISS" in done.stdout
