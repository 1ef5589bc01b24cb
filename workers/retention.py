"""Retention: old history rows and finished jobs are deleted, a batch at a time.

What is kept, whatever its age:

* the **last attempt of every product** (the newest history row per account and SKU; for
  rows without a SKU, per account and source ids), so the history page, the product
  page and ``productsync history`` still say where each product stands;
* every job that is not finished (pending, running, parked), and every finished job a
  kept history row points at (so ``retry --failed`` still finds each product's failure).

How it stays out of the way of syncs: the tables are walked in primary-key order, each
batch (``batch`` rows, default 5,000) is its own short transaction that deletes only
rows nobody works on any more, with a lock timeout, so no lock is held for long and a
busy row is simply left for the next run. A run stops after ``budget_seconds`` and the
next one (beat, hourly) carries on.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from psycopg.errors import LockNotAvailable
from sqlalchemy import TextClause, bindparam, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from models.base import utcnow
from models.db import session_scope

log = logging.getLogger(__name__)

BATCH = 5000
LOCK_TIMEOUT = "2s"

_HISTORY_BATCH = text(
    "SELECT id, finished_at < :cutoff AS old FROM sync_history "
    "WHERE id > :after ORDER BY id LIMIT :batch"
)
# A row goes only when a newer row of the same product exists (the product's last
# attempt stays). Two separate EXISTS, so each is an equality lookup in
# ix_sync_history_sku (account_id, sku); one EXISTS with an OR inside made PostgreSQL
# scan the primary key from the row onwards instead (about 1,000 rows/s at 1,000,000).
_HISTORY_DELETE = text(
    """
    DELETE FROM sync_history h
    WHERE h.id IN :ids
      AND (
        (h.sku IS NOT NULL AND EXISTS (
          SELECT 1 FROM sync_history n
          WHERE n.account_id = h.account_id AND n.sku = h.sku AND n.id > h.id))
        OR (h.sku IS NULL AND EXISTS (
          SELECT 1 FROM sync_history n
          WHERE n.account_id = h.account_id AND n.sku IS NULL AND n.id > h.id
            AND n.hubspot_id IS NOT DISTINCT FROM h.hubspot_id
            AND n.quickbooks_id IS NOT DISTINCT FROM h.quickbooks_id))
      )
    """
).bindparams(bindparam("ids", expanding=True))
_JOB_BATCH = text(
    "SELECT id, created_at < :cutoff AS old FROM jobs WHERE id > :after ORDER BY id LIMIT :batch"
)
_JOB_DELETE = text(
    """
    DELETE FROM jobs j
    WHERE j.id IN :ids
      AND j.status IN ('succeeded', 'failed', 'skipped')
      AND j.updated_at < :cutoff
      AND NOT EXISTS (SELECT 1 FROM sync_history h WHERE h.job_id = j.id)
    """
).bindparams(bindparam("ids", expanding=True))


@dataclass(frozen=True)
class Pruned:
    history: int
    jobs: int
    seconds: float
    finished: bool  # False: the time budget ran out; the next run carries on


def prune(
    database_url: str,
    *,
    history_days: int,
    job_days: int,
    now: datetime | None = None,
    batch: int = BATCH,
    budget_seconds: float = 60.0,
) -> Pruned:
    """Delete history rows older than ``history_days`` and finished jobs older than
    ``job_days``, keeping what the module docstring lists. History goes first, so the
    jobs its deleted rows pointed at can go in the same run."""
    now = now or utcnow()
    started = time.monotonic()
    deadline = started + budget_seconds
    history, done = _walk(
        database_url, _HISTORY_BATCH, _HISTORY_DELETE, now - timedelta(days=history_days),
        batch, deadline, with_cutoff=False,
    )  # fmt: skip
    jobs = 0
    if done:
        jobs, done = _walk(
            database_url, _JOB_BATCH, _JOB_DELETE, now - timedelta(days=job_days),
            batch, deadline, with_cutoff=True,
        )  # fmt: skip
    result = Pruned(history, jobs, round(time.monotonic() - started, 3), done)
    if history or jobs:
        log.info(
            "retention: deleted %s history rows and %s jobs in %.1f s%s",
            history,
            jobs,
            result.seconds,
            "" if done else " (time budget spent; the next run carries on)",
        )
    return result


def _walk(
    database_url: str,
    select_batch: TextClause,
    delete: TextClause,
    cutoff: datetime,
    batch: int,
    deadline: float,
    *,
    with_cutoff: bool,
) -> tuple[int, bool]:
    """Walk a table in id order, one transaction per batch; stop at the first batch with
    nothing old enough (ids grow with time, so nothing after it is either). Returns the
    rows deleted and whether the walk reached its end (False: out of time or blocked)."""
    deleted, after = 0, 0
    while time.monotonic() < deadline:
        try:
            with session_scope(database_url) as session:
                _lock_timeout(session)
                rows = session.execute(
                    select_batch, {"cutoff": cutoff, "after": after, "batch": batch}
                ).all()
                old = [row.id for row in rows if row.old]
                if not old:
                    return deleted, True
                params: dict[str, object] = {"ids": old}
                if with_cutoff:
                    params["cutoff"] = cutoff
                deleted += session.execute(delete, params).rowcount  # type: ignore[attr-defined]
                after = rows[-1].id
        except OperationalError as exc:
            if not isinstance(exc.orig, LockNotAvailable):
                raise
            # A row locked longer than LOCK_TIMEOUT: leave that batch to the next run.
            log.warning("retention: a batch waited too long for a lock; next run")
            return deleted, False
    return deleted, False


def _lock_timeout(session: Session) -> None:
    session.execute(text(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'"))
