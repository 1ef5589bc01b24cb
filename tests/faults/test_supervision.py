"""`productsync run` restarts a process that dies instead of stopping the service."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

from tests.cli.test_run import (  # noqa: F401  (database_name: a fixture)
    PRODUCTSYNC,
    ctrl_c,
    database_name,
    database_url_for,
    descendants,
    run_environment,
    start_run,
)
from tests.support.services import redis_server


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def _worker_leader(run_pid: int, node: str) -> int | None:
    """The worker whose own process group it leads (the supervisor's child)."""
    for pid in descendants(run_pid):
        if node in _cmdline(pid):
            try:
                if os.getpgid(pid) == pid:
                    return pid
            except ProcessLookupError:
                continue
    return None


def _wait(predicate, out: Path, timeout: float) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, out.read_text()
        time.sleep(0.2)


def test_a_worker_killed_outright_is_restarted_and_the_service_keeps_running(
    database_name: str,  # noqa: F811
    tmp_path: Path,
) -> None:
    with redis_server() as redis:
        env, _ = run_environment(database_url_for(database_name), redis.url)
        out = tmp_path / "run.out"
        run = start_run(env, tmp_path, out)
        try:
            _wait(lambda: "ready." in out.read_text(), out, 90)
            bulk = _worker_leader(run.pid, "bulk@")
            assert bulk is not None, out.read_text()
            # An unrecoverable error, as far as the supervisor can tell: the worker and its
            # pool are gone at once (like kombu's restore_unacked crash after a Redis
            # restart, or the OOM killer).
            os.killpg(bulk, signal.SIGKILL)
            _wait(lambda: "worker-bulk restarted" in out.read_text(), out, 30)
            printed = out.read_text()
            assert "worker-bulk exited with status -9; restarting in 1s" in printed
            assert run.poll() is None  # the service runs on
            again = _worker_leader(run.pid, "bulk@")
            assert again is not None and again != bulk
            # ... and does its work: a full sync needs the restarted bulk worker.
            full = subprocess.run(
                [PRODUCTSYNC, "full-sync", "--account", "demo", "--wait", "--timeout", "90",
                 "--json"],
                env=env, capture_output=True, text=True, timeout=120, cwd=tmp_path,
            )  # fmt: skip
            assert json.loads(full.stdout)["status"] == "finished", full.stdout + full.stderr
        finally:
            code = ctrl_c(run)
        assert code == 0, out.read_text()
