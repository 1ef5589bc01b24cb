"""Runs park like jobs: a full-sync listing or a poll that meets a parked error (an open
circuit, a daily quota, a long Retry-After, a token that needs reconnecting) waits in
Postgres with a reason and is tried again when the cause should be gone; only a
terminal error fails a run.

- A full sync's run becomes ``waiting`` (reason, ``next_attempt_at``); the sweeper hands
  it back to the `full_sync` task once due (`due_runs`), which lists from the start
  again (nothing was inserted: the listing commits its jobs in one go at the end).
- A poll never moved its cursor past what failed, so the next poll resumes from there;
  meanwhile its account has one ``waiting`` run of kind ``poll`` (no jobs), so `status`
  and the web page say why nothing moves, and the tick leaves the account alone until
  the cause should be gone (when that is known). The next poll that gets through removes that run.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from models import Account, SyncRun, utcnow
from models.db import session_scope
from workers.engine.context import SyncContext
from workers.errors import ParkedError

# A re-announced waiting run is not announced again for this many leases (its listing
# is under way, or its message was lost and it is announced again then).
RESEND_LEASES = 10


def parked_until(err: ParkedError, *, cap_seconds: float) -> datetime:
    """When to look again: the error's own end, else (e.g. needs_reauth, which ends when a
    person reconnects) after the longest countdown."""
    return err.until or utcnow() + timedelta(seconds=cap_seconds)


def reason_of(err: ParkedError) -> str:
    return f"[{err.code}] {err.message}"


def wait_run(ctx: SyncContext, run_id: int, err: ParkedError) -> None:
    """The full sync's listing must wait: the run says why and until when."""
    with session_scope(ctx.database_url) as session:
        session.execute(
            update(SyncRun)
            .where(SyncRun.id == run_id, SyncRun.status.in_(("enumerating", "waiting")))
            .values(
                status="waiting",
                wait_reason=reason_of(err),
                next_attempt_at=parked_until(err, cap_seconds=ctx.settings.retry_cap_seconds),
            )
        )


def resume_run(ctx: SyncContext, run_id: int) -> None:
    """A waiting full sync lists again: back to ``enumerating``. Its ``next_attempt_at``
    (set ahead by `due_runs`) stays, so the sweeper's stalled-listing rule leaves this
    listing alone until then, although the run started long ago."""
    with session_scope(ctx.database_url) as session:
        session.execute(
            update(SyncRun)
            .where(SyncRun.id == run_id, SyncRun.status == "waiting")
            .values(status="enumerating", wait_reason=None)
        )


def due_runs(ctx: SyncContext) -> list[int]:
    """Waiting full syncs whose time has come, for the sweeper to announce again."""
    now = utcnow()
    later = now + timedelta(seconds=RESEND_LEASES * ctx.settings.job_lease_seconds)
    with session_scope(ctx.database_url) as session:
        return list(
            session.scalars(
                update(SyncRun)
                .where(
                    SyncRun.kind == "full_sync",
                    SyncRun.status == "waiting",
                    SyncRun.next_attempt_at <= now,
                )
                .values(next_attempt_at=later)
                .returning(SyncRun.id)
            )
        )


def wait_poll(ctx: SyncContext, account_id: int, err: ParkedError) -> None:
    """The account's poll must wait: one waiting poll run says why and until when. Without
    a known end (needs_reauth: a person reconnects) it is polled on its interval as usual,
    which costs no vendor call while the credential says so, and resumes as soon as the
    person has reconnected."""
    until = err.until
    with session_scope(ctx.database_url) as session:
        run = session.scalars(
            select(SyncRun)
            .where(
                SyncRun.account_id == account_id,
                SyncRun.kind == "poll",
                SyncRun.status == "waiting",
            )
            .with_for_update()
        ).first()
        if run is None:
            direction = _direction(session, account_id)
            if direction is None:
                return
            run = SyncRun(account_id=account_id, kind="poll", direction=direction)
            session.add(run)
        run.status = "waiting"
        run.wait_reason = reason_of(err)
        run.next_attempt_at = until


def clear_poll_wait(session: Session, account_id: int) -> None:
    """A poll got through: its account no longer waits (in the transaction that records
    the poll: a session of its own cost every poll of every idle account one more)."""
    session.execute(
        delete(SyncRun).where(
            SyncRun.account_id == account_id,
            SyncRun.kind == "poll",
            SyncRun.status == "waiting",
        )
    )


def _direction(session: Session, account_id: int) -> str | None:
    account = session.get(Account, account_id)
    return None if account is None else account.direction
