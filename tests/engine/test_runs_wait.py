"""Runs park like jobs: a full-sync listing or a poll that meets a parked error waits in
Postgres with a reason and resumes once the cause is gone; only a terminal error fails
a run."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update

from models import Cursor, SyncRun, utcnow
from models.db import session_scope
from tests.support.memory_catalog import MemoryCatalog
from workers.engine import (
    SyncContext,
    due_accounts,
    due_runs,
    enumerate_run,
    poll_account,
    stalled_runs,
    start_full_sync,
)
from workers.errors import CircuitOpen, QuotaExhausted, ReauthRequired


def _run(ctx: SyncContext, run_id: int) -> SyncRun:
    with session_scope(ctx.database_url) as session:
        run = session.get(SyncRun, run_id)
        assert run is not None
        session.expunge(run)
        return run


def _due_now(ctx: SyncContext, run_id: int) -> None:
    with session_scope(ctx.database_url) as session:
        session.execute(
            update(SyncRun)
            .where(SyncRun.id == run_id)
            .values(next_attempt_at=utcnow() - timedelta(seconds=1))
        )


def test_a_listing_that_meets_an_open_circuit_waits_and_resumes(
    ctx: SyncContext, account_id: int, hubspot: MemoryCatalog
) -> None:
    hubspot.add({"name": "Waits", "hs_sku": "WAIT-1", "price": "1"})
    until = utcnow() + timedelta(seconds=30)
    hubspot.fail_next("iter_all", CircuitOpen("5 failures in a row", until=until))
    with session_scope(ctx.database_url) as session:
        run_id = start_full_sync(session, account_id).id
    assert enumerate_run(ctx, run_id) == []
    run = _run(ctx, run_id)
    assert (run.status, run.finished_at) == ("waiting", None)
    assert run.wait_reason == "[circuit_open] 5 failures in a row"
    assert run.next_attempt_at == until
    assert due_runs(ctx) == []  # not before the circuit closes
    _due_now(ctx, run_id)
    assert due_runs(ctx) == [run_id]
    assert due_runs(ctx) == []  # announced once, not on every sweep
    assert stalled_runs(ctx) == []
    assert len(enumerate_run(ctx, run_id)) == 1
    run = _run(ctx, run_id)
    assert (run.status, run.total, run.wait_reason, run.next_attempt_at) == (
        "running",
        1,
        None,
        None,
    )


def test_a_listing_without_a_known_end_looks_again_after_the_longest_countdown(
    ctx: SyncContext, account_id: int, hubspot: MemoryCatalog
) -> None:
    hubspot.fail_next("iter_all", ReauthRequired("reconnect HubSpot"))
    with session_scope(ctx.database_url) as session:
        run_id = start_full_sync(session, account_id).id
    before = utcnow()
    enumerate_run(ctx, run_id)
    run = _run(ctx, run_id)
    assert run.status == "waiting" and run.wait_reason == "[needs_reauth] reconnect HubSpot"
    assert run.next_attempt_at is not None
    wait = (run.next_attempt_at - before).total_seconds()
    assert ctx.settings.retry_cap_seconds <= wait < ctx.settings.retry_cap_seconds + 5
    # Listed again while another wait is under way: it waits again, never fails.
    _due_now(ctx, run_id)
    hubspot.fail_next("iter_all", QuotaExhausted("daily limit", until=utcnow()))
    assert due_runs(ctx) == [run_id]
    enumerate_run(ctx, run_id)
    assert _run(ctx, run_id).wait_reason == "[quota] daily limit"


def test_a_poll_that_meets_a_quota_leaves_the_cursor_and_says_why(
    ctx: SyncContext, account_id: int, hubspot: MemoryCatalog
) -> None:
    assert poll_account(ctx, account_id) == []  # the cursor exists from here on
    with session_scope(ctx.database_url) as session:
        cursor = session.scalars(select(Cursor)).one()
        version, value = cursor.version, cursor.value
    hubspot.add({"name": "Later", "hs_sku": "LATER-1", "price": "1"})
    until = utcnow() + timedelta(minutes=5)
    hubspot.fail_next("changed_between", QuotaExhausted("daily limit reached", until=until))
    try:
        poll_account(ctx, account_id)
        raise AssertionError("the parked error reaches the task, which logs it")
    except QuotaExhausted:
        pass
    with session_scope(ctx.database_url) as session:
        cursor = session.scalars(select(Cursor)).one()
        assert (cursor.version, cursor.value) == (version, value)
        [waiting] = session.scalars(select(SyncRun).where(SyncRun.status == "waiting")).all()
        assert (waiting.kind, waiting.wait_reason, waiting.next_attempt_at, waiting.total) == (
            "poll",
            "[quota] daily limit reached",
            until,
            0,
        )
    with session_scope(ctx.database_url) as session:
        session.execute(update(Cursor).values(polled_at=utcnow() - timedelta(hours=1)))
    assert due_accounts(ctx) == []  # left alone until the quota resets
    with session_scope(ctx.database_url) as session:
        session.execute(update(SyncRun).values(next_attempt_at=utcnow()))
    assert due_accounts(ctx) == [account_id]
    assert len(poll_account(ctx, account_id)) == 1  # resumes from the same cursor
    with session_scope(ctx.database_url) as session:
        assert session.scalars(select(SyncRun).where(SyncRun.status == "waiting")).all() == []


def test_a_poll_waiting_for_a_person_to_reconnect_is_polled_on_its_interval(
    ctx: SyncContext, account_id: int, hubspot: MemoryCatalog
) -> None:
    hubspot.fail_next("changed_between", ReauthRequired("reconnect HubSpot"))
    try:
        poll_account(ctx, account_id)
        raise AssertionError("the parked error reaches the task, which logs it")
    except ReauthRequired:
        pass
    with session_scope(ctx.database_url) as session:
        [waiting] = session.scalars(select(SyncRun).where(SyncRun.status == "waiting")).all()
        assert (waiting.wait_reason, waiting.next_attempt_at) == (
            "[needs_reauth] reconnect HubSpot",
            None,
        )
    assert due_accounts(ctx) == [account_id]  # reconnected any time: resumes at once
