"""A benchmark stopped by SIGTERM (`timeout`, a service manager) stops every process it
started: workers run in their own sessions, so nothing else would reach them."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.e2e


def descendants(pid: int) -> set[int]:
    """Every living process below ``pid``, whatever session it started."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError, IndexError):
            continue
        parents[int(entry.name)] = int(fields[1])
    found: set[int] = set()
    frontier = {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


def alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def test_sigterm_stops_the_benchmark_and_every_process_it_started(tmp_path: Path) -> None:
    log = (tmp_path / "bench.log").open("w")
    bench = subprocess.Popen(
        [sys.executable, "-m", "bench", "--quick", "--n", "400", "--doc", str(tmp_path / "b.md"),
         "--results-dir", str(tmp_path / "results")],
        cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        started: set[int] = set()
        # Wait until a Celery worker with its pool is up (the first full sync is running).
        while time.monotonic() < deadline and len(started) < 4:
            time.sleep(0.5)
            started = {p for p in descendants(bench.pid) if b"celery" in _cmdline(p)}
        assert len(started) >= 4, (tmp_path / "bench.log").read_text()[-3000:]
        everything = descendants(bench.pid)

        bench.send_signal(signal.SIGTERM)
        assert bench.wait(60) == 130
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and any(alive(p) for p in everything):
            time.sleep(0.2)
        assert [p for p in everything if alive(p)] == []
    finally:
        if bench.poll() is None:
            bench.kill()
        for pid in descendants(bench.pid):
            os.kill(pid, signal.SIGKILL)
        log.close()


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except FileNotFoundError:
        return b""
