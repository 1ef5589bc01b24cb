"""direction, mappings, full-sync (no wait) and retry, on real Postgres and a real broker."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
import redis
from sqlalchemy import select

from models import HistoryEntry, Job, SyncRun
from models.db import session_scope
from tests.cli.conftest import Invoke, add_account
from tests.support.services import free_port
from workers.settings import get_settings


def queued_job_ids(client: redis.Redis, queue: str) -> list[int]:
    """The job ids of the sync_product messages waiting in ``queue`` (JSON bodies)."""
    ids = []
    for raw in client.lrange(queue, 0, -1):
        message = json.loads(raw)
        body = json.loads(__import__("base64").b64decode(message["body"]))
        ids.append(body[0][0])
    return ids


def test_direction_set(productsync: Invoke, cli_database: str) -> None:
    account_id = add_account(productsync, "dir")
    with session_scope(cli_database) as db:
        db.add(
            Job(
                account_id=account_id,
                source_system="hubspot",
                source_id="1",
                reason="poll",
                status="pending",
                request_id="r-dir",
            )
        )
    result = productsync("direction", "set", "--account", "dir", "quickbooks_to_hubspot", "--json")
    assert result.exit_code == 0, result.stderr
    assert result.json() == {
        "account": "dir",
        "direction": "quickbooks_to_hubspot",
        "changed": True,
        "skipped_jobs": 1,
    }
    again = productsync("direction", "set", "--account", "dir", "quickbooks_to_hubspot")
    assert "already syncs QuickBooks → HubSpot" in again.stdout
    bad = productsync("direction", "set", "--account", "dir", "both_ways")
    assert bad.exit_code == 2 and "both_ways" in bad.stderr
    with session_scope(cli_database) as db:
        row = db.scalar(select(HistoryEntry).where(HistoryEntry.account_id == account_id))
        assert row is not None and row.error_code == "direction_changed"


def test_mappings_list_set_reset(productsync: Invoke) -> None:
    add_account(productsync, "maps")
    listed = productsync("mappings", "list", "--account", "maps", "--json").json()
    assert [m["quickbooks_field"] for m in listed] == ["Name", "Sku", "Description", "UnitPrice"]
    saved = productsync(
        "mappings",
        "set",
        "--account",
        "maps",
        "name=Name",
        "hs_sku=Sku",
        "price=UnitPrice",
        "hs_cost_of_goods_sold=PurchaseCost",
        "--json",
    )
    assert saved.exit_code == 0, saved.stderr
    assert saved.json()[3] == {
        "hubspot_field": "hs_cost_of_goods_sold",
        "quickbooks_field": "PurchaseCost",
        "converter": "money",
    }
    listed = productsync("mappings", "list", "--account", "maps", "--json").json()
    assert len(listed) == 4 and listed[3]["quickbooks_field"] == "PurchaseCost"

    refused = productsync(
        "mappings",
        "set",
        "--account",
        "maps",
        "name=Name",
        "hs_sku=Sku",
        "no_such_property=Description",
        "description=UnitPrice:money",
    )
    assert refused.exit_code == 1
    message = refused.stderr.strip()
    assert len(message.splitlines()) == 1 and message.startswith("Error: mappings refused: ")
    assert "no_such_property" in message and "money converter" in message
    unchanged = productsync("mappings", "list", "--account", "maps", "--json").json()
    assert unchanged == listed  # nothing saved
    syntax = productsync("mappings", "set", "--account", "maps", "name-Name")
    assert syntax.exit_code == 2 and "HUBSPOT_PROPERTY=QUICKBOOKS_FIELD" in syntax.stderr
    converter = productsync("mappings", "set", "--account", "maps", "name=Name:upper")
    assert converter.exit_code == 2 and "unknown converter 'upper'" in converter.stderr

    reset = productsync("mappings", "reset", "--account", "maps", "--json")
    assert [m["hubspot_field"] for m in reset.json()] == ["name", "hs_sku", "description", "price"]


def test_full_sync_without_wait_starts_a_run_on_the_bulk_queue(
    productsync: Invoke, cli_database: str, redis_url: str
) -> None:
    account_id = add_account(productsync, "fs")
    client = redis.Redis.from_url(redis_url)
    client.delete("bulk")
    result = productsync("full-sync", "--account", "fs", "--json")
    assert result.exit_code == 0, result.stderr
    run_id = result.json()["run"]
    with session_scope(cli_database) as db:
        run = db.get(SyncRun, run_id)
        assert run is not None and run.account_id == account_id and run.kind == "full_sync"
    assert queued_job_ids(client, "bulk") == [run_id]  # the message carries the id only


def test_retry_failed_and_retry_sku(productsync: Invoke, cli_database: str, redis_url: str) -> None:
    account_id = add_account(productsync, "rt")
    now = datetime.now(UTC)
    with session_scope(cli_database) as db:
        for i, (source_id, status) in enumerate(
            [("p1", "failed"), ("p2", "failed"), ("p2", "succeeded"), ("p3", "succeeded")]
        ):
            db.add(
                Job(
                    account_id=account_id,
                    source_system="hubspot",
                    source_id=source_id,
                    reason="poll",
                    status=status,
                    request_id=f"rt{i}",
                    source_updated_at=now.replace(microsecond=i),
                )
            )
        db.add(
            HistoryEntry(
                account_id=account_id,
                direction="hubspot_to_quickbooks",
                status="failed",
                action="failed",
                sku="SKU-9",
                hubspot_id="p9",
                error_code="invalid_price",
                error_message="bad",
            )
        )
    client = redis.Redis.from_url(redis_url)
    client.delete("sync")
    first = productsync("retry", "--failed", "--account", "rt", "--json")
    assert first.exit_code == 0, first.stderr
    assert first.json() == {"rt": 1}  # p1 only: p2's latest job succeeded
    second = productsync("retry", "--failed", "--account", "rt", "--json")
    assert second.json() == {"rt": 0}  # the retry job is now p1's latest
    by_sku = productsync("retry", "SKU-9", "--account", "rt")
    assert by_sku.exit_code == 0, by_sku.stderr
    with session_scope(cli_database) as db:
        retries = db.scalars(
            select(Job).where(Job.account_id == account_id, Job.reason == "retry").order_by(Job.id)
        ).all()
        assert [j.source_id for j in retries] == ["p1", "p9"]
        assert sorted(queued_job_ids(client, "sync")) == [j.id for j in retries]
    unknown = productsync("retry", "NOPE", "--account", "rt")
    assert unknown.exit_code == 1 and "NOPE" in unknown.stderr
    assert productsync("retry", "--account", "rt").exit_code == 2  # neither SKU nor --failed
    assert productsync("retry", "X", "--failed", "--account", "rt").exit_code == 2


def test_unreachable_redis_is_one_line(
    productsync: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    add_account(productsync, "noredis")
    monkeypatch.setenv("PRODUCTSYNC_REDIS_URL", f"redis://127.0.0.1:{free_port()}/0")
    get_settings.cache_clear()
    for args in (
        ("audit", "--account", "noredis"),
        ("full-sync", "--account", "noredis"),
    ):
        result = productsync(*args)
        assert result.exit_code == 1, (args, result.stdout, result.stderr)
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr
        assert "Traceback" not in result.stderr
    status = productsync("status", "--json")
    assert status.exit_code == 0 and status.json()["queues"] is None


def test_full_sync_wait_shows_a_waiting_run_with_its_reason_each_time_it_changes(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from console.commands.full_sync import _Bar

    bar = _Bar(enabled=True)
    waiting = {
        "status": "waiting",
        "wait_reason": "[circuit_open] hubspot failed 5 times in a row",
        "next_attempt_at": datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC),
        "percent": 0.0,
    }
    bar.show(waiting)
    bar.show(waiting)  # the same wait: one line
    bar.show({**waiting, "wait_reason": "[quota] daily limit"})
    assert capsys.readouterr().out.splitlines() == [
        "waiting: [circuit_open] hubspot failed 5 times in a row, next try 2030-01-02 03:04:05Z",
        "waiting: [quota] daily limit, next try 2030-01-02 03:04:05Z",
    ]
