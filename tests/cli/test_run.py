"""`productsync run` as a new user runs it: everything up, the demo syncs, Ctrl-C stops
every process it started."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
import requests
from sqlalchemy import create_engine, text

from tests.cli.test_supervisor import alive
from tests.support.services import PG_ADMIN_DSN, free_port, redis_server

pytestmark = pytest.mark.e2e
PRODUCTSYNC = str(Path(sys.executable).with_name("productsync"))


def descendants(pid: int) -> set[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    found: set[int] = set()
    todo = [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


@pytest.fixture
def database_name() -> Iterator[str]:
    name = f"productsync_t_{uuid.uuid4().hex[:12]}"
    yield name
    with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def database_url_for(name: str) -> str:
    base = PG_ADMIN_DSN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://", 1)
    return f"{base}/{name}"


def run_environment(database_url: str, redis_url: str) -> tuple[dict[str, str], dict[str, int]]:
    """`productsync run`'s environment on free ports (none of the runner's PRODUCTSYNC_*)."""
    ports = {name: free_port() for name in ("hubspot", "quickbooks", "web", "flower")}
    env = {k: v for k, v in os.environ.items() if not k.startswith("PRODUCTSYNC_")}
    env.update({
        "PRODUCTSYNC_DATABASE_URL": database_url,
        "PRODUCTSYNC_REDIS_URL": redis_url,
        "PRODUCTSYNC_HUBSPOT_API_BASE": f"http://127.0.0.1:{ports['hubspot']}",
        "PRODUCTSYNC_QUICKBOOKS_API_BASE": f"http://127.0.0.1:{ports['quickbooks']}",
        "PRODUCTSYNC_WEB_PORT": str(ports["web"]),
        "PRODUCTSYNC_FLOWER_PORT": str(ports["flower"]),
    })  # fmt: skip
    return env, ports


def wait_first_sync(database_url: str, deadline: float) -> None:
    """Until the history holds a succeeded product sync (by ``deadline``, monotonic)."""
    engine = create_engine(database_url)
    try:
        while True:
            with engine.connect() as conn:
                synced = conn.scalar(
                    text("SELECT count(*) FROM sync_history WHERE status = 'succeeded'")
                )
            if synced:
                return
            assert time.monotonic() < deadline, "no product synced in time"
            time.sleep(0.5)
    finally:
        engine.dispose()


def start_run(env: dict[str, str], tmp_path: Path, out: Path) -> subprocess.Popen[bytes]:
    with out.open("wb") as sink:
        return subprocess.Popen(
            [PRODUCTSYNC, "run", "--sample-size", "10", "--concurrency", "1",
             "--state-dir", str(tmp_path / "state")],
            env=env, stdout=sink, stderr=subprocess.STDOUT, cwd=tmp_path,
        )  # fmt: skip


def ctrl_c(run: subprocess.Popen[bytes]) -> int:
    """Stop `run` as a person does; its exit status."""
    run.send_signal(signal.SIGINT)
    try:
        return run.wait(timeout=60)
    except subprocess.TimeoutExpired:
        run.kill()
        raise


def test_run_brings_up_everything_and_stops_cleanly(database_name: str, tmp_path: Path) -> None:
    url = database_url_for(database_name)  # does not exist yet: `run` creates it
    with redis_server() as redis:
        env, ports = run_environment(url, redis.url)
        out = tmp_path / "run.out"
        started = time.monotonic()
        run = start_run(env, tmp_path, out)
        try:
            deadline = started + 90
            while "ready." not in out.read_text():
                assert run.poll() is None, out.read_text()
                assert time.monotonic() < deadline, out.read_text()
                time.sleep(0.2)
            printed = out.read_text()
            assert f"http://127.0.0.1:{ports['web']}/" in printed
            assert "Flower login: admin / admin" in printed

            wait_first_sync(url, started + 60)
            first_sync = time.monotonic() - started
            print(f"first product synced {first_sync:.1f}s after `productsync run` started")

            flower = f"http://127.0.0.1:{ports['flower']}/"
            assert requests.get(flower, timeout=10).status_code == 401  # never anonymous
            assert requests.get(flower, auth=("admin", "admin"), timeout=10).status_code == 200
            page = requests.get(
                f"http://127.0.0.1:{ports['web']}/", timeout=10, allow_redirects=False
            )
            assert page.status_code in (302, 303, 401)  # login required
            family = descendants(run.pid)
            assert len(family) >= 6  # emulators, 2 workers (+ pools), beat, flower, web
        finally:
            code = ctrl_c(run)
        assert code == 0, out.read_text()
        assert out.read_text().rstrip().endswith("stopped")
        time.sleep(0.5)
        assert [pid for pid in family if alive(pid)] == []
