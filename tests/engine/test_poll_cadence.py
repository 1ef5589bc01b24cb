"""When polls run (beat's tick and each account's interval) and how a poll hands over
its jobs: page by page, only once committed."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import event, func, select, update

import celeryconfig
from models import Account, Cursor, Job, SyncRun, utcnow
from models.db import engine_for, session_scope
from tests.support.memory_catalog import FailingAfter, MemoryCatalog
from workers.catalog.port import Change, source_of
from workers.engine import Dispatch, SyncContext, due_accounts, poll_account
from workers.engine.accounts import create_account
from workers.errors import QuotaExhausted
from workers.settings import get_settings


def widget(sku: str) -> dict[str, str]:
    return {"name": f"Widget {sku}", "hs_sku": sku, "price": "1"}


def _polled(ctx: SyncContext, account_id: int, ago: float, interval: int) -> None:
    """The account's last poll started ``ago`` seconds ago; it polls every ``interval``."""
    now = utcnow()
    with session_scope(ctx.database_url) as session:
        session.execute(
            update(Account).where(Account.id == account_id).values(poll_interval_seconds=interval)
        )
        session.execute(
            update(Cursor)
            .where(Cursor.account_id == account_id)
            .values(polled_at=now - timedelta(seconds=ago))
        )


def _jobs_committed(ctx: SyncContext, dispatches: list[Dispatch]) -> int:
    """How many of ``dispatches`` another session can see."""
    with session_scope(ctx.database_url) as session:
        ids = [d.job_id for d in dispatches]
        return int(session.scalar(select(func.count()).where(Job.id.in_(ids))) or 0)


@pytest.mark.parametrize(
    ("tick_interval", "account_interval", "due_ago", "not_due_ago"),
    [
        # A poll starts a little after its tick: one interval later it must still be due.
        (60.0, 60, 59.5, 54.0),  # beat ticks every 10 s
        (3.0, 3, 2.9, 1.0),  # the benchmark's sped-up timings: a 3 s tick
    ],
)
def test_an_account_is_due_at_the_tick_nearest_its_interval(
    ctx: SyncContext,
    account_id: int,
    tick_interval: float,
    account_interval: int,
    due_ago: float,
    not_due_ago: float,
) -> None:
    ctx = replace(ctx, settings=ctx.settings.replace(default_poll_interval_seconds=tick_interval))
    assert due_accounts(ctx) == [account_id]  # never polled
    assert poll_account(ctx, account_id) == []  # the cursor exists now
    _polled(ctx, account_id, due_ago, account_interval)
    assert due_accounts(ctx) == [account_id]
    _polled(ctx, account_id, not_due_ago, account_interval)
    assert due_accounts(ctx) == []


def test_a_poll_hands_over_each_page_once_committed_and_keeps_none(
    ctx: SyncContext, account_id: int, hubspot: MemoryCatalog, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("workers.engine.poll.POLL_PAGE", 10)
    for n in range(25):
        hubspot.add(widget(f"PAGE-{n}"))
    pages: list[tuple[int, int]] = []

    def announce(dispatches: list[Dispatch]) -> None:
        pages.append((len(dispatches), _jobs_committed(ctx, dispatches)))

    assert poll_account(ctx, account_id, on_commit=announce) == []
    assert pages == [(10, 10), (10, 10), (5, 5)]
    assert poll_account(ctx, account_id, on_commit=announce) == []  # the overlap: all known
    assert len(pages) == 3


def test_a_poll_out_of_time_pauses_at_a_page_and_the_next_goes_on_from_there(
    ctx: SyncContext, account_id: int, hubspot: MemoryCatalog, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("workers.engine.poll.POLL_PAGE", 10)
    for n in range(25):
        hubspot.add(widget(f"PAUSE-{n}"))
    pages: list[int] = []
    pauses: list[bool] = []

    def poll() -> None:
        poll_account(
            ctx,
            account_id,
            on_commit=lambda d: pages.append(len(d)),
            budget_seconds=0.0,  # spent at once: one page per poll
            on_pause=lambda: pauses.append(True),
        )

    poll()
    assert (pages, pauses) == ([10], [True])
    poll()
    assert (pages, pauses) == ([10, 10], [True, True])
    poll()  # the last page ends the window: no pause
    assert (pages, pauses) == ([10, 10, 5], [True, True])
    with session_scope(ctx.database_url) as session:
        assert session.scalar(select(func.count()).select_from(Job)) == 25  # each once
    poll()
    assert pages == [10, 10, 5]


def test_a_poll_that_fails_midway_has_handed_over_what_it_committed(
    ctx: SyncContext, account_id: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("workers.engine.poll.POLL_PAGE", 10)
    source = FailingAfter(good=15)
    for n in range(20):
        source.add(widget(f"BREAK-{n}"))
    broken = replace(ctx, catalogs=lambda system, _: source)
    handed: list[Dispatch] = []
    with pytest.raises(QuotaExhausted):
        poll_account(broken, account_id, on_commit=handed.extend)
    assert len(handed) == 10 and _jobs_committed(ctx, handed) == 10


class _Overtaken(MemoryCatalog):
    """Another poller moves the cursor while this one lists (its lock had expired)."""

    def __init__(self, database_url: str) -> None:
        super().__init__("hubspot")
        self.database_url = database_url

    def changed_between(self, start: datetime, end: datetime) -> Iterator[Change]:
        with session_scope(self.database_url) as session:
            session.execute(update(Cursor).values(version=Cursor.version + 1))
        yield from super().changed_between(start, end)


def test_a_poll_that_loses_the_cursor_race_hands_over_nothing(
    ctx: SyncContext, account_id: int
) -> None:
    source = _Overtaken(ctx.database_url)
    overtaken = replace(ctx, catalogs=lambda system, _: source)
    assert poll_account(overtaken, account_id) == []  # the cursor exists now
    for n in range(3):
        source.add(widget(f"RACE-{n}"))
    handed: list[Dispatch] = []
    # Its jobs were inserted, then rolled back with the cursor move that failed: there
    # is nothing to announce (the poller that won lists these changes itself).
    assert poll_account(overtaken, account_id, on_commit=handed.extend) == []
    assert poll_account(overtaken, account_id) == []
    assert handed == []
    with session_scope(ctx.database_url) as session:
        assert session.scalar(select(func.count()).select_from(Job)) == 0


def test_beat_ticks_as_often_as_the_settings_say() -> None:
    # `due_accounts` allows half of this tick as slack: the two must not drift apart.
    assert celeryconfig.beat_schedule["tick"]["schedule"] == get_settings().poll_tick_seconds


def test_the_tick_reads_only_the_due_accounts_however_many_are_idle(ctx: SyncContext) -> None:
    """Beat's tick must not grow with idle accounts: the database picks the due ones, and
    what the tick reads is their ids alone (it read every account and every cursor)."""
    now = utcnow()
    with session_scope(ctx.database_url) as session:
        accounts = [
            create_account(
                session,
                name=f"idle-{n}",
                direction="quickbooks_to_hubspot" if n % 2 else "hubspot_to_quickbooks",
                poll_interval_seconds=60,
            )
            for n in range(300)
        ]
        session.flush()
        never_polled, switched, waiting, *idle = accounts
        for account in [switched, waiting, *idle]:
            polled_at = now if account in idle else now - timedelta(hours=1)
            session.add(
                Cursor(
                    account_id=account.id,
                    # `switched` changed direction since: it has no cursor of its source.
                    source_system="quickbooks"
                    if account is switched
                    else source_of(account.direction),  # type: ignore[arg-type]
                    value=now,
                    polled_at=polled_at,
                )
            )
        session.add(
            SyncRun(
                account_id=waiting.id,
                kind="poll",
                direction=waiting.direction,
                status="waiting",
                next_attempt_at=now + timedelta(minutes=5),
            )
        )
        due = sorted([never_polled.id, switched.id])
    rows: list[int] = []

    def count(conn: object, cursor: Any, statement: str, *_: object) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            rows.append(cursor.rowcount)

    engine = engine_for(ctx.database_url)
    event.listen(engine, "after_cursor_execute", count)
    try:
        assert due_accounts(ctx) == due
    finally:
        event.remove(engine, "after_cursor_execute", count)
    assert sum(rows) == len(due), f"the tick read {rows} rows for {len(due)} due accounts"


def test_a_poll_that_finds_nothing_costs_two_transactions(
    ctx: SyncContext, account_id: int
) -> None:
    """A thousand idle accounts are a thousand of these every interval: one read of the
    account and its cursor, one transaction that marks the poll done (and clears a wait
    it may have had); a third, for the wait alone, was 2 ms of CPU a poll."""
    poll_account(ctx, account_id)  # the first poll creates the cursor
    transactions: list[object] = []

    def committed(conn: object) -> None:
        transactions.append(conn)

    engine = engine_for(ctx.database_url)
    event.listen(engine, "commit", committed)
    try:
        assert poll_account(ctx, account_id) == []
    finally:
        event.remove(engine, "commit", committed)
    assert len(transactions) == 2
