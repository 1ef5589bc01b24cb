"""Poll, sweep, full sync and direction switches against in-memory catalogs."""

from __future__ import annotations

import threading
from dataclasses import replace
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select, update

from models import Cursor, Job, SyncRun, utcnow
from models.db import session_scope
from tests.engine.helpers import count_jobs, history, job, run_jobs
from tests.support.memory_catalog import FailingAfter, MemoryCatalog
from workers.engine import (
    SyncContext,
    enumerate_run,
    poll_account,
    start_full_sync,
    sweep,
    sync_product,
)
from workers.engine.accounts import set_direction
from workers.engine.poll import _poll
from workers.engine.sweep import mark_queue_busy
from workers.errors import QuotaExhausted, StaleObject


def widget(sku: str, price: str = "1") -> dict[str, str]:
    return {"name": f"Widget {sku}", "hs_sku": sku, "price": price}


def _expire_lease(ctx: SyncContext, job_id: int) -> None:
    with session_scope(ctx.database_url) as session:
        session.execute(
            update(Job)
            .where(Job.id == job_id)
            .values(status="running", lease_owner="dead", lease_expires_at=utcnow())
        )


def _cursor(ctx: SyncContext) -> Cursor:
    with session_scope(ctx.database_url) as session:
        [cursor] = session.scalars(select(Cursor)).all()
        return cursor


class RacingCatalog(MemoryCatalog):
    """Both pollers read the cursor before either commits (as if the lock expired)."""

    def __init__(self, barrier: threading.Barrier) -> None:
        super().__init__("hubspot")
        self.barrier = barrier

    def changed_between(self, start: datetime, end: datetime):  # type: ignore[no-untyped-def]
        self.barrier.wait(10)
        return super().changed_between(start, end)


def test_cursor_compare_and_set_lets_one_of_two_unlocked_pollers_win(
    ctx: SyncContext, account_id: int, hubspot: MemoryCatalog
) -> None:
    racing = RacingCatalog(threading.Barrier(2))
    for n in range(5):
        racing.add(widget(f"R-{n}"))
    racing_ctx = SyncContext(
        ctx.settings,
        ctx.database_url,
        ctx.redis,
        lambda system, _: racing,  # type: ignore[arg-type,return-value]
    )
    results: list[int] = []
    threads = [
        threading.Thread(target=lambda: results.append(len(_poll(racing_ctx, account_id).created)))
        for _ in range(2)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(20)
    assert sorted(results) == [0, 5]  # the loser rolled back its jobs and its cursor move
    assert count_jobs(ctx) == 5
    assert _cursor(ctx).version == 1


def test_cursor_never_passes_the_settle_point_or_a_change_without_a_job(
    ctx: SyncContext, account_id: int, hubspot: MemoryCatalog
) -> None:
    hubspot.add(widget("A"))
    hubspot.fail_next("changed_between", QuotaExhausted("daily quota"))
    with pytest.raises(QuotaExhausted):
        poll_account(ctx, account_id)
    with session_scope(ctx.database_url) as session:
        assert session.scalars(select(Cursor)).all() == []  # nothing moved
    before = utcnow()
    assert len(poll_account(ctx, account_id)) == 1
    assert _cursor(ctx).value <= before + timedelta(seconds=1)
    assert poll_account(ctx, account_id) == []  # the overlap re-read is absorbed


def test_sweeper_re_announces_lost_and_expired_jobs_and_stops_poison(
    ctx: SyncContext, account_id: int, hubspot: MemoryCatalog, quickbooks: MemoryCatalog
) -> None:
    hubspot.add(widget("LOST"))
    hubspot.add(widget("POISON"))
    lost, poison = poll_account(ctx, account_id)
    with session_scope(ctx.database_url) as session:
        session.execute(
            update(Job).values(enqueued_at=utcnow() - timedelta(seconds=60))
        )  # the messages were lost long ago
    mark_queue_busy(ctx, "sync")
    assert [d.job_id for d in sweep(ctx)] == []  # a busy queue is draining, not lost
    ctx.redis.flushall()
    assert sorted(d.job_id for d in sweep(ctx)) == sorted([lost.job_id, poison.job_id])
    assert sweep(ctx) == []  # announced once per lease
    run_jobs(ctx, [lost])
    # The poison job kills its worker on every attempt: the lease runs out each time.
    for _ in range(ctx.settings.max_attempts):
        with session_scope(ctx.database_url) as session:
            session.execute(
                update(Job).where(Job.id == poison.job_id).values(attempts=Job.attempts + 1)
            )
        _expire_lease(ctx, poison.job_id)
    assert sweep(ctx) == []
    failed = job(ctx, poison.job_id)
    assert (failed.status, failed.error_code) == ("failed", "attempts_exhausted")
    assert history(ctx)[-1].error_code == "attempts_exhausted"


def test_a_redelivered_message_gets_no_attempt_past_the_budget(
    ctx: SyncContext, account_id: int, hubspot: MemoryCatalog, quickbooks: MemoryCatalog
) -> None:
    # The worker died on the last allowed attempt; the broker redelivers the message
    # (acks late + reject on worker lost) before the sweeper runs.
    hubspot.add(widget("KILLER"))
    [killer] = poll_account(ctx, account_id)
    with session_scope(ctx.database_url) as session:
        session.execute(
            update(Job).where(Job.id == killer.job_id).values(attempts=ctx.settings.max_attempts)
        )
    _expire_lease(ctx, killer.job_id)
    assert sync_product(ctx, killer.job_id).outcome == "duplicate"  # no extra try
    assert quickbooks.writes == []
    assert job(ctx, killer.job_id).attempts == ctx.settings.max_attempts
    assert sweep(ctx) == []
    failed = job(ctx, killer.job_id)
    assert (failed.status, failed.error_code) == ("failed", "attempts_exhausted")


def test_expired_lease_is_fenced_and_retaken(
    ctx: SyncContext, account_id: int, hubspot: MemoryCatalog, quickbooks: MemoryCatalog
) -> None:
    hubspot.add(widget("FENCE"))
    [dispatch] = poll_account(ctx, account_id)
    _expire_lease(ctx, dispatch.job_id)
    assert [d.job_id for d in sweep(ctx)] == [dispatch.job_id]
    assert sync_product(ctx, dispatch.job_id).outcome == "created"
    assert len(quickbooks.writes) == 1


def test_parked_job_keeps_its_budget_and_resumes(
    ctx: SyncContext, account_id: int, hubspot: MemoryCatalog, quickbooks: MemoryCatalog
) -> None:
    hubspot.add(widget("Q"))
    quickbooks.fail_next(
        "find_by_sku", QuotaExhausted("daily quota", until=utcnow() + timedelta(hours=1))
    )
    [dispatch] = poll_account(ctx, account_id)
    assert sync_product(ctx, dispatch.job_id).outcome == "parked"
    parked = job(ctx, dispatch.job_id)
    assert (parked.status, parked.park_reason, parked.attempts) == ("parked", "quota", 0)
    assert sweep(ctx) == []  # not due yet
    with session_scope(ctx.database_url) as session:
        session.execute(update(Job).values(next_attempt_at=utcnow()))
    assert [d.job_id for d in sweep(ctx)] == [dispatch.job_id]
    assert sync_product(ctx, dispatch.job_id).outcome == "created"


def test_stale_sync_token_retries_with_a_new_request_id(
    ctx: SyncContext, account_id: int, hubspot: MemoryCatalog, quickbooks: MemoryCatalog
) -> None:
    source = hubspot.add(widget("S", price="1"))
    run_jobs(ctx, poll_account(ctx, account_id))
    hubspot.edit(source.id, price="2")
    quickbooks.fail_next("update", StaleObject("Stale Object Error", vendor_code="5010"))
    [dispatch] = poll_account(ctx, account_id)
    before = job(ctx, dispatch.job_id).request_id
    run_jobs(ctx, [dispatch])
    after = job(ctx, dispatch.job_id)
    assert after.status == "succeeded" and after.request_id != before
    assert quickbooks.writes[-1].request_id == after.request_id


def test_full_sync_enumerates_every_product_and_counts_progress(
    ctx: SyncContext, account_id: int, hubspot: MemoryCatalog, quickbooks: MemoryCatalog
) -> None:
    for n in range(6):
        hubspot.add(widget(f"F-{n}"))
    hubspot.add(widget("SAME"))
    hubspot.add(widget("SAME"))
    with session_scope(ctx.database_url) as session:
        run_id = start_full_sync(session, account_id).id
    dispatches = enumerate_run(ctx, run_id)
    assert enumerate_run(ctx, run_id) == []  # a redelivered enumeration adds nothing
    assert {d.queue for d in dispatches} == {"bulk"} and len(dispatches) == 8
    with session_scope(ctx.database_url) as session:
        run = session.get(SyncRun, run_id)
        assert run is not None
        # Shared SKUs are the jobs' to find: the listing is pipelined with the writes.
        assert (run.total, run.done, run.failed, run.status) == (8, 0, 0, "running")
    run_jobs(ctx, dispatches)
    with session_scope(ctx.database_url) as session:
        run = session.get(SyncRun, run_id)
        assert run is not None
        assert (run.done, run.created, run.failed, run.status) == (8, 6, 2, "finished")
    same = [e for e in history(ctx) if e.sku == "SAME"]
    assert [e.error_code for e in same] == ["duplicate_sku_in_source"] * 2
    assert same[0].details["ids"] == sorted(r.id for r in hubspot.by_sku("SAME"))


def test_direction_switch_skips_old_jobs_and_never_writes_back(
    ctx: SyncContext, account_id: int, hubspot: MemoryCatalog, quickbooks: MemoryCatalog
) -> None:
    written = hubspot.add(widget("BACK"))
    run_jobs(ctx, poll_account(ctx, account_id))  # BACK now exists in QBO, written by us
    hubspot.add(widget("LATE"))
    [pending] = poll_account(ctx, account_id)
    with session_scope(ctx.database_url) as session:
        assert set_direction(session, account_id, "quickbooks_to_hubspot") == 1
    assert job(ctx, pending.job_id).status == "skipped"
    assert history(ctx)[-1].error_code == "direction_changed"
    assert sync_product(ctx, pending.job_id).outcome == "duplicate"  # nothing left to claim
    # The item we wrote into QBO before the switch must not flow back into HubSpot (the
    # first window may re-read the switch's own second: the link makes that a no-op).
    run_jobs(ctx, poll_account(ctx, account_id))
    assert [w.op for w in hubspot.writes] == []
    item = quickbooks.add({"Name": "New in QBO", "Sku": "NEW-Q"})
    run_jobs(ctx, poll_account(ctx, account_id))
    assert [w.fields["hs_sku"] for w in hubspot.writes] == ["NEW-Q"]
    assert history(ctx)[-1].quickbooks_id == item.id
    assert hubspot.products[written.id].fields["hs_sku"] == "BACK"


def test_full_sync_that_cannot_list_the_source_fails_visibly(
    ctx: SyncContext, account_id: int, hubspot: MemoryCatalog
) -> None:
    from workers.errors import AuthRefused

    hubspot.fail_next("iter_all", AuthRefused("missing scope e-commerce", code="auth_refused"))
    with session_scope(ctx.database_url) as session:
        run_id = start_full_sync(session, account_id).id
    assert enumerate_run(ctx, run_id) == []
    with session_scope(ctx.database_url) as session:
        run = session.get(SyncRun, run_id)
        assert run is not None
        assert run.status == "failed" and run.finished_at is not None
        assert run.error_message == "[auth_refused] missing scope e-commerce"


def test_a_full_sync_whose_message_was_lost_is_announced_again(
    ctx: SyncContext, account_id: int, hubspot: MemoryCatalog
) -> None:
    from workers.engine import stalled_runs

    with session_scope(ctx.database_url) as session:
        fresh = start_full_sync(session, account_id).id
        lost = start_full_sync(session, account_id).id
        session.execute(
            update(SyncRun)
            .where(SyncRun.id == lost)
            .values(started_at=utcnow() - timedelta(hours=1))
        )
    assert stalled_runs(ctx) == [lost]
    hubspot.add(widget("LATE-RUN"))
    assert len(enumerate_run(ctx, lost)) == 1
    assert stalled_runs(ctx) == [] and fresh != lost


def test_a_poll_commits_page_by_page_and_a_break_loses_no_change(
    ctx: SyncContext, account_id: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("workers.engine.poll.POLL_PAGE", 10)
    source = FailingAfter(good=25)
    for n in range(32):
        source.add(widget(f"P-{n}"))
    broken = replace(ctx, catalogs=lambda system, _: source)
    with pytest.raises(QuotaExhausted):
        poll_account(broken, account_id)
    # Two whole pages committed, and the cursor at the newest change they hold.
    assert count_jobs(ctx) == 20
    newest_listed = sorted(r.updated_at for r in source.products.values())[19]
    assert _cursor(ctx).value == newest_listed
    with session_scope(ctx.database_url) as session:
        runs = session.scalars(select(SyncRun).order_by(SyncRun.id)).all()
        # The jobs' run, and the account's wait with its reason (see `run_wait`).
        assert [(r.kind, r.status, r.total, r.wait_reason) for r in runs] == [
            ("poll", "running", 20, None),
            ("poll", "waiting", 0, "[quota] daily quota"),
        ]

    source.good = 1000
    assert len(poll_account(broken, account_id)) == 12  # the rest, nothing twice
    assert count_jobs(ctx) == 32
    assert _cursor(ctx).value > newest_listed
