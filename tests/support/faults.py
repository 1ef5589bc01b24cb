"""Helpers for the fault suite: waiting on job rows, killing pool children at the right
moment, a throwaway Postgres cluster, and a Redis MONITOR capture.

The cluster is our own (``initdb`` + ``pg_ctl`` in a temp folder, on a free port), so
restart and kill cases never touch the shared server.
"""

from __future__ import annotations

import os
import shutil
import signal
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import redis
import requests
from sqlalchemy import text

from console.localservers import PostgresCluster
from models import Account, Job
from models.db import session_scope
from tests.support.stack import Process, Stack, StackAccount

# Why each worker replaced by `keep_replacing` exited (the fault suite's summary).
REPLACED: list[str] = []

# Where a QBO product write goes: one product's /item, or a chunk's /batch (a poll's or a
# full sync's first attempt; a retry goes alone, to /item).
QBO_WRITE = r"/(item|batch)$"


def job_where(acct: StackAccount, predicate: Callable[[Job], bool]) -> Job | None:
    return next((j for j in acct.jobs() if predicate(j)), None)


def finished(acct: StackAccount, count: int) -> bool:
    """At least ``count`` jobs and none pending or running."""
    jobs = acct.jobs()
    return len(jobs) >= count and all(j.status not in ("pending", "running") for j in jobs)


def stop_processes(stack: Stack) -> None:
    """Warm-stop every worker and beat of the stack (a test restarts what it needs)."""
    for process in list(stack.processes):
        process.stop()
        stack.processes.remove(process)


def circuit_worker(stack: Stack, cooldown: float) -> None:
    """Replace the module's worker `w1` with one whose circuit opens after three vendor
    failures in a row and stays open ``cooldown`` seconds."""
    [worker] = [p for p in stack.processes if p.name == "w1"]
    worker.stop()
    stack.processes.remove(worker)
    circuit = {"PRODUCTSYNC_CIRCUIT_FAILURE_THRESHOLD": "3",
               "PRODUCTSYNC_CIRCUIT_COOLDOWN_SECONDS": str(cooldown)}  # fmt: skip
    stack.start_worker("w1", env=circuit)


@contextmanager
def keep_replacing(stack: Stack, name: str, start: Callable[[], Process]) -> Iterator[None]:
    """Inside, a worker ``name`` that exits with status 1 (it found itself deaf, e.g.
    after a broker restart, celery/celery#8030; or crashed) is replaced by ``start()``,
    as any supervisor would; why it exited goes to `REPLACED`."""
    stop = threading.Event()

    def keep() -> None:
        while not stop.wait(0.2):
            for process in list(stack.processes):
                if process.name == name and process.popen.poll() == 1:
                    stack.processes.remove(process)
                    start()
                    REPLACED.append(_why(process.output()))

    keeper = threading.Thread(target=keep, name=f"keep-{name}", daemon=True)
    keeper.start()
    try:
        yield
    finally:
        stop.set()
        keeper.join(5)


def _why(log: str) -> str:
    """Why a worker exited, from the end of its log (shared by every worker of that name
    in the module): deaf, or its last error line."""
    tail = log.splitlines()[-200:]
    if any(" is deaf: " in line for line in tail):
        return "deaf"
    errors = [line for line in tail if "Error" in line or "CRITICAL" in line]
    return errors[-1].strip()[-160:] if errors else "no error logged"


def kill_children(process: Process) -> list[int]:
    """SIGKILL every pool child of a prefork worker (the master survives and replaces
    them, as when the OOM killer picks a child)."""
    pids = process.children()
    for pid in pids:
        with suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    return pids


def wait_for_database(stack: Stack, timeout: float = 30.0) -> None:
    """Until the stack's database answers again (after a restart)."""

    def up() -> bool:
        try:
            with session_scope(stack.database_url) as session:
                session.execute(text("SELECT 1"))
            return True
        except Exception:
            return False

    stack.wait_for(up, timeout=timeout)


class LocalPostgres(PostgresCluster):
    """A private Postgres cluster in a temp folder (the system's programs, else the
    embedded ones); `restart()` keeps data and port."""

    def __init__(self) -> None:
        super().__init__(Path(tempfile.mkdtemp(prefix="productsync-pg-")), fsync=False)

    def create_database(self, name: str) -> str:
        with psycopg.connect(self.admin_dsn, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def backends(self, database: str) -> list[int]:
        with psycopg.connect(self.admin_dsn, autocommit=True) as conn:
            rows = conn.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
                (database,),
            ).fetchall()
        return [int(r[0]) for r in rows]

    def close(self) -> None:
        self.stop("immediate")
        shutil.rmtree(self.dir, ignore_errors=True)


@contextmanager
def local_postgres() -> Iterator[LocalPostgres]:
    server = LocalPostgres()
    server.init()
    server.start()
    try:
        yield server
    finally:
        server.close()


class RedisMonitor:
    """Every command the Redis server receives while active (``MONITOR``), as text."""

    def __init__(self, url: str) -> None:
        self._client = redis.Redis.from_url(url)
        self.lines: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        with self._client.monitor() as monitor:
            for command in monitor.listen():
                self.lines.append(str(command.get("command", "")))
                if self._stop.is_set():
                    return

    def __enter__(self) -> RedisMonitor:
        self._thread.start()
        time.sleep(0.2)
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._client.ping()  # one more command wakes the listener up
        self._thread.join(5)

    def text(self) -> str:
        return "\n".join(self.lines)


def hubspot_api(stack: Stack, acct: StackAccount) -> requests.Session:
    """A session on HubSpot's public API with the account's own private-app token (as a
    person's script or an import would call it)."""
    from tests.support.oracle import stored_secrets

    http = requests.Session()
    http.headers["Authorization"] = f"Bearer {stored_secrets(stack, acct.id)[0]}"
    return http


def hubspot_bulk_create(stack: Stack, acct: StackAccount, count: int, prefix: str) -> list[str]:
    """``count`` products created through HubSpot's batch API (100 a call), as an import
    does; returns their ids."""
    ids: list[str] = []
    with hubspot_api(stack, acct) as http:
        for start in range(0, count, 100):
            inputs = [
                {"properties": {"name": f"{prefix} {n}", "hs_sku": f"{prefix}-{n}", "price": "1"}}
                for n in range(start, min(start + 100, count))
            ]
            response = http.post(
                f"{stack.hubspot.url}/crm/v3/objects/products/batch/create",
                json={"inputs": inputs},
                timeout=30,
            )
            response.raise_for_status()
            ids += [str(r["id"]) for r in response.json()["results"]]
    return ids


def arrivals(entries: list[dict[str, Any]]) -> list[tuple[datetime, dict[str, Any]]]:
    """Ledger entries with the time each request *arrived* (the ledger stamps the end)."""
    out = []
    for e in entries:
        done = datetime.fromisoformat(e["time"])
        out.append((done - timedelta(milliseconds=e["duration_ms"]), e))
    return sorted(out, key=lambda pair: pair[0])


def max_in_window(entries: list[dict[str, Any]], seconds: float) -> int:
    """The most requests that arrived within any ``seconds``-long window."""
    times = [t for t, _ in arrivals(entries)]
    best, lo = 0, 0
    for hi, t in enumerate(times):
        while (t - times[lo]).total_seconds() >= seconds:
            lo += 1
        best = max(best, hi - lo + 1)
    return best


def send_burst(stack: Stack, job_ids: list[int], queue: str = "sync") -> None:
    """Announce many jobs back to back on one broker connection (so they really overlap)."""
    from celery import Celery

    client = Celery("fault-burst", broker=stack.redis.url)
    client.conf.update(task_serializer="json", accept_content=["json"])
    try:
        with client.connection_for_write() as conn:
            for job_id in job_ids:
                client.send_task(
                    "productsync.sync_product", args=[job_id], queue=queue, connection=conn
                )
    finally:
        client.close()


# tasks.sync._expiry with the stack's one-second poll interval: a poll announced before
# beat was held back has run or expired after this long.
POLL_EXPIRY = 5.0


@contextmanager
def polls_held(stack: Stack, acct: StackAccount) -> Iterator[None]:
    """Inside, beat leaves the account alone: the test polls it itself and announces its
    jobs as it likes (a poll announces a page as one chunk, one message for all)."""
    with session_scope(stack.database_url) as session:
        account = session.get(Account, acct.id)
        assert account is not None
        interval, account.poll_interval_seconds = account.poll_interval_seconds, 3600
    time.sleep(POLL_EXPIRY + 0.5)
    try:
        yield
    finally:
        with session_scope(stack.database_url) as session:
            account = session.get(Account, acct.id)
            assert account is not None
            account.poll_interval_seconds = interval
