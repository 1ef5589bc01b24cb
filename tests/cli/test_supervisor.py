"""The `run` supervisor stops every child and everything the children started."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from console.supervisor import Supervisor


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie is dead for our purposes.
    stat = Path(f"/proc/{pid}/stat")
    return stat.exists() and stat.read_text().split(")")[-1].split()[0] != "Z"


def wait_for_file(path: Path, timeout: float = 10) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists() and path.read_text().strip():
            return path.read_text().strip()
        time.sleep(0.02)
    raise AssertionError(f"{path} never written")


def test_stop_terminates_children_and_grandchildren(tmp_path: Path) -> None:
    pidfile = tmp_path / "grandchild.pid"
    supervisor = Supervisor(tmp_path / "logs", grace_seconds=5)
    child = supervisor.start(
        "parent", ["sh", "-c", f"sleep 60 & echo $! > {pidfile}; wait"], os.environ
    )
    grandchild = int(wait_for_file(pidfile))
    assert child.running() and alive(grandchild)
    assert os.getpgid(child.pid) == child.pid != os.getpgid(0)  # its own group
    started = time.monotonic()
    supervisor.stop()
    assert time.monotonic() - started < 4  # SIGTERM was enough, no grace wasted
    assert not child.running()
    # Signals are delivered asynchronously: on a loaded machine the grandchild may take a
    # few milliseconds to die after stop() returns.
    deadline = time.monotonic() + 2
    while alive(grandchild) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not alive(grandchild)


def test_sigkill_after_the_grace_period(tmp_path: Path) -> None:
    ready = tmp_path / "ready"
    stubborn = (
        "import signal, time, pathlib;"
        "signal.signal(signal.SIGTERM, signal.SIG_IGN);"
        f"pathlib.Path({str(ready)!r}).write_text('1');"
        "time.sleep(60)"
    )
    supervisor = Supervisor(tmp_path / "logs", grace_seconds=0.5)
    child = supervisor.start("stubborn", [sys.executable, "-c", stubborn], os.environ)
    wait_for_file(ready)
    started = time.monotonic()
    supervisor.stop()
    assert 0.4 < time.monotonic() - started < 5
    assert child.process.returncode == -9


def test_exited_reports_a_dead_child_and_its_log(tmp_path: Path) -> None:
    with Supervisor(tmp_path / "logs", grace_seconds=1) as supervisor:
        supervisor.start("sleeper", ["sleep", "60"], os.environ)
        crasher = supervisor.start("crasher", ["sh", "-c", "echo boom >&2; exit 3"], os.environ)
        crasher.process.wait(timeout=10)
        assert supervisor.exited() is crasher
        assert crasher.log_tail() == "boom"
    assert all(not c.running() for c in supervisor.children)


def test_a_child_that_exits_is_restarted_with_backoff_until_it_cannot_stay_up(
    tmp_path: Path,
) -> None:
    from console.supervisor import RESTART_LIMIT, CannotStayUp

    with Supervisor(tmp_path / "logs", grace_seconds=1) as supervisor:
        steady = supervisor.start("steady", ["sleep", "60"], os.environ)
        counter = tmp_path / "starts"
        crasher = supervisor.start(
            "crasher", ["sh", "-c", f"echo x >> {counter}; exit 3"], os.environ
        )
        now = 1000.0
        delays = []
        for _ in range(RESTART_LIMIT):
            crasher.process.wait(timeout=10)
            [line] = supervisor.watch(now)
            assert line.startswith("crasher exited with status 3; restarting in ")
            delay = crasher.restart_at - now  # type: ignore[operator]
            delays.append(delay)
            assert supervisor.watch(now + delay - 0.01) == []  # not before its backoff
            now += delay
            assert supervisor.watch(now) == [f"crasher restarted (pid {crasher.pid})"]
            now += 1
        assert delays == [1, 2, 4, 8, 16]
        crasher.process.wait(timeout=10)
        assert len(counter.read_text().split()) == RESTART_LIMIT + 1
        try:
            supervisor.watch(now)
            raise AssertionError("a sixth exit within the window stops the service")
        except CannotStayUp as gave_up:
            assert gave_up.child is crasher
        assert steady.running() and steady.restarts == []


def test_restarts_long_ago_do_not_count(tmp_path: Path) -> None:
    from console.supervisor import RESTART_LIMIT, RESTART_WINDOW

    with Supervisor(tmp_path / "logs", grace_seconds=1) as supervisor:
        child = supervisor.start("flaky", ["true"], os.environ)
        child.restarts = [0.0] * RESTART_LIMIT  # all of them a window ago
        child.process.wait(timeout=10)
        [line] = supervisor.watch(RESTART_WINDOW + 1)
        assert "restarting in 1s (restart 1 of" in line
