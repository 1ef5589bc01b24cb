"""The whole service for end-to-end tests: emulators, real Celery workers and beat.

Reusable by the e2e, fault and CLI suites::

    with running_stack(database_url) as stack:     # emulators + Redis + migrated DB
        stack.start_worker("w1")                    # `celery -A tasks worker` subprocess
        stack.start_beat()                          # `celery -A tasks beat` subprocess
        acct = stack.new_account("hubspot_to_quickbooks")
        acct.hubspot_create(name="Widget", hs_sku="W-1", price="10")
        stack.wait_for(lambda: acct.quickbooks_items(), timeout=30)

Timings are compressed (`Timings`: poll every second, sweep every second, five-second
leases) so each case takes seconds. The workers and beat get their configuration only
through ``PRODUCTSYNC_*`` environment variables, exactly like production. Worker and
beat output goes to ``<workdir>/<name>.log`` (the security suite scans those for
secrets). Emulators run in threads of the test process; client rate limits and
emulator throttles are lifted per account unless a test asks for real ones, so
throughput tests measure the pipeline, not the vendors' quotas.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import update

from emulators.client import EmulatorAdmin
from emulators.core import EmulatorHandle, start_in_thread
from models import Credential
from models.db import session_scope
from models.migrate import upgrade
from tests.support.services import RedisServer, redis_server
from tests.support.stack_account import StackAccount
from workers.auth import CredentialStore, TokenCipher, TokenGrant
from workers.catalog.port import Direction
from workers.engine import SyncContext
from workers.engine.accounts import create_account
from workers.secret import Secret
from workers.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
CELERY = str(Path(sys.executable).with_name("celery"))
PRODUCTSYNC = str(Path(sys.executable).with_name("productsync"))
QBO_VERIFIER_TOKEN = "emulator-qbo-verifier-token"  # the emulator's development token
QBO_CLIENT = ("emulator-qbo-client", "emulator-qbo-secret")
HUBSPOT_CLIENT = ("emulator-hubspot-client", "emulator-hubspot-secret")
# Client-side budgets lifted far above anything a test sends (see the module docstring).
UNLIMITED = {
    "hubspot": {"burst_per_10s": 1_000_000, "daily": None, "search_per_second": 100_000},
    "quickbooks": {"per_minute": 1_000_000, "per_second": 100_000, "concurrency": 1_000},
}
T = TypeVar("T")

__all__ = ["Process", "Stack", "StackAccount", "Timings", "running_stack"]


@dataclass(frozen=True)
class Timings:
    poll_interval: int = 1
    sweep_interval: float = 1.0
    lease: float = 5.0
    settle: float = 0.5
    overlap: float = 5.0
    retry_base: float = 0.2
    retry_cap: float = 5.0
    max_attempts: int = 5
    visibility_timeout: int = 60
    search_lag_ms: int = 100
    # A worker deaf this long exits (status 1) for its supervisor to replace it.
    liveness_deadline: float = 10.0
    # The circuit per account (production's defaults unless a suite shortens the rest).
    circuit_failure_threshold: int = 5
    circuit_cooldown: float = 30.0


@dataclass
class Process:
    name: str
    popen: subprocess.Popen[bytes]
    log: Path

    @property
    def pid(self) -> int:
        return self.popen.pid

    def children(self) -> list[int]:
        """Direct children (a prefork worker's pool processes)."""
        path = Path(f"/proc/{self.pid}/task/{self.pid}/children")
        try:
            return [int(p) for p in path.read_text().split()]
        except FileNotFoundError:
            return []

    def alive(self) -> bool:
        return self.popen.poll() is None

    def stop(self, timeout: float = 15.0) -> None:
        """Warm shutdown (SIGTERM), then SIGKILL of its own process group if it hangs."""
        if not self.alive():
            return
        self.popen.send_signal(signal.SIGTERM)
        try:
            self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()

    def kill(self) -> None:
        """SIGKILL the process and its pool children (its own process group)."""
        if self.alive():
            os.killpg(self.popen.pid, signal.SIGKILL)
            self.popen.wait(10)

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""


@dataclass
class Stack:
    database_url: str
    redis: RedisServer
    hubspot: EmulatorHandle
    quickbooks: EmulatorHandle
    workdir: Path
    timings: Timings = field(default_factory=Timings)
    processes: list[Process] = field(default_factory=list)

    @property
    def hubspot_admin(self) -> EmulatorAdmin:
        return EmulatorAdmin(self.hubspot.url)

    @property
    def quickbooks_admin(self) -> EmulatorAdmin:
        return EmulatorAdmin(self.quickbooks.url)

    def admin(self, system: str) -> EmulatorAdmin:
        return self.hubspot_admin if system == "hubspot" else self.quickbooks_admin

    # -- configuration --------------------------------------------------------------------

    def env(self, **extra: str) -> dict[str, str]:
        t = self.timings
        values = {
            "ENVIRONMENT": "development",
            "DATABASE_URL": self.database_url,
            "REDIS_URL": self.redis.url,
            "HUBSPOT_API_BASE": self.hubspot.url,
            "QUICKBOOKS_API_BASE": self.quickbooks.url,
            "HUBSPOT_CLIENT_ID": HUBSPOT_CLIENT[0],
            "HUBSPOT_CLIENT_SECRET": HUBSPOT_CLIENT[1],
            "QUICKBOOKS_CLIENT_ID": QBO_CLIENT[0],
            "QUICKBOOKS_CLIENT_SECRET": QBO_CLIENT[1],
            "HTTP_CONNECT_TIMEOUT": "2",
            "HTTP_READ_TIMEOUT": "5",
            "DEFAULT_POLL_INTERVAL_SECONDS": str(t.poll_interval),
            "SWEEP_INTERVAL_SECONDS": str(t.sweep_interval),
            "JOB_LEASE_SECONDS": str(t.lease),
            "POLL_SETTLE_SECONDS": str(t.settle),
            "POLL_OVERLAP_SECONDS": str(t.overlap),
            "RETRY_BASE_SECONDS": str(t.retry_base),
            "RETRY_CAP_SECONDS": str(t.retry_cap),
            "MAX_ATTEMPTS": str(t.max_attempts),
            "BROKER_VISIBILITY_TIMEOUT": str(t.visibility_timeout),
            "WORKER_LIVENESS_DEADLINE_SECONDS": str(t.liveness_deadline),
            # HubSpot webhooks are signed with the client secret above.
            "QUICKBOOKS_WEBHOOK_VERIFIER_TOKEN": QBO_VERIFIER_TOKEN,
            "CIRCUIT_FAILURE_THRESHOLD": str(t.circuit_failure_threshold),
            "CIRCUIT_COOLDOWN_SECONDS": str(t.circuit_cooldown),
        }
        values.update(extra)
        env = {k: v for k, v in os.environ.items() if not k.startswith("PRODUCTSYNC_")}
        env.update({f"PRODUCTSYNC_{k}": v for k, v in values.items()})
        env["PYTHONPATH"] = str(ROOT)
        return env

    def settings(self) -> Settings:
        """The same configuration as the subprocesses, for use inside the test."""
        return Settings.from_env(self.env())

    # -- processes ------------------------------------------------------------------------

    def start_worker(
        self,
        name: str = "w1",
        *,
        queues: tuple[str, ...] = ("poll", "sync", "bulk"),
        concurrency: int = 2,
        env: dict[str, str] | None = None,
        pool: str = "prefork",
    ) -> Process:
        args = [
            CELERY, "-A", "tasks", "worker", "-n", f"{name}-{uuid.uuid4().hex[:6]}@%h",
            "-Q", ",".join(queues), "-c", str(concurrency), "--pool", pool,
            "--loglevel", "INFO", "--without-gossip", "--without-mingle",
        ]  # fmt: skip
        return self._spawn(name, args, env)

    def start_beat(self, name: str = "beat", *, env: dict[str, str] | None = None) -> Process:
        schedule = self.workdir / f"{name}-schedule"
        args = [CELERY, "-A", "tasks", "beat", "-s", str(schedule), "--loglevel", "INFO"]
        return self._spawn(name, args, env)

    def start_web(self, name: str = "web", *, env: dict[str, str] | None = None) -> str:
        """`productsync web` on a free port (the webhook receiver); returns its base URL
        once it answers."""
        import requests

        port = _free_port()
        self._spawn(name, [PRODUCTSYNC, "web", "--host", "127.0.0.1", "--port", str(port)], env)
        url = f"http://127.0.0.1:{port}"

        def answers() -> bool:
            try:
                return requests.get(url + "/healthz", timeout=1).status_code == 200
            except requests.RequestException:
                return False

        self.wait_for(answers, timeout=30)
        return url

    def send_webhooks_to(self, web_url: str, **options: Any) -> None:
        """Both emulators deliver their webhooks to ``web_url``'s receiver (fast retries
        unless ``options`` say otherwise)."""
        for system in ("hubspot", "quickbooks"):
            body = {"target_url": f"{web_url}/webhooks/{system}", "retry_scale": 0.01,
                    "batch_window_ms": 20, **options}
            self.admin(system).vendor("PUT", f"{system}/webhooks", json=body)

    def _spawn(self, name: str, args: list[str], env: dict[str, str] | None) -> Process:
        log = self.workdir / f"{name}.log"
        handle = log.open("ab")
        popen = subprocess.Popen(
            args,
            cwd=ROOT,
            env={**self.env(), **(env or {})},
            stdout=handle,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: kill() reaches the pool too
        )
        handle.close()
        process = Process(name, popen, log)
        self.processes.append(process)
        return process

    def stop_all(self) -> None:
        for process in reversed(self.processes):
            process.stop()
        self.processes.clear()

    def send(self, task: str, *args: Any, queue: str) -> None:
        """Publish a task message the way the service does (JSON, ids only)."""
        from celery import Celery

        client = Celery("stack-client", broker=self.redis.url)
        client.conf.update(task_serializer="json", accept_content=["json"])
        try:
            client.send_task(task, args=list(args), queue=queue)
        finally:
            client.close()

    def context(self) -> SyncContext:
        """An engine context like a worker's (real connectors), for in-test engine calls."""
        from tasks.context import build_context

        return build_context(self.settings())

    # -- accounts -------------------------------------------------------------------------

    def new_account(
        self,
        direction: Direction = "hubspot_to_quickbooks",
        *,
        rate_limits: dict[str, dict[str, Any]] | None = None,
        hubspot_token: str | None = None,
    ) -> StackAccount:
        """A fresh portal + realm + account row with stored (encrypted) credentials.
        ``hubspot_token``: the portal's private-app token (a sentinel for leak scans)."""
        body = {"token": hubspot_token} if hubspot_token else {}
        portal = self.hubspot_admin.vendor("POST", "hubspot/portals", json=body)
        realm = self.quickbooks_admin.vendor("POST", "quickbooks/realms", json={})
        settings = self.settings()
        with session_scope(self.database_url) as session:
            account = create_account(
                session,
                name=f"e2e-{uuid.uuid4().hex[:10]}",
                direction=direction,
                hubspot_portal_id=str(portal["portal_id"]),
                quickbooks_realm_id=str(realm["realm_id"]),
                poll_interval_seconds=self.timings.poll_interval,
                qbo_income_account_id="1",
                qbo_expense_account_id="3",
                qbo_asset_account_id="5",
            )
            account_id = account.id
        store = CredentialStore(self.database_url, TokenCipher(settings.effective_encryption_key))
        now = datetime.now(UTC)
        store.save(
            account_id,
            "hubspot",
            "private_app",
            TokenGrant(Secret(portal["token"]), None, None, None),
        )
        store.save(
            account_id,
            "quickbooks",
            "oauth",
            TokenGrant(
                Secret(realm["access_token"]),
                Secret(realm["refresh_token"]),
                now + timedelta(seconds=int(realm["expires_in"])),
                None,
            ),
        )
        limits = UNLIMITED if rate_limits is None else rate_limits
        with session_scope(self.database_url) as session:
            for system, overrides in limits.items():
                session.execute(
                    update(Credential)
                    .where(Credential.account_id == account_id, Credential.system == system)
                    .values(rate_limits=overrides)
                )
        secrets = (portal["token"], realm["access_token"], realm["refresh_token"])
        return StackAccount(
            self, account_id, str(portal["portal_id"]), str(realm["realm_id"]), secrets
        )

    # -- waiting --------------------------------------------------------------------------

    def wait_for(
        self, probe: Callable[[], T], *, timeout: float = 30.0, interval: float = 0.2
    ) -> T:
        """Call ``probe`` until it returns something truthy; fail with the worker logs."""
        deadline = time.monotonic() + timeout
        while True:
            value = probe()
            if value:
                return value
            if time.monotonic() > deadline:
                logs = "\n".join(f"--- {p.name}\n{p.output()[-3000:]}" for p in self.processes)
                raise AssertionError(f"timed out after {timeout}s waiting for {probe}\n{logs}")
            time.sleep(interval)


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def running_stack(database_url: str, timings: Timings | None = None) -> Iterator[Stack]:
    """Migrate ``database_url``; start both emulators (throttles off, short search lag)
    and a private Redis; yield the `Stack`; stop every process it started."""
    timings = timings or Timings()
    upgrade(database_url)
    from emulators.hubspot.app import create_app as hubspot_app
    from emulators.quickbooks.app import create_app as quickbooks_app

    hubspot_knobs = {
        "rate_limit_preset": "off",
        "search_lag_create_ms": timings.search_lag_ms,
        "search_lag_update_ms": timings.search_lag_ms,
    }
    with (
        redis_server() as redis,
        start_in_thread(hubspot_app(knobs=hubspot_knobs)) as hubspot,
        start_in_thread(quickbooks_app(knobs={"throttle_preset": "off"})) as quickbooks,
        tempfile.TemporaryDirectory(prefix="productsync-stack-") as workdir,
    ):
        stack = Stack(database_url, redis, hubspot, quickbooks, Path(workdir), timings)
        try:
            yield stack
        finally:
            stack.stop_all()
