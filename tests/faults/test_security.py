"""Security: a run with sentinel secrets, then a scan of every place a secret could leak
(Redis traffic and keys, worker/beat/Flower logs, Flower's API, history and error
details, the web pages); tokens at rest are ciphertext; Flower and the web refuse
anonymous use; a pickle message is rejected, never executed; settings refuse to start
outside development without an encryption key."""

from __future__ import annotations

import json
import os
import subprocess
import time
import uuid
from pathlib import Path

import pytest
import requests
from kombu import Connection

from console.web.app import create_app
from console.web.flower import flower_command, flower_environment
from tests.support import oracle
from tests.support.faults import QBO_WRITE, RedisMonitor
from tests.support.services import free_port
from tests.support.stack import CELERY, ROOT, Process, Stack
from workers.settings import ConfigError, Settings

FLOWER_USER, FLOWER_PASSWORD = "ops", f"flower-{uuid.uuid4().hex}"


def _start_flower(stack: Stack) -> tuple[Process, str]:
    port = free_port()
    env = stack.env(FLOWER_PORT=str(port), FLOWER_USERNAME=FLOWER_USER,
                    FLOWER_PASSWORD=FLOWER_PASSWORD)  # fmt: skip
    settings = Settings.from_env(env)
    log = stack.workdir / "flower.log"
    with log.open("ab") as handle:
        popen = subprocess.Popen(
            flower_command(settings, executable=CELERY),
            cwd=ROOT,
            env={**env, **flower_environment(settings)},
            stdout=handle,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    process = Process("flower", popen, log)
    stack.processes.append(process)
    base = f"http://127.0.0.1:{port}"

    def up() -> bool:
        try:
            return requests.get(f"{base}/healthcheck", timeout=1).status_code == 200
        except requests.ConnectionError:
            return False

    stack.wait_for(up, timeout=30)
    auth = (FLOWER_USER, FLOWER_PASSWORD)
    # Flower turns the workers' task events on shortly after it connects: wait for the
    # first one, so everything the test does afterwards is in what Flower shows.
    stack.wait_for(lambda: "productsync." in _get(f"{base}/api/tasks", auth), timeout=30)
    return process, base


def _get(url: str, auth: tuple[str, str]) -> str:
    return requests.get(url, auth=auth, timeout=5).text


def test_sentinel_secrets_appear_nowhere(pipeline: Stack) -> None:
    sentinel = f"SENTINEL-hubspot-token-{uuid.uuid4().hex}"
    _, flower = _start_flower(pipeline)
    with RedisMonitor(pipeline.redis.url) as monitor:
        acct = pipeline.new_account("hubspot_to_quickbooks", hubspot_token=sentinel)
        first_tokens = oracle.stored_secrets(pipeline, acct.id)
        acct.hubspot_create(name="Fine", hs_sku="SEC-1", price="1")
        acct.hubspot_create(name="Refused", hs_sku="SEC-2", price="-1")  # an error detail
        oracle.check(pipeline, acct, secrets=[sentinel])
        # A refresh: the rotated tokens must not leak either.
        body = {"realm_id": acct.realm_id}
        pipeline.quickbooks_admin.vendor("POST", "quickbooks/tokens/expire", json=body)
        pipeline.quickbooks_admin.add_fault(
            "status", QBO_WRITE, method="POST", account=acct.realm_id, status=500
        )
        acct.hubspot_create(name="After refresh", hs_sku="SEC-3", price="1")
        verdict = oracle.check(pipeline, acct, secrets=[sentinel, *first_tokens])
    assert verdict.by_status() == {"succeeded": 2, "failed": 1}
    secrets = {sentinel, *first_tokens, *oracle.stored_secrets(pipeline, acct.id)}
    assert len(secrets) == 5  # the sentinel, QBO access+refresh, then rotated ones
    traffic = monitor.text()
    # The capture saw the task messages: the poll's chunks (the retry after the 500 goes
    # again as a chunk).
    assert "productsync.sync_chunk" in traffic
    assert [s for s in secrets if s in traffic] == []
    # Flower: anonymous refused; what it shows the operator carries no secret.
    assert requests.get(f"{flower}/api/workers", timeout=5).status_code == 401
    auth = (FLOWER_USER, FLOWER_PASSWORD)
    shown = pipeline.wait_for(
        lambda: (
            requests.get(f"{flower}/api/tasks", auth=auth, timeout=5).text
            if "sync_chunk" in requests.get(f"{flower}/api/tasks", auth=auth, timeout=5).text
            else None
        ),
        timeout=20,
    )
    assert [s for s in secrets if s in shown] == []
    # The web pages show history and error details, never a secret.
    web = create_app(pipeline.settings()).test_client()
    page = web.get("/login").get_data(as_text=True)
    token = page.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    login = {"username": "admin", "password": "admin", "csrf_token": token}
    assert web.post("/login", data=login).status_code == 302
    pages = [
        f"/products?account={acct.id}",  # the history table
        f"/products?account={acct.id}&status=failed",  # error details
        f"/product?account={acct.id}&sku=SEC-2",  # one product's story
        f"/accounts/{acct.id}",
    ]
    for path in pages:
        response = web.get(path)
        html = response.get_data(as_text=True)
        assert response.status_code == 200, path
        assert "SEC-" in html or path.startswith("/accounts"), path
        assert [s for s in secrets if s in html] == [], path
    assert oracle.leaks(pipeline, sorted(secrets)) == []


def test_flower_and_the_web_refuse_anonymous_use(pipeline: Stack) -> None:
    _, flower = _start_flower(pipeline)
    for path in ("/", "/api/workers", "/api/tasks", "/tasks", "/workers"):
        assert requests.get(f"{flower}{path}", timeout=5).status_code == 401, path
    shutdown = requests.post(f"{flower}/api/worker/shutdown/w1", timeout=5)
    assert shutdown.status_code == 401
    web = create_app(pipeline.settings()).test_client()
    for path in ("/accounts", "/accounts/1", "/products", "/product", "/runs/1.json"):
        response = web.get(path)
        assert response.status_code in (302, 401), path
        assert response.status_code == 401 or "/login" in response.headers["Location"]
    assert web.post("/accounts/1/full-sync").status_code in (302, 400, 401, 403)


class _Exploit:
    """Unpickling this runs a shell command: it must never be unpickled."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[object, tuple[str]]:
        return (os.system, (f"touch {self.marker}",))


def test_a_pickle_message_is_rejected_never_executed(pipeline: Stack) -> None:
    marker = pipeline.workdir / f"pwned-{uuid.uuid4().hex}"
    task_id = str(uuid.uuid4())
    headers = {"lang": "py", "task": "productsync.sync_product", "id": task_id,
               "root_id": task_id, "parent_id": None, "group": None, "retries": 0,
               "eta": None, "expires": None, "argsrepr": "", "kwargsrepr": ""}  # fmt: skip
    with Connection(pipeline.redis.url) as conn:
        producer = conn.Producer(serializer="pickle")
        producer.publish(
            ((_Exploit(marker),), {}, {}),
            routing_key="sync",
            exchange="",
            headers=headers,
            declare=[],
        )
    [worker] = [p for p in pipeline.processes if p.name == "w1"]
    pipeline.wait_for(lambda: task_id in worker.output() or "pickle" in worker.output())
    time.sleep(1.0)
    assert not marker.exists()
    assert "ContentDisallowed" in worker.output() or "untrusted content" in worker.output()
    # The worker is still healthy and the queue moves on.
    acct = pipeline.new_account("hubspot_to_quickbooks")
    acct.hubspot_create(name="After pickle", hs_sku="PICKLE-1", price="1")
    verdict = oracle.check(pipeline, acct)
    assert verdict.by_status() == {"succeeded": 1} and worker.alive()


def test_settings_refuse_to_start_outside_development_without_an_encryption_key(
    stack: Stack,
) -> None:
    for environment in ("production", "test"):
        with pytest.raises(ConfigError, match="ENCRYPTION_KEY"):
            Settings.from_env({"PRODUCTSYNC_ENVIRONMENT": environment})
    env = stack.env(ENVIRONMENT="production")
    env.pop("PRODUCTSYNC_ENCRYPTION_KEY", None)
    started = subprocess.run(
        [CELERY, "-A", "tasks", "worker", "--pool", "solo", "-Q", "sync"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert started.returncode != 0
    assert "ENCRYPTION_KEY" in started.stdout + started.stderr


def test_json_logs_carry_the_fields_and_no_secret(pipeline: Stack) -> None:
    """The same sentinel run with ``PRODUCTSYNC_LOG_FORMAT=json``: every log line of the
    worker is one JSON object, outcome and failed vendor-call lines carry their fields,
    and no secret is in any of them."""
    for process in [p for p in pipeline.processes if p.name == "w1"]:
        process.stop()
        pipeline.processes.remove(process)
    worker = pipeline.start_worker("w1-json", env={"PRODUCTSYNC_LOG_FORMAT": "json"})
    sentinel = f"SENTINEL-hubspot-token-{uuid.uuid4().hex}"
    acct = pipeline.new_account("hubspot_to_quickbooks", hubspot_token=sentinel)
    first_tokens = oracle.stored_secrets(pipeline, acct.id)
    acct.hubspot_create(name="Fine", hs_sku="JSON-1", price="1")
    acct.hubspot_create(name="Refused", hs_sku="JSON-2", price="-1")
    pipeline.quickbooks_admin.vendor(
        "POST", "quickbooks/tokens/expire", json={"realm_id": acct.realm_id}
    )
    pipeline.quickbooks_admin.add_fault(
        "status", r"/item$", method="POST", account=acct.realm_id, status=500
    )
    acct.hubspot_create(name="After refresh", hs_sku="JSON-3", price="1")
    oracle.check(pipeline, acct, secrets=[sentinel, *first_tokens])

    output = worker.output()
    # Celery's start-up banner is printed, not logged; every line after it is an object.
    logged = output[output.index("[tasks]") :].split("\n\n", 1)[1].splitlines()
    records = [json.loads(line) for line in logged if line.strip()]
    assert records and all({"time", "level", "logger", "message"} <= set(r) for r in records)
    outcomes = [r for r in records if r.get("account") == acct.id and "action" in r]
    assert {(r["sku"], r["action"], r["status"]) for r in outcomes} >= {
        ("JSON-1", "created", "succeeded"),
        ("JSON-2", "failed", "failed"),
        ("JSON-3", "created", "succeeded"),
    }
    assert all(isinstance(r["job"], int) and r["task"] for r in outcomes)
    failed_calls = [r for r in records if r.get("vendor") == "quickbooks"]
    assert any(r["http_status"] == 500 and r["method"] == "POST" for r in failed_calls)
    secrets = {sentinel, *first_tokens, *oracle.stored_secrets(pipeline, acct.id)}
    assert [s for s in secrets if s in output] == []
    assert oracle.leaks(pipeline, sorted(secrets)) == []
