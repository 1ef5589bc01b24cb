"""Polling: turn a source's changes into job rows and move the cursor honestly.

::

    lock per account (Redis, with expiry)            two pollers: one does the work
    window = [max(cursor - overlap, direction_changed_at), poll start - settle]
    ONE transaction: insert job rows (ON CONFLICT DO NOTHING) + compare-and-set cursor
    after commit: the caller enqueues the new jobs

The cursor only ever moves to the end of a window whose changes all have job rows (G4),
and never past the poll's own start minus the settle time (vendors' indexes lag). The
overlap re-reads the last stretch each time; the job uniqueness rule absorbs it. A poller
whose lock expired mid-poll loses the cursor CAS and commits nothing.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from models import Account, Cursor, SyncRun, utcnow
from models.db import session_scope
from workers.catalog.port import source_of
from workers.engine.context import Dispatch, SyncContext
from workers.engine.jobs import NewJob, insert_jobs
from workers.engine.locks import poll_lock

log = logging.getLogger(__name__)


class CursorMoved(Exception):
    """Another poller advanced the cursor first; this poll's work is rolled back."""


def poll_account(ctx: SyncContext, account_id: int) -> list[Dispatch]:
    """Poll one account's active source. Returns the new jobs to enqueue (committed)."""
    s = ctx.settings
    lock = poll_lock(ctx.redis, account_id, ttl_seconds=max(s.job_lease_seconds, 30.0))
    if not lock.acquire():
        return []
    try:
        return _poll(ctx, account_id)
    finally:
        lock.release()


def _poll(ctx: SyncContext, account_id: int) -> list[Dispatch]:
    s = ctx.settings
    started = utcnow()
    with session_scope(ctx.database_url) as session:
        account = session.get(Account, account_id)
        if account is None or not account.enabled:
            return []
        direction = account.direction
        floor = account.direction_changed_at
        system = source_of(direction)  # type: ignore[arg-type]
        cursor = _cursor(session, account_id, system)
        version = cursor.version if cursor else None
        start_from = cursor.value if cursor else floor
    end = started - timedelta(seconds=s.poll_settle_seconds)
    # Never reach back before the direction switch: what we wrote into this system while
    # it was the destination must not flow back out of it.
    # Whole seconds: QBO stamps changes to the second, so a change made within the
    # switch's second must not fall before the window.
    window_start = max(start_from - timedelta(seconds=s.poll_overlap_seconds), floor).replace(
        microsecond=0
    )
    catalog = ctx.catalogs(system, account_id)
    changes = (
        [NewJob(c.id, c.updated_at) for c in catalog.changed_between(window_start, end)]
        if end > window_start
        else []
    )
    try:
        with session_scope(ctx.database_url) as session:
            fresh = session.execute(
                select(Account.direction).where(Account.id == account_id).with_for_update()
            ).scalar_one_or_none()
            if fresh != direction:
                raise CursorMoved("direction changed during the poll")
            created = _record(session, account_id, system, direction, changes)
            _advance(session, account_id, system, version, max(end, start_from), started)
    except CursorMoved as moved:
        log.info("poll of account %s discarded: %s", account_id, moved)
        return []
    return created


def _record(
    session: Session, account_id: int, system: str, direction: str, changes: list[NewJob]
) -> list[Dispatch]:
    if not changes:
        return []
    run = SyncRun(account_id=account_id, kind="poll", direction=direction, status="running")
    session.add(run)
    session.flush()
    created = insert_jobs(
        session,
        account_id=account_id,
        source_system=system,
        reason="poll",
        queue="sync",
        changes=changes,
        run_id=run.id,
    )
    if created:
        run.total = len(created)
    else:
        session.delete(run)  # everything was already known: no run to show
    return created


def _cursor(session: Session, account_id: int, system: str) -> Cursor | None:
    return session.scalars(
        select(Cursor).where(Cursor.account_id == account_id, Cursor.source_system == system)
    ).first()


def _advance(
    session: Session,
    account_id: int,
    system: str,
    version: int | None,
    value: datetime,
    polled_at: datetime,
) -> None:
    """Compare-and-set: only from the version this poll read."""
    if version is None:
        result = session.execute(
            insert(Cursor)
            .values(
                account_id=account_id,
                source_system=system,
                value=value,
                version=1,
                polled_at=polled_at,
                updated_at=polled_at,
            )
            .on_conflict_do_nothing()
            .returning(Cursor.id)
        )
        moved = result.first() is not None
    else:
        result = session.execute(
            update(Cursor)
            .where(
                Cursor.account_id == account_id,
                Cursor.source_system == system,
                Cursor.version == version,
            )
            .values(value=value, version=version + 1, polled_at=polled_at, updated_at=polled_at)
        )
        moved = result.rowcount == 1
    if not moved:
        raise CursorMoved("another poller advanced the cursor first")


def due_accounts(ctx: SyncContext) -> list[int]:
    """Enabled accounts whose poll interval has passed since their last completed poll."""
    now = utcnow()
    with session_scope(ctx.database_url) as session:
        rows = session.execute(
            select(Account.id, Account.direction, Account.poll_interval_seconds).where(
                Account.enabled.is_(True)
            )
        ).all()
        cursors = {
            (c.account_id, c.source_system): c.polled_at
            for c in session.scalars(select(Cursor)).all()
        }
    due = []
    for account_id, direction, interval in rows:
        polled = cursors.get((account_id, source_of(direction)))
        if polled is None or polled + timedelta(seconds=interval) <= now:
            due.append(account_id)
    return due
