"""/healthz, /readyz and /metrics: open probes that say one word, a scrape behind a token."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import redis
from flask import Flask
from flask.testing import FlaskClient
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import text

from console.web import create_app
from models import Credential, Cursor, Job
from models.db import session_scope
from tests.web.conftest import login
from tests.web.seed import make_account
from workers import metrics
from workers.http.circuit import Circuit
from workers.metrics import catalog
from workers.secret import Secret
from workers.settings import Settings

TOKEN = "metrics-token-0123456789abcdef"


def samples(body: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """{(sample name, sorted labels): value} of a Prometheus text answer."""
    out = {}
    for family in text_string_to_metric_families(body):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def value(body: str, name: str, **labels: str) -> float | None:
    return samples(body).get((name, tuple(sorted(labels.items()))))


@pytest.fixture
def token_client(settings: Settings) -> FlaskClient:
    return create_app(settings.replace(metrics_token=Secret(TOKEN))).test_client()


def scrape(client: FlaskClient) -> str:
    response = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == "text/plain"
    return response.get_data(as_text=True)


def test_probes_answer_anyone_with_one_word(client: FlaskClient) -> None:
    healthz = client.get("/healthz")
    assert (healthz.status_code, healthz.get_data(as_text=True)) == (200, "ok\n")
    readyz = client.get("/readyz")
    assert (readyz.status_code, readyz.get_data(as_text=True)) == (200, "ready\n")
    assert "Set-Cookie" not in readyz.headers


def test_readyz_fails_without_redis_and_says_nothing_more(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    dead = create_app(settings.replace(redis_url="redis://127.0.0.1:1/0")).test_client()
    response = dead.get("/readyz")
    assert (response.status_code, response.get_data(as_text=True)) == (503, "not ready\n")
    assert "Redis unreachable" in caplog.text  # the reason goes to the log only
    assert dead.get("/healthz").status_code == 200


def test_readyz_fails_when_the_schema_is_behind(app: Flask, client: FlaskClient) -> None:
    app.config["PRODUCTSYNC_SCHEMA_HEAD"] = "9999_not_applied"
    assert client.get("/readyz").status_code == 503


def test_readyz_fails_without_postgres(settings: Settings) -> None:
    url = settings.database_url.rsplit("/", 1)[0] + f"/missing_{uuid.uuid4().hex[:8]}"
    dead = create_app(settings.replace(database_url=url)).test_client()
    assert dead.get("/readyz").status_code == 503


def test_metrics_with_a_token_needs_exactly_that_token(
    token_client: FlaskClient, client: FlaskClient
) -> None:
    assert token_client.get("/metrics").status_code == 401
    wrong = token_client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}x"})
    assert wrong.status_code == 401
    assert wrong.headers["WWW-Authenticate"].startswith("Bearer")
    assert "productsync_jobs" in scrape(token_client)


def test_metrics_with_a_token_ignores_the_web_login(token_client: FlaskClient) -> None:
    login(token_client)
    assert token_client.get("/metrics").status_code == 401


def test_metrics_without_a_token_is_behind_the_web_login(client: FlaskClient) -> None:
    assert client.get("/metrics").status_code == 401
    login(client)
    response = client.get("/metrics")
    assert response.status_code == 200
    assert "productsync_exporter_source_up" in response.get_data(as_text=True)


def test_the_session_cookie_is_secure_behind_https(settings: Settings) -> None:
    plain = create_app(settings)
    assert plain.config["SESSION_COOKIE_SECURE"] is False
    secure = create_app(settings.replace(public_url="https://sync.example.com/"))
    assert secure.config["SESSION_COOKIE_SECURE"] is True
    client = secure.test_client()
    login(client)
    cookie = client.get_cookie("productsync_session")
    assert cookie is not None and cookie.secure


def test_the_record_is_read_at_scrape_time(
    token_client: FlaskClient, web_database: str, redis_url: str
) -> None:
    account = make_account(web_database, hubspot_portal_id=uuid.uuid4().hex[:10])
    now = datetime.now(UTC)
    with session_scope(web_database) as session:
        for i, status in enumerate(("pending", "pending", "failed", "parked")):
            session.add(
                Job(
                    account_id=account.id,
                    source_system="hubspot",
                    source_id=str(i),
                    reason="manual",
                    status=status,
                    request_id=uuid.uuid4().hex,
                    created_at=now - timedelta(minutes=10 * (i + 1)),
                )
            )
        session.add(
            Cursor(account_id=account.id, source_system="hubspot", value=now - timedelta(hours=1))
        )
        session.add(
            Credential(
                account_id=account.id,
                system="quickbooks",
                kind="oauth",
                status="needs_reauth",
                refresh_expires_at=now + timedelta(days=10),
            )
        )
    Circuit(
        redis.Redis.from_url(redis_url),
        "hubspot",
        account.hubspot_portal_id,
        threshold=1,
        cooldown_seconds=60,
    ).failure()

    body = scrape(token_client)
    name = account.name
    assert value(body, "productsync_jobs", account=name, state="pending") == 2
    assert value(body, "productsync_jobs", account=name, state="failed") == 1
    oldest = value(body, "productsync_oldest_pending_job_age_seconds", account=name, queue="sync")
    assert oldest is not None and 20 * 60 <= oldest < 25 * 60  # the older pending one
    lag = value(body, "productsync_poll_lag_seconds", account=name)
    assert lag is not None and 3600 <= lag < 3700
    expiry = value(body, "productsync_token_expiry_seconds", account=name, vendor="quickbooks")
    assert expiry is not None and 9.9 * 86400 < expiry <= 10 * 86400
    assert value(body, "productsync_needs_reauth", account=name, vendor="quickbooks") == 1
    assert value(body, "productsync_circuit_open", account=name, vendor="hubspot") == 1
    assert value(body, "productsync_circuit_open", account=name, vendor="quickbooks") == 0
    # Other web tests may have left messages (no worker runs here): read what Redis holds.
    depth = redis.Redis.from_url(redis_url).llen("sync")
    assert value(body, "productsync_queue_depth", queue="sync") == depth
    assert value(body, "productsync_exporter_source_up", source="postgres") == 1
    assert value(body, "productsync_exporter_source_up", source="redis") == 1
    assert value(body, "productsync_account_enabled", account=name) == 1
    assert value(body, "productsync_poll_interval_seconds", account=name) == 60
    # Every family of the catalog is in the answer, even those with no sample yet.
    exported = {f.name for f in text_string_to_metric_families(body)}
    assert exported == {f.name.removesuffix("_total") for f in catalog.FAMILIES}


def test_a_dead_redis_leaves_the_record_readable(settings: Settings) -> None:
    app = create_app(
        settings.replace(redis_url="redis://127.0.0.1:1/0", metrics_token=Secret(TOKEN))
    )
    body = scrape(app.test_client())
    assert value(body, "productsync_exporter_source_up", source="redis") == 0
    assert value(body, "productsync_exporter_source_up", source="postgres") == 1
    assert "productsync_jobs" in body


@pytest.fixture
def counting(redis_url: str) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(redis_url)
    metrics.install(client)
    yield client
    metrics.install(None)


def test_events_are_counted_in_redis_and_outcomes_only_once_committed(
    counting: redis.Redis, token_client: FlaskClient, web_database: str
) -> None:
    account = make_account(web_database)
    before = scrape(token_client)

    def delta(name: str, **labels: str) -> float:
        return (value(scrape(token_client), name, **labels) or 0) - (
            value(before, name, **labels) or 0
        )

    metrics.vendor_call("hubspot", "1", "GET", "/crm/v3/objects/products/1", "default", 200)
    metrics.vendor_call("hubspot", "1", "POST", "/crm/v3/objects/products/search", "search", 429)
    metrics.vendor_call("hubspot", "1", "PATCH", "/crm/v3/objects/products/1", "default", None)
    metrics.rate_budget("hubspot", "waited", 0.25)
    changed = datetime.now(UTC) - timedelta(seconds=42)
    job = Job(id=10**9, account_id=account.id, reason="poll", source_updated_at=changed)
    row = {
        "account_id": account.id,
        "job_id": job.id,
        "action": "updated",
        "status": "succeeded",
        "finished_at": datetime.now(UTC),
    }
    with session_scope(web_database) as session:
        metrics.note_outcomes(session, [row], [job])
    with pytest.raises(RuntimeError), session_scope(web_database) as session:
        metrics.note_outcomes(session, [row], [job])
        raise RuntimeError("rolled back: not counted")
    with session_scope(web_database) as session:
        failed = {**row, "action": "failed", "status": "failed", "error_code": "missing_sku"}
        metrics.note_outcomes(session, [failed], [job])
        session.execute(text("SELECT 1"))

    calls = "productsync_vendor_calls_total"
    assert delta(calls, vendor="hubspot", kind="read", status_class="2xx") == 1
    assert delta(calls, vendor="hubspot", kind="search", status_class="4xx") == 1
    assert delta(calls, vendor="hubspot", kind="write", status_class="error") == 1
    assert delta("productsync_vendor_429_total", vendor="hubspot") == 1
    assert delta("productsync_rate_budget_waits_total", vendor="hubspot", outcome="waited") == 1
    assert delta("productsync_rate_budget_wait_seconds_total", vendor="hubspot") == 0.25
    outcomes = "productsync_sync_outcomes_total"
    name = account.name
    assert delta(outcomes, account=name, action="updated", status="succeeded", code="") == 1
    assert (
        delta(outcomes, account=name, action="failed", status="failed", code="missing_sku") == 1
    )
    body = scrape(token_client)
    latency = "productsync_change_latency_seconds"
    assert value(body, latency + "_bucket", account=name, le="30.0") == 0
    assert value(body, latency + "_bucket", account=name, le="60.0") == 1
    assert value(body, latency + "_count", account=name) == 1
    total = value(body, latency + "_sum", account=name)
    assert total is not None and 42 <= total < 45
