"""What Celery's own log lines say about beat's tick: when beat sent each one, when a
worker took it, how long it ran and how many polls it sent.

The lines are Celery's default format (``[2026-12-07 21:21:57,970: INFO/…] …``); beat
sends every tick and a worker receives them in order, so the n-th sent pairs with the
n-th received (a tick that expired unreceived would shift the pairs: none does while
the poll queue keeps up, which is what the numbers show).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from bench.results import spread

_STAMP = r"\[(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}): [A-Z]+/[^\]]+\] "
SENT = re.compile(_STAMP + r"Scheduler: Sending due task tick \(productsync\.tick\)")
RECEIVED = re.compile(_STAMP + r"Task productsync\.tick\[[^\]]+\] received")
DONE = re.compile(_STAMP + r"Task productsync\.tick\[[^\]]+\] succeeded in ([0-9.e-]+)s: (\d+)")
POLLS = re.compile(r"Task productsync\.poll\[[^\]]+\] succeeded")


def _at(stamp: str) -> float:
    return datetime.strptime(stamp, "%Y-%m-%d %H:%M:%S,%f").timestamp()


@dataclass(frozen=True)
class Ticks:
    lags: list[float]  # beat's send → a worker's receipt, seconds
    durations: list[float]  # the tick task's own run time, seconds
    polls_sent: list[int]  # accounts each tick found due

    def as_dict(self) -> dict[str, object]:
        return {
            "ticks": len(self.durations),
            "duration_seconds": spread(self.durations, 4),
            "beat_lag_seconds": spread(self.lags, 4),
            "polls_per_tick_max": max(self.polls_sent, default=0),
        }


def ticks(beat_log: str, worker_log: str) -> Ticks:
    sent = [_at(m.group(1)) for m in SENT.finditer(beat_log)]
    received = [_at(m.group(1)) for m in RECEIVED.finditer(worker_log)]
    done = [(float(m.group(2)), int(m.group(3))) for m in DONE.finditer(worker_log)]
    lags = [r - s for s, r in zip(sent, received, strict=False) if r >= s]
    return Ticks(lags, [d for d, _ in done], [n for _, n in done])


def polls_done(worker_log: str) -> int:
    return len(POLLS.findall(worker_log))


def task_seconds(worker_log: str, task: str) -> list[float]:
    """How long each run of ``task`` took (Celery's "succeeded in" figure: wall time in
    the pool, network waits included)."""
    done = re.compile(r"Task " + re.escape(task) + r"\[[^\]]+\] succeeded in ([0-9.e-]+)s")
    return [float(m.group(1)) for m in done.finditer(worker_log)]
