"""Full sync start (a run row + one id-only message on `bulk`), the run page and its JSON
progress feed, and Retry (a job row + one id-only message on `sync`)."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta

import pytest
import redis
from flask.testing import FlaskClient
from sqlalchemy import select

from console.web.queries import run_progress
from models import Job, SyncRun
from models.db import session_scope
from tests.web.seed import add_history, add_link, add_run, make_account


@pytest.fixture
def broker(redis_url: str) -> redis.Redis:
    client = redis.Redis.from_url(redis_url)
    client.delete("bulk", "sync")
    return client


def _messages(client: redis.Redis, queue: str) -> list[dict]:  # type: ignore[type-arg]
    out = []
    for raw in client.lrange(queue, 0, -1):
        envelope = json.loads(raw)
        body = json.loads(base64.b64decode(envelope["body"]))
        out.append({"task": envelope["headers"]["task"], "args": body[0], "kwargs": body[1]})
    return out


def test_full_sync_button_creates_a_run_and_announces_only_its_id(
    client: FlaskClient, user: str, web_database: str, broker: redis.Redis
) -> None:
    account = make_account(web_database)
    response = client.post(f"/accounts/{account.id}/full-sync", data={"csrf_token": user})
    assert response.status_code == 302
    with session_scope(web_database) as session:
        run = session.scalars(select(SyncRun).where(SyncRun.account_id == account.id)).one()
        assert (run.kind, run.status) == ("full_sync", "enumerating")
    assert response.headers["Location"] == f"/runs/{run.id}"
    assert _messages(broker, "bulk") == [
        {"task": "productsync.full_sync", "args": [run.id], "kwargs": {}}
    ]


def test_a_second_click_shows_the_running_full_sync_instead_of_starting_another(
    client: FlaskClient, user: str, web_database: str, broker: redis.Redis
) -> None:
    account = make_account(web_database)
    first = client.post(f"/accounts/{account.id}/full-sync", data={"csrf_token": user})
    second = client.post(f"/accounts/{account.id}/full-sync", data={"csrf_token": user})
    assert second.headers["Location"] == first.headers["Location"]
    assert broker.llen("bulk") == 1
    page = client.get(second.headers["Location"]).get_data(as_text=True)
    assert "already running" in page
    # A finished run does not block the next one.
    with session_scope(web_database) as session:
        for run in session.scalars(select(SyncRun).where(SyncRun.account_id == account.id)):
            run.status = "finished"
    third = client.post(f"/accounts/{account.id}/full-sync", data={"csrf_token": user})
    assert third.headers["Location"] != first.headers["Location"]
    assert broker.llen("bulk") == 2


def test_full_sync_without_a_token_starts_nothing(
    client: FlaskClient, user: str, web_database: str, broker: redis.Redis
) -> None:
    account = make_account(web_database)
    response = client.post(f"/accounts/{account.id}/full-sync", data={"csrf_token": "forged"})
    assert response.status_code == 400
    assert "security token" in response.get_data(as_text=True)
    with session_scope(web_database) as session:
        assert session.scalars(select(SyncRun).where(SyncRun.account_id == account.id)).all() == []
    assert broker.llen("bulk") == 0


def test_a_full_sync_that_cannot_be_announced_is_marked_failed(
    client: FlaskClient, user: str, web_database: str, app
) -> None:
    from tests.support.services import free_port

    app.config["PRODUCTSYNC_SETTINGS"] = app.config["PRODUCTSYNC_SETTINGS"].replace(
        redis_url=f"redis://127.0.0.1:{free_port()}/0"
    )
    account = make_account(web_database)
    response = client.post(f"/accounts/{account.id}/full-sync", data={"csrf_token": user})
    assert response.status_code == 503
    assert "could not be reached" in response.get_data(as_text=True)
    with session_scope(web_database) as session:
        run = session.scalars(select(SyncRun).where(SyncRun.account_id == account.id)).one()
        assert run.status == "failed"
        assert "Redis" in (run.error_message or "")


def test_run_page_and_progress_feed(client: FlaskClient, user: str, web_database: str) -> None:
    account = make_account(web_database)
    run = add_run(
        web_database, account, total=200, done=50, created=30, updated=10, unchanged=5, failed=5
    )
    html = client.get(f"/runs/{run.id}").get_data(as_text=True)
    assert "25 %" in html
    assert f'data-progress-url="/runs/{run.id}.json"' in html
    assert 'src="/static/progress.js"' in html
    feed = client.get(f"/runs/{run.id}.json").json
    assert feed is not None
    assert {k: feed[k] for k in ("total", "done", "failed", "unchanged", "percent")} == {
        "total": 200,
        "done": 50,
        "failed": 5,
        "unchanged": 5,
        "percent": 25,
    }
    assert feed["complete"] is False
    assert feed["message"] == "Syncing: 150 of 200 product(s) still to go."
    assert client.get("/runs/999999.json").status_code == 404
    assert client.get("/runs/999999").status_code == 404


def test_progress_never_shows_100_before_the_last_product() -> None:
    start = datetime(2026, 11, 1, tzinfo=UTC)
    run = SyncRun(status="running", total=1000, done=999, started_at=start)
    assert run_progress(run, now=start + timedelta(seconds=42)).percent == 99
    assert run_progress(run, now=start + timedelta(seconds=42)).elapsed_seconds == 42
    run.status, run.done, run.finished_at = "finished", 1000, start + timedelta(seconds=60)
    finished = run_progress(run)
    assert (finished.percent, finished.complete, finished.elapsed_seconds) == (100, True, 60)
    empty = SyncRun(status="finished", total=0, done=0, started_at=start, finished_at=start)
    assert run_progress(empty).percent == 100
    enumerating = SyncRun(status="enumerating", total=0, done=0, started_at=start)
    assert run_progress(enumerating, now=start).percent == 0


def test_a_waiting_run_says_why_and_when_it_tries_again_and_is_not_complete() -> None:
    start = datetime(2026, 11, 1, tzinfo=UTC)
    run = SyncRun(
        status="waiting",
        total=0,
        done=0,
        started_at=start,
        wait_reason="[circuit_open] hubspot failed 5 times in a row",
        next_attempt_at=start + timedelta(seconds=30),
    )
    progress = run_progress(run, now=start)
    assert not progress.complete
    assert progress.message == (
        "Waiting for a passing condition: [circuit_open] hubspot failed 5 times in a row. "
        "Next try at 00:00:30 UTC."
    )


def test_retry_queues_the_source_product_again(
    client: FlaskClient, user: str, web_database: str, broker: redis.Redis
) -> None:
    account = make_account(web_database)
    add_link(web_database, account, "RETRY-ME", "hs-1", "qb-1")
    add_history(web_database, account, sku="RETRY-ME", status="failed", action="failed")
    form = {"csrf_token": user, "account": account.id, "sku": "RETRY-ME"}
    response = client.post("/product/retry", data=form)
    assert response.status_code == 302
    with session_scope(web_database) as session:
        jobs = session.scalars(select(Job).where(Job.account_id == account.id)).all()
        assert [(j.reason, j.source_system, j.source_id, j.status) for j in jobs] == [
            ("retry", "hubspot", "hs-1", "pending")
        ]
        job_id = jobs[0].id
    assert _messages(broker, "sync") == [
        {"task": "productsync.sync_product", "args": [job_id], "kwargs": {}}
    ]
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Retry of SKU &#39;RETRY-ME&#39; queued" in page
    assert f"job {job_id}" in page  # shown under "Waiting to sync"

    # A second click re-announces the same waiting job instead of adding another.
    client.post("/product/retry", data=form)
    with session_scope(web_database) as session:
        assert len(session.scalars(select(Job).where(Job.account_id == account.id)).all()) == 1


def test_retry_of_a_sku_never_seen_in_the_current_source_says_so(
    client: FlaskClient, user: str, web_database: str, broker: redis.Redis
) -> None:
    account = make_account(web_database, direction="quickbooks_to_hubspot")
    # Only ever seen from HubSpot (the previous direction): nothing to re-read in QBO.
    add_history(web_database, account, sku="OLD", hubspot_id="hs-9")
    form = {"csrf_token": user, "account": account.id, "sku": "OLD"}
    page = client.post("/product/retry", data=form, follow_redirects=True)
    assert "No QuickBooks product is known under SKU" in page.get_data(as_text=True)
    assert broker.llen("sync") == 0
