"""Child processes for `productsync run`: start, watch, and stop them all cleanly.

Each child runs in a process group of its own, so

- Ctrl-C in the terminal reaches only the supervisor (the terminal signals its foreground
  group), which then stops the children in order instead of every process at once;
- stopping a child also stops what *it* started (Celery's pool processes, Flower's
  workers): the signal goes to the whole group. SIGTERM first (Celery finishes or
  returns its current task: acks are late, so nothing is lost), SIGKILL after a grace.

Children also get SIGTERM if the supervisor itself dies (Linux parent-death signal), so a
killed ``run`` leaves nothing behind. Output goes to one log file per child.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:  # pragma: no cover - runs in the child before exec
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


@dataclass
class Child:
    name: str
    argv: Sequence[str]
    process: subprocess.Popen[bytes]
    log_path: Path

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


class Supervisor:
    """Starts children in their own process groups; `stop()` ends every one of them."""

    def __init__(self, log_dir: Path, *, grace_seconds: float = 10.0) -> None:
        self.log_dir = log_dir
        self.grace_seconds = grace_seconds
        self.children: list[Child] = []
        log_dir.mkdir(parents=True, exist_ok=True)

    def start(self, name: str, argv: Sequence[str], env: Mapping[str, str]) -> Child:
        log_path = self.log_dir / f"{name}.log"
        with open(log_path, "ab") as log:
            process = subprocess.Popen(
                list(argv),
                env=dict(env),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                process_group=0,
                preexec_fn=_die_with_parent,
            )
        child = Child(name, list(argv), process, log_path)
        self.children.append(child)
        return child

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


def _signal_group(child: Child, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(child.pid, signum)
