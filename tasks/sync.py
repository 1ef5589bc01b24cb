"""Thin task entry points. Each takes ids only, calls one domain function, announces
what that function committed, and maps a retry to Celery's own (the only retry layer)."""

from __future__ import annotations

import logging

from celery import Task
from celery.exceptions import SoftTimeLimitExceeded

from models.db import session_scope
from tasks.app import app
from tasks.context import current_broker, current_context
from tasks.dispatch import announce_chunks, announce_grouped
from workers import engine
from workers.engine import poll_marks
from workers.errors import RetryableError, SyncError, TerminalError
from workers.webhooks import coalesce

log = logging.getLogger(__name__)


@app.task(name="productsync.sync_product", bind=True, max_retries=None)
def sync_product(self: Task, job_id: int) -> str:
    result = engine.sync_product(current_context(), job_id)
    if result.retry_in is not None:
        # The job row already says pending with the same due time; if this re-publish
        # is lost, the sweeper announces the job again.
        raise self.retry(countdown=result.retry_in, max_retries=None)
    return result.outcome


@app.task(name="productsync.sync_chunk")
def sync_chunk(job_ids: list[int]) -> int:
    """Jobs of one account in one go (a full sync's, or a poll page's). What must go
    again (a retry, a wait, no time left) goes again as a chunk, on the jobs' own queue;
    a wait longer than any countdown is the sweeper's (the rows say when). If a publish
    is lost, the sweeper re-announces too."""
    context = current_context()
    chunk = engine.sync_chunk(context, job_ids)
    for again in chunk.again():
        if again.seconds <= context.settings.retry_cap_seconds:
            dispatches = [engine.Dispatch(j, chunk.queue) for j in again.job_ids]
            announce_chunks(dispatches, engine.CHUNK, countdown=again.seconds)
    return len(chunk.results)


# A poll lists a whole window (up to the vendors' caps): its time limits are the listing
# limits in celeryconfig's task_annotations, not the per-job ones.
@app.task(name="productsync.poll")
def poll(account_id: int) -> int:
    sent = 0
    paused = False

    def announce_page(dispatches: list[engine.Dispatch]) -> None:
        # Each committed page at once, in chunks: the poll holds one page, its jobs start
        # early, and a chunk reads and writes its products in batches.
        nonlocal sent
        sent += announce_chunks(dispatches, engine.CHUNK)

    def go_on() -> None:
        # The window's rest is the next poll's: now, not at the next tick. That poll
        # inherits the account's mark (`poll_marks`) and clears it when it ends.
        nonlocal paused
        paused = True
        poll.apply_async(args=[account_id], expires=_expiry())

    context = current_context()
    try:
        engine.poll_account(
            context,
            account_id,
            on_commit=announce_page,
            # Half the soft time limit: the page in hand still commits well within it.
            budget_seconds=context.settings.listing_time_limit_seconds / 2,
            on_pause=go_on,
        )
    except SyncError as err:
        # The cursor did not pass what failed; the next tick polls from there again.
        log.warning("poll of account %s failed: [%s] %s", account_id, err.code, err.message)
    finally:
        if not paused:
            poll_marks.release(context.redis, account_id)
    return sent


@app.task(name="productsync.tick")
def tick() -> int:
    """Beat's heartbeat: poll every enabled account whose interval has passed, unless its
    last poll is still queued or running (`poll_marks`: ticks that queued behind their
    own polls must not send them all again)."""
    context = current_context()
    due = poll_marks.claim(context.redis, engine.due_accounts(context), ttl_seconds=_expiry())
    for account_id in due:
        poll.apply_async(args=[account_id], expires=_expiry())
    return len(due)


@app.task(name="productsync.flush_webhook_jobs")
def flush_webhook_jobs(account_id: int) -> int:
    """The account's webhook jobs gathered over the last moment, as chunks
    (`workers.webhooks.coalesce`); what Redis lost, the sweeper announces."""
    ids = coalesce.take(current_context().redis, account_id)
    return announce_chunks([engine.Dispatch(i, "sync") for i in ids], engine.CHUNK)


@app.task(name="productsync.sweep")
def sweep() -> int:
    context = current_context()
    for run_id in [*engine.stalled_runs(context), *engine.due_runs(context)]:
        full_sync.apply_async(args=[run_id])
    return announce_grouped(engine.sweep(context), engine.CHUNK)


@app.task(name="productsync.full_sync", bind=True, max_retries=None)  # listing limits
def full_sync(self: Task, run_id: int) -> int:
    context = current_context()
    try:
        size = engine.run_chunk_size(context, run_id)
        # Each chunk as soon as it is committed: the writes start while the listing goes.
        created = engine.enumerate_run(context, run_id, lambda ds: announce_chunks(ds, size))
        return len(created)
    except Exception as exc:
        if _timed_out(exc):
            # Listed again from the start, it would stop at the same place: say so.
            limit = context.settings.full_sync_listing_time_limit_seconds
            engine.fail_run(context, run_id, listing_too_long(limit))
            return 0
        if not isinstance(exc, RetryableError):
            raise
        attempt = self.request.retries + 1
        s = context.settings
        if attempt >= s.max_attempts:
            engine.fail_run(context, run_id, exc)
            return 0
        delay = engine.backoff_delay(
            attempt, base=s.retry_base_seconds, cap=s.retry_cap_seconds, retry_after=exc.retry_after
        )
        raise self.retry(countdown=delay, max_retries=None) from None


def _timed_out(exc: BaseException | None) -> bool:
    """The soft time limit, perhaps turned into another error on its way out (it can
    land inside a query, and the connection's clean-up then fails differently)."""
    while exc is not None:
        if isinstance(exc, SoftTimeLimitExceeded):
            return True
        exc = exc.__cause__ or exc.__context__
    return False


def listing_too_long(limit: float) -> TerminalError:
    return TerminalError(
        f"Listing the source took longer than the {limit:.0f} s a listing may run. The jobs "
        "listed so far still run. Raise PRODUCTSYNC_BROKER_VISIBILITY_TIMEOUT (a listing "
        "gets half of it), then start the full sync again.",
        code="listing_too_long",
    )


@app.task(name="productsync.broker_watch")
def broker_watch() -> int:
    """Beat's check that Redis still holds what was sent: if it came back empty, every
    due job (and listing full sync) is announced again now, not a lease later, and every
    job that had a countdown message is announced again with the rest of it."""
    rescued = engine.rescue(current_context(), current_broker())
    for run_id in rescued.runs:
        full_sync.apply_async(args=[run_id])
    sent = announce_grouped(rescued.jobs, engine.CHUNK)  # a run's jobs in chunks
    for later in rescued.later:
        sent += announce_grouped(later.jobs, engine.CHUNK, countdown=later.seconds)
    return sent


def _expiry() -> float:
    return max(current_context().settings.default_poll_interval_seconds, 5.0)


def start_full_sync(account_id: int) -> int:
    """Create a full-sync run for the account and announce it on `bulk`; returns the run
    id (its progress is readable on `models.SyncRun` while it runs). For the CLI and web."""
    context = current_context()
    with session_scope(context.database_url) as session:
        run_id = engine.start_full_sync(session, account_id).id
    full_sync.apply_async(args=[run_id])
    return run_id
