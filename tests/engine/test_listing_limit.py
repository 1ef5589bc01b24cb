"""A full sync's listing that outlives its time limit fails its run with a reason, instead
of being announced again to stop at the same place for ever."""

from __future__ import annotations

import psycopg
from celery.exceptions import SoftTimeLimitExceeded

from models import SyncRun
from models.db import session_scope
from tasks.sync import _timed_out, listing_too_long
from workers.engine import SyncContext, fail_run, start_full_sync


def test_the_time_limit_is_recognised_under_the_error_it_turned_into() -> None:
    try:
        try:
            raise SoftTimeLimitExceeded()
        except SoftTimeLimitExceeded:
            # The limit landed inside a query: the session's clean-up failed differently.
            raise psycopg.OperationalError("another command is already in progress") from None
    except psycopg.OperationalError as err:
        assert _timed_out(err)
    assert not _timed_out(psycopg.OperationalError("the server closed the connection"))


def test_a_run_whose_listing_took_too_long_fails_with_what_to_do(
    ctx: SyncContext, account_id: int
) -> None:
    with session_scope(ctx.database_url) as session:
        run_id = start_full_sync(session, account_id).id
    fail_run(ctx, run_id, listing_too_long(1800))
    with session_scope(ctx.database_url) as session:
        run = session.get(SyncRun, run_id)
        assert run is not None and run.status == "failed"
        assert run.error_message is not None
        assert run.error_message.startswith("[listing_too_long] Listing the source took longer")
        assert "PRODUCTSYNC_BROKER_VISIBILITY_TIMEOUT" in run.error_message
