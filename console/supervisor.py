"""Child processes for `productsync run`: start, watch, and stop them all cleanly.

Each child runs in a process group of its own, so

- Ctrl-C in the terminal reaches only the supervisor (the terminal signals its foreground
  group), which then stops the children in order instead of every process at once;
- stopping a child also stops what *it* started (Celery's pool processes, Flower's
  workers): the signal goes to the whole group. SIGTERM first (Celery finishes or
  returns its current task: acks are late, so nothing is lost), SIGKILL after a grace.

Children also get SIGTERM if the supervisor itself dies (Linux parent-death signal), so a
killed ``run`` leaves nothing behind. Output goes to one log file per child.

A child that exits on its own (a crash, or a worker that found itself deaf and left for
a fresh one: `tasks.liveness`) is restarted by `watch`, after a backoff that doubles
from 1 s up to 30 s. One that exits ``RESTART_LIMIT`` times within ``RESTART_WINDOW``
seconds cannot stay up: `watch` raises `CannotStayUp` and the service stops.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

_PR_SET_PDEATHSIG = 1
RESTART_LIMIT = 5  # restarts of one child within RESTART_WINDOW before giving up
RESTART_WINDOW = 300.0
BACKOFF_FIRST = 1.0
BACKOFF_CAP = 30.0


def _die_with_parent() -> None:  # pragma: no cover - runs in the child before exec
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


@dataclass
class Child:
    name: str
    argv: Sequence[str]
    process: subprocess.Popen[bytes]
    log_path: Path
    env: Mapping[str, str] = field(default_factory=dict)
    restarts: list[float] = field(default_factory=list)  # monotonic times, recent only
    restart_at: float | None = None  # a restart is scheduled for then

    @property
    def pid(self) -> int:
        return self.process.pid

    def running(self) -> bool:
        return self.process.poll() is None

    def log_tail(self, lines: int = 15) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])


class CannotStayUp(Exception):
    """A child exited too often, too fast: restarting it again would only spin."""

    def __init__(self, child: Child) -> None:
        super().__init__(child.name)
        self.child = child


class Supervisor:
    """Starts children in their own process groups; `stop()` ends every one of them."""

    def __init__(self, log_dir: Path, *, grace_seconds: float = 10.0) -> None:
        self.log_dir = log_dir
        self.grace_seconds = grace_seconds
        self.children: list[Child] = []
        log_dir.mkdir(parents=True, exist_ok=True)

    def start(self, name: str, argv: Sequence[str], env: Mapping[str, str]) -> Child:
        log_path = self.log_dir / f"{name}.log"
        child = Child(name, list(argv), _spawn(argv, env, log_path), log_path, dict(env))
        self.children.append(child)
        return child

    def watch(self, now: float | None = None) -> list[str]:
        """Restart every child that exited, once its backoff has passed; returns a line
        per exit and per restart. Raises `CannotStayUp` for a child that exited
        ``RESTART_LIMIT`` times within ``RESTART_WINDOW`` seconds."""
        now = time.monotonic() if now is None else now
        lines: list[str] = []
        for child in self.children:
            if child.running():
                continue
            if child.restart_at is None:
                child.restarts = [t for t in child.restarts if now - t < RESTART_WINDOW]
                if len(child.restarts) >= RESTART_LIMIT:
                    raise CannotStayUp(child)
                delay = min(BACKOFF_CAP, BACKOFF_FIRST * 2 ** len(child.restarts))
                child.restart_at = now + delay
                lines.append(
                    f"{child.name} exited with status {child.process.returncode}; restarting "
                    f"in {delay:.0f}s (restart {len(child.restarts) + 1} of {RESTART_LIMIT} "
                    f"allowed within {RESTART_WINDOW:.0f}s; log: {child.log_path})"
                )
            elif now >= child.restart_at:
                # Whatever the old leader left in its group (pool processes) goes first.
                _signal_group(child, signal.SIGKILL)
                child.process = _spawn(child.argv, child.env, child.log_path)
                child.restarts.append(now)
                child.restart_at = None
                lines.append(f"{child.name} restarted (pid {child.pid})")
        return lines

    def exited(self) -> Child | None:
        """The first child that is no longer running, if any."""
        return next((c for c in self.children if not c.running()), None)

    def stop(self) -> None:
        """SIGTERM every group (newest first), then SIGKILL whatever outlives the grace."""
        for child in reversed(self.children):
            _signal_group(child, signal.SIGTERM)
        deadline = time.monotonic() + self.grace_seconds
        for child in self.children:
            remaining = max(0.0, deadline - time.monotonic())
            with contextlib.suppress(subprocess.TimeoutExpired):
                child.process.wait(timeout=remaining)
        for child in self.children:
            # Also after the leader exited: its pool processes may still be in the group.
            _signal_group(child, signal.SIGKILL)
            child.process.wait()

    def __enter__(self) -> Supervisor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _spawn(argv: Sequence[str], env: Mapping[str, str], log_path: Path) -> subprocess.Popen[bytes]:
    with open(log_path, "ab") as log:
        return subprocess.Popen(
            list(argv),
            env=dict(env),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            process_group=0,
            preexec_fn=_die_with_parent,
        )


def _signal_group(child: Child, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(child.pid, signum)
