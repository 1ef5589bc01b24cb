"""CPU time and peak memory of running processes, read from /proc (Linux only).

CPU is user + system time, so it excludes every wait (network, locks, sleeps): exactly
"the cost of the machinery". A process tree's total includes reaped children (``cutime``
and ``cstime`` of their parent), so a Celery pool child recycled mid-run is not lost.
Peak memory is ``VmHWM``, the kernel's high-water mark of the resident set.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def _stat_fields(pid: int) -> list[str] | None:
    try:
        with open(f"/proc/{pid}/stat") as f:
            raw = f.read()
    except OSError:  # the process is gone
        return None
    # The command name (field 2) may hold spaces and parentheses: split after the last ')'.
    return raw[raw.rindex(")") + 2 :].split()


def children_of(pid: int) -> list[int]:
    """Direct children of ``pid`` (from each thread's children list)."""
    found: list[int] = []
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return found
    for tid in tasks:
        try:
            with open(f"/proc/{pid}/task/{tid}/children") as f:
                found.extend(int(x) for x in f.read().split())
        except OSError:
            continue
    return found


def tree(pid: int) -> list[int]:
    """``pid`` and all its live descendants."""
    pids, todo = [], [pid]
    while todo:
        current = todo.pop()
        pids.append(current)
        todo.extend(children_of(current))
    return pids


def cpu_seconds(pid: int) -> float:
    """User + system CPU of one process including its reaped children; 0 when gone."""
    fields = _stat_fields(pid)
    if fields is None:
        return 0.0
    # After the name: state(0) ppid(1) … utime(11) stime(12) cutime(13) cstime(14).
    return sum(int(fields[i]) for i in (11, 12, 13, 14)) / CLOCK_TICKS


def tree_cpu_seconds(pid: int) -> float:
    return sum(cpu_seconds(p) for p in tree(pid))


def peak_rss_kb(pid: int) -> int:
    """The process's resident-set high-water mark in KiB; 0 when gone."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


@dataclass(frozen=True)
class TreePeak:
    """The largest single process of a tree, and the tree's summed peaks."""

    largest_kb: int
    total_kb: int
    processes: int


def tree_peak_rss(pid: int) -> TreePeak:
    peaks = [peak_rss_kb(p) for p in tree(pid)]
    return TreePeak(max(peaks, default=0), sum(peaks), len(peaks))
