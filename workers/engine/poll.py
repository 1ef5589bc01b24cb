"""Polling: turn a source's changes into job rows and move the cursor honestly.

::

    lock per account (Redis, with expiry)            two pollers: one does the work
    window = [max(cursor - overlap, direction_changed_at), poll start - settle]
    per page of POLL_PAGE changes, ONE transaction: insert job rows (ON CONFLICT DO
    NOTHING) + compare-and-set the cursor to the newest change of the page
    last page: the same, with the cursor set to the window's end
    after each commit: the page's new jobs go to the caller, who enqueues them

Under the lifecycle policy `mirror` the window also covers what the source's change
listing does not show (HubSpot's archived products: `Catalog.retired_between`), and the
mass-archive guard (`workers.engine.lifecycle_policy.guard`) counts the page's new jobs
for archived products in the same transaction that inserts them, so a hold is committed
before any of them can run.

The cursor only ever moves to the end of a window whose changes all have job rows (G4),
and never past the poll's own start minus the settle time (vendors' indexes lag). The
overlap re-reads the last stretch each time; the job uniqueness rule absorbs it (repeats
of a change within one window too). A poller whose lock expired mid-poll loses the cursor
CAS and commits nothing more. Paging keeps a poll of 100,000 changes as small in memory as
one of 1,000, provided the caller announces each page as it is committed (``on_commit``)
rather than collecting them: the cursor moves mid-window only when the source gives its
changes in time order (a page's newest change then bounds every change before it);
otherwise the pages commit only jobs and the cursor moves at the end.
"""

from __future__ import annotations

import itertools
import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import case, delete, func, literal, or_, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from models import Account, Cursor, Job, SyncRun, utcnow
from models.db import session_scope
from workers.catalog.port import Change, source_of
from workers.engine import run_wait
from workers.engine.context import Dispatch, SyncContext
from workers.engine.jobs import NewJob, insert_jobs
from workers.engine.lifecycle_policy import guard, mirrors
from workers.engine.locks import RedisLock, poll_lock
from workers.errors import ParkedError

log = logging.getLogger(__name__)

POLL_PAGE = 1000  # changes per transaction; the vendors' pages are 100 (HubSpot) or 1,000

OnCommit = Callable[[list[Dispatch]], object]


class CursorMoved(Exception):
    """Another poller advanced the cursor first; this poll's work is rolled back."""


def poll_account(
    ctx: SyncContext,
    account_id: int,
    *,
    on_commit: OnCommit | None = None,
    budget_seconds: float | None = None,
    on_pause: Callable[[], object] | None = None,
) -> list[Dispatch]:
    """Poll one account's active source. Returns the new jobs to enqueue (committed).

    With ``on_commit``, each transaction's new jobs go to it as soon as they are committed
    instead, and the list returned is empty: a window of any size is then held one page
    at a time, and workers start on its first page while the rest is still listed. A
    poll that fails midway has still handed over every page it committed.

    With ``budget_seconds``, a poll that has run that long stops at the next page that
    moved the cursor and calls ``on_pause``: the rest of the window is the next poll's
    (a backlog of any size is worked through in polls that each fit their time limit,
    instead of one poll killed by it and repeated from the same cursor).
    """
    s = ctx.settings
    lock = poll_lock(ctx.redis, account_id, ttl_seconds=max(s.job_lease_seconds, 30.0))
    if not lock.acquire():
        return []
    try:
        polled = _poll(ctx, account_id, lock, on_commit, budget_seconds)
    except ParkedError as err:
        # The cursor stays before what failed; the account waits, with the reason shown.
        run_wait.wait_poll(ctx, account_id, err)
        raise
    finally:
        lock.release()
    if polled.paused and on_pause is not None:
        on_pause()  # after the release: the next poll must find the lock free
    return polled.created


@dataclass
class _Window:
    """One poll's view: what it read at the start, and where the cursor stands now."""

    account_id: int
    system: str
    direction: str
    version: int | None
    start_from: datetime
    started: datetime
    on_commit: OnCommit
    run_id: int | None = None
    mirror: bool = False  # lifecycle policy `mirror`: archives are polled and guarded
    retired: int = 0  # archives among this poll's new jobs, for the mass-archive guard


@dataclass
class _Polled:
    """The new jobs (when no ``on_commit`` took them), and whether the poll stopped at its
    time budget with the rest of its window left to the next poll."""

    created: list[Dispatch] = field(default_factory=list)
    paused: bool = False


def _poll(
    ctx: SyncContext,
    account_id: int,
    lock: RedisLock | None = None,
    on_commit: OnCommit | None = None,
    budget_seconds: float | None = None,
) -> _Polled:
    s = ctx.settings
    clock = time.monotonic()
    polled = _Polled()
    started = utcnow()
    with session_scope(ctx.database_url) as session:
        account = session.get(Account, account_id)
        if account is None or not account.enabled:
            return polled
        direction = account.direction
        floor = account.direction_changed_at
        system = source_of(direction)  # type: ignore[arg-type]
        cursor = _cursor(session, account_id, system)
        window = _Window(
            account_id=account_id,
            system=system,
            direction=direction,
            version=cursor.version if cursor else None,
            start_from=cursor.value if cursor else floor,
            started=started,
            on_commit=polled.created.extend if on_commit is None else on_commit,
            mirror=mirrors(account),
        )
    end = started - timedelta(seconds=s.poll_settle_seconds)
    # Never reach back before the direction switch: what we wrote into this system while
    # it was the destination must not flow back out of it.
    # Whole seconds: QBO stamps changes to the second, so a change made within the
    # switch's second must not fall before the window.
    window_start = max(window.start_from - timedelta(seconds=s.poll_overlap_seconds), floor)
    window_start = window_start.replace(microsecond=0)
    catalog = ctx.catalogs(system, account_id)
    changes: Iterator[Change] = iter(())
    if end > window_start:
        changes = catalog.changed_between(window_start, end)
        if window.mirror:
            changes = itertools.chain(changes, catalog.retired_between(window_start, end))
    page: list[NewJob] = []
    retired: set[str] = set()
    ordered, newest = True, window_start
    cursor_at_start = window.start_from
    try:
        for change in changes:
            ordered = ordered and change.updated_at >= newest
            newest = max(newest, change.updated_at)
            page.append(NewJob(change.id, change.updated_at))
            if change.retired:
                retired.add(change.id)
            if len(page) >= POLL_PAGE:
                # Every change up to the newest one seen has a job once this commits, as
                # long as they came in time order (ties at `newest` are re-read next time).
                _commit(ctx, window, page, newest if ordered else None, retired)
                page, retired = [], set()
                if lock is not None:
                    lock.extend()
                spent = time.monotonic() - clock
                # Only once past where the last poll stopped: re-reading the overlap
                # alone must never use up a poll, or a backlog would never move.
                past_last = ordered and newest > cursor_at_start
                if past_last and budget_seconds is not None and spent > budget_seconds:
                    log.info("poll of account %s paused at %s", account_id, newest)
                    polled.paused = True
                    return polled
        _commit(ctx, window, page, max(end, window.start_from), retired)
    except CursorMoved as moved:
        log.info("poll of account %s stopped: %s", account_id, moved)
    return polled


def _commit(
    ctx: SyncContext,
    window: _Window,
    page: list[NewJob],
    to: datetime | None,
    retired: set[str] | None = None,
) -> None:
    """ONE transaction: the page's jobs and, when ``to`` is given, the cursor moved there
    (compare-and-set from the version this poll holds); under `mirror`, the mass-archive
    guard over the poll's new archives (``retired``: ids of the page's archived ones), so
    a hold is committed before any of their jobs can run; then its new jobs go to
    ``window.on_commit`` (never before the commit: a lost CAS rolls them back)."""
    with session_scope(ctx.database_url) as session:
        fresh = session.execute(
            select(Account.direction).where(Account.id == window.account_id).with_for_update()
        ).scalar_one_or_none()
        if fresh != window.direction:
            raise CursorMoved("direction changed during the poll")
        created = _record(session, window, page)
        if window.mirror and retired and created:
            window.retired += _new_among(session, created, retired)
            guard(session, ctx.settings, window.account_id, window.retired, seen_by="A poll")
        if to is not None:
            run_wait.clear_poll_wait(session, window.account_id)  # the source answered
        if to is not None and to > window.start_from:
            window.version = _advance(
                session, window.account_id, window.system, window.version, to, window.started
            )
            window.start_from = to
        elif to is not None:
            # Nothing new: still mark the poll done (and check nobody moved the cursor).
            window.version = _advance(
                session,
                window.account_id,
                window.system,
                window.version,
                window.start_from,
                window.started,
            )
    if created:
        window.on_commit(created)


def _record(session: Session, window: _Window, changes: list[NewJob]) -> list[Dispatch]:
    """One run per poll, created with its first new job; later pages add to its total
    (and re-open it if its first jobs already finished)."""
    if not changes:
        return []
    run_id = window.run_id
    if run_id is None:
        run = SyncRun(
            account_id=window.account_id, kind="poll", direction=window.direction, status="running"
        )
        session.add(run)
        session.flush()
        run_id = run.id
    created = insert_jobs(
        session,
        account_id=window.account_id,
        source_system=window.system,
        reason="poll",
        queue="sync",
        changes=changes,
        run_id=run_id,
    )
    if window.run_id is None and not created:
        session.execute(delete(SyncRun).where(SyncRun.id == run_id))  # all known: no run
        return []
    window.run_id = run_id
    session.execute(
        update(SyncRun)
        .where(SyncRun.id == run_id)
        .values(total=SyncRun.total + len(created), status="running", finished_at=None)
    )
    return created


def _new_among(session: Session, created: list[Dispatch], ids: set[str]) -> int:
    """How many of the ``created`` jobs are for the source products ``ids``."""
    return int(
        session.scalar(
            select(func.count())
            .select_from(Job)
            .where(Job.id.in_([d.job_id for d in created]), Job.source_id.in_(list(ids)))
        )
        or 0
    )


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
) -> int:
    """Compare-and-set: only from the version this poll read; returns the new version."""
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
    return 1 if version is None else version + 1


def due_accounts(ctx: SyncContext) -> list[int]:
    """Enabled accounts whose poll interval has passed since their last completed poll,
    to the nearest tick.

    A poll records when it started (``polled_at``), which is a little after the tick
    that sent it (the message queues, a worker picks it up). Measured strictly, the tick
    one interval later finds the account not quite due, and the next poll waits a whole
    extra tick: an account polling every 3 s with a 3 s tick was polled every 6 s, every
    70 s at 60. Half a tick of slack polls at the tick nearest to the interval instead;
    polls still never run closer together than half a tick.

    The database picks the due accounts: the tick reads only their ids, so its cost grows
    with the accounts it polls, not with the idle ones (it read every account and every
    cursor: 1,000 accounts, a third of them due, cost 2,000 rows a tick).
    """
    now = utcnow()
    slack = timedelta(seconds=ctx.settings.poll_tick_seconds / 2)
    source = case(
        (Account.direction == "hubspot_to_quickbooks", literal("hubspot")),
        else_=literal("quickbooks"),
    )
    interval = func.make_interval(0, 0, 0, 0, 0, 0, Account.poll_interval_seconds)
    # A poll that waits out a parked error (see `run_wait`) until a known time.
    waiting = (
        select(SyncRun.id)
        .where(
            SyncRun.account_id == Account.id,
            SyncRun.kind == "poll",
            SyncRun.status == "waiting",
            SyncRun.next_attempt_at > now,
        )
        .exists()
    )
    query = (
        select(Account.id)
        .outerjoin(Cursor, (Cursor.account_id == Account.id) & (Cursor.source_system == source))
        .where(
            Account.enabled.is_(True),
            or_(Cursor.polled_at.is_(None), Cursor.polled_at + interval <= now + slack),
            ~waiting,
        )
        .order_by(Account.id)
    )
    with session_scope(ctx.database_url) as session:
        return list(session.scalars(query).all())
