"""`productsync history` filters and `productsync status` figures, on real rows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import redis

from models import Account, Cursor, HistoryEntry, Job
from models.db import session_scope
from tests.cli.conftest import Invoke


def make_account(url: str, name: str) -> int:
    with session_scope(url) as db:
        account = Account(name=name, hubspot_portal_id="1", quickbooks_realm_id="2")
        db.add(account)
        db.flush()
        return account.id


def entry(
    account_id: int, sku: str, action: str, status: str, minutes_ago: int, **extra: object
) -> HistoryEntry:
    at = datetime.now(UTC) - timedelta(minutes=minutes_ago)
    return HistoryEntry(
        account_id=account_id,
        direction="hubspot_to_quickbooks",
        sku=sku,
        action=action,
        status=status,
        started_at=at,
        finished_at=at,
        hubspot_id=f"hs-{sku}",
        **extra,
    )


def test_history_filters_and_json(productsync: Invoke, cli_database: str) -> None:
    account_id = make_account(cli_database, "hist")
    other_id = make_account(cli_database, "hist-other")
    with session_scope(cli_database) as db:
        db.add_all(
            [
                entry(
                    account_id,
                    "A-1",
                    "created",
                    "succeeded",
                    300,
                    quickbooks_id="7",
                    changes={"UnitPrice": [None, "10.50"]},
                ),
                entry(account_id, "a-1", "unchanged", "succeeded", 20),
                entry(
                    account_id,
                    "B-2",
                    "failed",
                    "failed",
                    10,
                    error_code="invalid_price",
                    error_message='Price "abc" on HubSpot product 1 is not a number.',
                ),
                entry(other_id, "A-1", "created", "succeeded", 5),
            ]
        )
    rows = productsync("history", "--account", "hist", "--json").json()
    assert [r["sku"] for r in rows] == ["B-2", "a-1", "A-1"]  # newest first, this account only
    assert rows[2]["changes"] == {"UnitPrice": [None, "10.50"]}
    assert rows[2]["quickbooks_id"] == "7"
    failed = productsync("history", "--account", "hist", "--status", "failed", "--json").json()
    assert [(r["sku"], r["error_code"]) for r in failed] == [("B-2", "invalid_price")]
    exact = productsync("history", "--sku", "A-1", "--json").json()
    assert sorted(r["account"] for r in exact) == ["hist", "hist-other"]  # case-sensitive
    recent = productsync("history", "--account", "hist", "--since", "1h", "--json").json()
    assert [r["sku"] for r in recent] == ["B-2", "a-1"]
    text = productsync("history", "--account", "hist", "--status", "failed")
    assert 'invalid_price: Price "abc" on HubSpot product 1 is not a number.' in text.stdout
    assert productsync("history", "--account", "hist", "--sku", "nope").stdout.strip() == (
        "no history matches"
    )


def test_history_rejects_bad_filters(productsync: Invoke) -> None:
    bad_status = productsync("history", "--status", "exploded")
    assert bad_status.exit_code == 2 and "exploded" in bad_status.stderr
    bad_since = productsync("history", "--since", "yesterday-ish")
    assert bad_since.exit_code == 2
    assert "neither a duration" in bad_since.stderr
    assert productsync("history", "--account", "ghost").exit_code == 1


def test_status_reports_polls_jobs_queues_and_tokens(
    productsync: Invoke, cli_database: str, redis_url: str
) -> None:
    account_id = make_account(cli_database, "stat")
    now = datetime.now(UTC)
    with session_scope(cli_database) as db:
        db.add(
            Cursor(
                account_id=account_id,
                source_system="hubspot",
                value=now - timedelta(seconds=95),
                polled_at=now - timedelta(seconds=30),
            )
        )
        for i, status in enumerate(["pending", "pending", "running", "parked", "failed"]):
            db.add(
                Job(
                    account_id=account_id,
                    source_system="hubspot",
                    source_id=str(i),
                    reason="poll",
                    status=status,
                    request_id=f"r{i}",
                )
            )
    client = redis.Redis.from_url(redis_url)
    client.delete("poll", "sync", "bulk", "bulk\x06\x163")
    client.rpush("sync", "m1", "m2")
    client.rpush("bulk", "m3")
    client.rpush("bulk\x06\x163", "m4")  # a message with a priority: still in the bulk queue
    report = productsync("status", "--account", "stat", "--json").json()
    assert report["queues"] == {"poll": 0, "sync": 2, "bulk": 2}
    (acct,) = report["accounts"]
    assert acct["jobs"] == {"pending": 2, "running": 1, "parked": 1, "failed_24h": 1}
    assert 90 <= acct["last_poll"]["lag_seconds"] < 120
    assert acct["credentials"]["hubspot"]["health"] == "not connected"
    text = productsync("status", "--account", "stat").stdout
    assert "queues: poll 0, sync 2, bulk 2" in text
    assert "jobs: pending 2, running 1, parked 1, failed (24h) 1" in text
    assert "last poll of hubspot: 30s ago" in text or "last poll of hubspot: 31s ago" in text


def test_status_shows_waiting_runs_and_polls_and_each_workers_liveness(
    productsync: Invoke, cli_database: str, redis_url: str
) -> None:
    import time

    from models import SyncRun
    from workers import liveness

    account_id = make_account(cli_database, "waits")
    until = datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)
    with session_scope(cli_database) as db:
        for kind in ("full_sync", "poll"):
            db.add(
                SyncRun(
                    account_id=account_id,
                    kind=kind,
                    direction="hubspot_to_quickbooks",
                    status="waiting",
                    wait_reason="[circuit_open] hubspot failed 5 times in a row",
                    next_attempt_at=until,
                )
            )
    client = redis.Redis.from_url(redis_url)
    now = time.time()
    liveness.record(
        client, "sync@a", deadline=10, seen={"sync": now - 2}, starved={"sync": None}, now=now
    )
    liveness.record(
        client, "bulk@b", deadline=10, seen={"bulk": None}, starved={"bulk": now - 30}, now=now
    )
    try:
        report = productsync("status", "--account", "waits", "--json").json()
        (acct,) = report["accounts"]
        [run] = acct["full_syncs"]
        assert (run["status"], run["wait_reason"]) == (
            "waiting",
            "[circuit_open] hubspot failed 5 times in a row",
        )
        assert acct["poll_wait"]["reason"].startswith("[circuit_open]")
        workers = {w["worker"]: w for w in report["workers"]}
        assert workers["sync@a"]["overdue"] is None
        assert workers["bulk@b"]["overdue"].startswith("messages have waited in 'bulk' for")
        text = productsync("status", "--account", "waits").stdout
        assert (
            f"full sync #{run['run']}: waiting: [circuit_open] hubspot failed 5 times in a row, "
            "next try 2030-01-02 03:04:05Z" in text
        )
        assert "polls waiting: [circuit_open] hubspot failed 5 times in a row" in text
        assert "  sync@a: ok; sync taken 2s ago" in text
        assert "  bulk@b: OVERDUE (messages have waited in 'bulk' for 30s" in text
        # worker-health: the same verdict, as an exit status.
        assert productsync("worker-health", "--worker", "sync@a").exit_code == 0
        unhealthy = productsync("worker-health", "--worker", "bulk@b")
        assert unhealthy.exit_code == 1 and "OVERDUE" in unhealthy.stdout
        assert productsync("worker-health", "--worker", "nobody@nowhere").exit_code == 1
    finally:
        client.delete(liveness.PREFIX + "sync@a", liveness.PREFIX + "bulk@b")


def test_status_shows_the_last_webhook_and_refusals_per_account(
    productsync: Invoke, cli_database: str, redis_url: str
) -> None:
    from workers.webhooks.intake import Intake
    from workers.webhooks.stats import note_intake, note_refused

    account_id = make_account(cli_database, "hooked")
    quiet = make_account(cli_database, "quiet")
    client = redis.Redis.from_url(redis_url)
    now = datetime.now(UTC)
    intake = Intake()
    intake.accepted[account_id] += 7
    intake.dropped[account_id] += 1
    note_intake(client, "hubspot", intake, now - timedelta(seconds=12))
    note_refused(client, "hubspot", [account_id], "stale", now - timedelta(seconds=5))
    note_refused(client, "hubspot", [account_id], "mismatch", now - timedelta(seconds=3))
    report = productsync("status", "--account", "hooked", "--json").json()
    hooks = report["accounts"][0]["webhooks"]
    assert (hooks["events"], hooks["dropped"], hooks["refused"]) == (7, 1, 2)
    assert hooks["last_refused_reason"] == "mismatch"
    text = productsync("status").stdout
    assert "webhooks: last 12s ago (7 events, 1 dropped), 2 refused (last 3s ago: mismatch)" in (
        text
    ) or "webhooks: last 13s ago" in text
    quiet_text = productsync("status", "--account", "quiet").stdout
    assert "webhooks: none received, 0 refused" in quiet_text
    assert quiet != account_id
