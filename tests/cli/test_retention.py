"""Retention: old history and finished jobs go, each product's last attempt stays, and the
history page and `productsync history` still show it after a prune."""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select, text

import celeryconfig
from console.web import create_app
from models import Account, HistoryEntry, Job
from models.db import session_scope
from tests.cli.conftest import Invoke
from tests.web.conftest import PASSWORD, SECRET_KEY, USERNAME, login
from workers import retention
from workers.secret import Secret
from workers.settings import Settings

NOW = datetime.now(UTC)
OLD = NOW - timedelta(days=100)
RECENT = NOW - timedelta(days=1)


def history(account_id: int, sku: str | None, at: datetime, **extra: Any) -> HistoryEntry:
    values: dict[str, Any] = {
        "account_id": account_id,
        "direction": "hubspot_to_quickbooks",
        "sku": sku,
        "action": "updated",
        "status": "succeeded",
        "started_at": at,
        "finished_at": at,
        "hubspot_id": f"hs-{sku}",
    }
    values.update(extra)
    return HistoryEntry(**values)


def job(account_id: int, status: str, at: datetime) -> Job:
    return Job(
        account_id=account_id,
        source_system="hubspot",
        source_id=uuid.uuid4().hex[:8],
        reason="manual",
        status=status,
        request_id=uuid.uuid4().hex,
        created_at=at,
        updated_at=at,
    )


def seed(url: str, name: str) -> dict[str, int]:
    """Products and jobs of every kind retention must tell apart; their ids by role."""
    with session_scope(url) as db:
        account = Account(name=name, hubspot_portal_id="1", quickbooks_realm_id="2")
        db.add(account)
        db.flush()
        a = account.id
        done_old, done_kept, pending_old, done_new = (
            job(a, "succeeded", OLD),
            job(a, "failed", OLD),
            job(a, "pending", OLD),
            job(a, "succeeded", RECENT),
        )
        db.add_all([done_old, done_kept, pending_old, done_new])
        db.flush()
        rows = {
            # ONLY-OLD: three old attempts and nothing newer: the last one stays.
            "only_old_1": history(a, "ONLY-OLD", OLD, job_id=done_old.id),
            "only_old_2": history(a, "ONLY-OLD", OLD + timedelta(hours=1)),
            "only_old_last": history(
                a,
                "ONLY-OLD",
                OLD + timedelta(hours=2),
                job_id=done_kept.id,
                action="failed",
                status="failed",
                error_code="invalid_price",
            ),
            # BOTH: old attempts and a recent one: only the recent one stays.
            "both_old": history(a, "BOTH", OLD),
            "both_recent": history(a, "BOTH", RECENT, job_id=done_new.id),
            # Without a SKU, a product is its source ids.
            "nosku_old": history(a, None, OLD, hubspot_id="77"),
            "nosku_last": history(a, None, OLD + timedelta(hours=1), hubspot_id="77"),
            "nosku_other": history(a, None, OLD, hubspot_id="78"),
            # SKUs are exact: "only-old" is another product than "ONLY-OLD".
            "case": history(a, "only-old", OLD),
        }
        ordered = sorted(rows.items(), key=lambda kv: kv[1].finished_at)
        for _, row in ordered:  # ids grow with time, as they do in production
            db.add(row)
            db.flush()
        ids = {role: row.id for role, row in rows.items()}
        ids |= {
            "account": a,
            "job_done_old": done_old.id,
            "job_done_kept": done_kept.id,
            "job_pending_old": pending_old.id,
            "job_done_new": done_new.id,
        }
        return ids


def remaining(url: str, account_id: int) -> tuple[set[int], set[int]]:
    with session_scope(url) as db:
        rows = set(db.scalars(select(HistoryEntry.id).where(HistoryEntry.account_id == account_id)))
        jobs = set(db.scalars(select(Job.id).where(Job.account_id == account_id)))
    return rows, jobs


def test_prune_keeps_each_products_last_attempt_and_open_or_referenced_jobs(
    cli_database: str,
) -> None:
    ids = seed(cli_database, f"ret-{uuid.uuid4().hex[:6]}")
    result = retention.prune(cli_database, history_days=90, job_days=90, batch=2)
    assert result.finished
    rows, jobs = remaining(cli_database, ids["account"])
    assert rows == {
        ids["only_old_last"], ids["both_recent"], ids["nosku_last"], ids["nosku_other"],
        ids["case"],
    }  # fmt: skip
    # The old finished job no row points at any more went; the one the kept failure
    # points at, the open one and the recent one stay.
    assert jobs == {ids["job_done_kept"], ids["job_pending_old"], ids["job_done_new"]}
    assert result.history >= 4 and result.jobs >= 1
    again = retention.prune(cli_database, history_days=90, job_days=90, batch=2)
    assert remaining(cli_database, ids["account"]) == (rows, jobs)  # nothing more to do
    assert again.finished


def test_the_history_and_its_page_still_show_every_products_last_attempt(
    productsync: Invoke, cli_database: str, redis_url: str
) -> None:
    name = f"ret-{uuid.uuid4().hex[:6]}"
    seed(cli_database, name)
    retention.prune(cli_database, history_days=90, job_days=90)

    rows = productsync("history", "--account", name, "--json").json()
    by_sku = {r["sku"]: r for r in rows}
    assert set(by_sku) == {"ONLY-OLD", "BOTH", "only-old", None}
    assert by_sku["ONLY-OLD"]["error_code"] == "invalid_price"  # the last attempt, intact
    failed = productsync("history", "--account", name, "--status", "failed", "--json").json()
    assert [r["sku"] for r in failed] == ["ONLY-OLD"]

    settings = Settings().replace(
        database_url=cli_database,
        redis_url=redis_url,
        web_username=USERNAME,
        web_password=Secret(PASSWORD),
        web_secret_key=Secret(SECRET_KEY),
    )
    client = create_app(settings).test_client()
    login(client)
    with session_scope(cli_database) as db:
        account_id = db.scalar(select(Account.id).where(Account.name == name))
    page = client.get("/product", query_string={"account": account_id, "sku": "ONLY-OLD"})
    assert page.status_code == 200
    assert "invalid_price" in page.get_data(as_text=True)
    listing = client.get("/products", query_string={"account": account_id}).get_data(as_text=True)
    assert "ONLY-OLD" in listing and "BOTH" in listing


def test_a_locked_batch_is_left_for_the_next_run(
    cli_database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = seed(cli_database, f"ret-{uuid.uuid4().hex[:6]}")
    monkeypatch.setattr(retention, "LOCK_TIMEOUT", "200ms")
    locked, release = threading.Event(), threading.Event()

    def hold() -> None:
        with session_scope(cli_database) as db:
            db.execute(
                text("SELECT 1 FROM sync_history WHERE id = :id FOR UPDATE"),
                {"id": ids["both_old"]},
            )
            locked.set()
            release.wait(10)

    holder = threading.Thread(target=hold)
    holder.start()
    try:
        assert locked.wait(5)
        blocked = retention.prune(cli_database, history_days=90, job_days=90, batch=100)
        assert not blocked.finished
    finally:
        release.set()
        holder.join()
    assert ids["both_old"] in remaining(cli_database, ids["account"])[0]
    assert retention.prune(cli_database, history_days=90, job_days=90, batch=100).finished
    assert ids["both_old"] not in remaining(cli_database, ids["account"])[0]


def test_beat_runs_the_prune_hourly_on_the_bulk_queue() -> None:
    entry = celeryconfig.beat_schedule["prune"]
    assert entry["task"] == "productsync.prune" and entry["schedule"] == 3600.0
    assert celeryconfig.task_routes["productsync.prune"] == {"queue": "bulk"}
    from tasks import app

    assert "productsync.prune" in app.tasks


def test_retention_settings_must_be_whole_days() -> None:
    with pytest.raises(ValueError, match="at least 1 day"):
        Settings.from_env({"PRODUCTSYNC_HISTORY_RETENTION_DAYS": "0"})
