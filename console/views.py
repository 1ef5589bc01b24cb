"""Read-only summaries the commands print: accounts, credentials, polls, jobs, queues, runs.

Each returns plain JSON-ready data (datetimes and Decimals are rendered by
`console.output`). Token columns are never read here: credentials are described by
status and expiry only.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import redis
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from console.output import moment
from models import Account, Credential, Cursor, Job, SyncRun
from workers import liveness
from workers.catalog.port import Direction, source_of
from workers.engine.account_view import load_mappings
from workers.engine.lifecycle_policy import HOLD_CODE
from workers.mapping import FieldMapping

QUEUES = ("poll", "sync", "bulk")
SYSTEMS = ("hubspot", "quickbooks")


def account_summary(account: Account) -> dict[str, Any]:
    return {
        "name": account.name,
        "id": account.id,
        "direction": account.direction,
        "hubspot_portal": account.hubspot_portal_id,
        "quickbooks_realm": account.quickbooks_realm_id,
        "enabled": account.enabled,
        "poll_interval_seconds": account.poll_interval_seconds,
        "lifecycle_policy": account.lifecycle_policy,
        "created_at": account.created_at,
    }


def lifecycle(db: Session, account: Account) -> dict[str, Any]:
    """The account's lifecycle policy and, when the mass-archive guard holds it, since
    when, why, and how many archiving jobs wait for a person."""
    held_jobs = 0
    if account.lifecycle_held_at is not None:
        held_jobs = int(
            db.scalar(
                select(func.count())
                .select_from(Job)
                .where(
                    Job.account_id == account.id,
                    Job.status == "parked",
                    Job.park_reason == HOLD_CODE,
                )
            )
            or 0
        )
    return {
        "policy": account.lifecycle_policy,
        "held_at": account.lifecycle_held_at,
        "reason": account.lifecycle_hold_reason,
        "held_jobs": held_jobs,
    }


def credentials(db: Session, account_id: int, now: datetime | None = None) -> dict[str, Any]:
    """Per system: connected or not, status, kind and expiries. Never a token."""
    now = now or datetime.now(UTC)
    rows = {
        c.system: c
        for c in db.scalars(select(Credential).where(Credential.account_id == account_id))
    }
    out: dict[str, Any] = {}
    for system in SYSTEMS:
        row = rows.get(system)
        if row is None:
            out[system] = {"connected": False, "health": "not connected"}
            continue
        out[system] = {
            "connected": True,
            "health": _health(row, now),
            "kind": row.kind,
            "status": row.status,
            "reason": row.status_reason,
            "access_expires_at": row.access_expires_at,
            "refresh_expires_at": row.refresh_expires_at,
            "refreshed_at": row.refreshed_at,
        }
    return out


def _health(row: Credential, now: datetime) -> str:
    if row.status != "ok":
        return row.status
    if row.refresh_expires_at is not None:
        if row.refresh_expires_at <= now:
            return "expired: reconnect"
        if row.refresh_expires_at - now < timedelta(days=7):
            return "ok (reconnect within a week)"
    return "ok"  # an expired access token is refreshed on use; only the refresh matters


def last_poll(db: Session, account: Account, now: datetime | None = None) -> dict[str, Any]:
    """When the current source was last polled, and how far behind its cursor is."""
    now = now or datetime.now(UTC)
    source = source_of(account.direction)  # type: ignore[arg-type]
    cursor = db.scalar(
        select(Cursor).where(Cursor.account_id == account.id, Cursor.source_system == source)
    )
    if cursor is None:
        return {"source": source, "polled_at": None, "cursor": None, "lag_seconds": None}
    return {
        "source": source,
        "polled_at": cursor.polled_at,
        "cursor": cursor.value,
        # Changes newer than the cursor are not yet turned into jobs.
        "lag_seconds": round((now - cursor.value).total_seconds(), 1),
    }


def job_counts(db: Session, account_id: int, now: datetime | None = None) -> dict[str, int]:
    """Open jobs by status, and jobs that failed for good in the last 24 hours."""
    now = now or datetime.now(UTC)
    counts = dict.fromkeys(("pending", "running", "parked"), 0)
    rows = db.execute(
        select(Job.status, func.count())
        .where(Job.account_id == account_id, Job.status.in_(tuple(counts)))
        .group_by(Job.status)
    ).all()
    counts.update({status: int(n) for status, n in rows})
    counts["failed_24h"] = int(
        db.scalar(
            select(func.count()).where(
                Job.account_id == account_id,
                Job.status == "failed",
                Job.updated_at >= now - timedelta(hours=24),
            )
        )
        or 0
    )
    return counts


def queue_depths(client: redis.Redis) -> dict[str, int] | None:
    """Messages waiting per Celery queue, or None when Redis is unreachable."""
    try:
        return liveness.waiting(client, list(QUEUES))
    except redis.RedisError:
        return None


def worker_liveness(client: redis.Redis) -> list[dict[str, Any]] | None:
    """Each worker's last proof of consumption per queue and whether it is overdue
    (`workers.liveness`), or None when Redis is unreachable."""
    try:
        return [w.as_json() for w in liveness.read_all(client)]
    except redis.RedisError:
        return None


def liveness_lines(workers: list[dict[str, Any]] | None) -> list[str]:
    """``sync@host: ok; poll taken 3s ago, sync taken 1s ago``, one line per worker."""
    if workers is None:
        return ["workers: Redis unreachable"]
    if not workers:
        return ["workers: none has reported (are the workers running?)"]
    lines = []
    for w in workers:
        taken = ", ".join(
            f"{q} "
            + (
                "never taken"
                if p["last_taken_seconds_ago"] is None
                else f"taken {p['last_taken_seconds_ago']:.0f}s ago"
            )
            for q, p in w["queues"].items()
        )
        verdict = f"OVERDUE ({w['overdue']})" if w["overdue"] else "ok"
        lines.append(f"  {w['worker']}: {verdict}; {taken}")
    return ["workers (last message taken per queue):", *lines]


def run_progress(run: SyncRun, now: datetime | None = None) -> dict[str, Any]:
    now = now or datetime.now(UTC)
    end = run.finished_at or now
    percent = 100.0 if run.status == "finished" else 0.0
    if run.total:
        percent = round(100.0 * min(run.done, run.total) / run.total, 1)
    return {
        "run": run.id,
        "kind": run.kind,
        "direction": run.direction,
        "status": run.status,
        "total": run.total,
        "done": run.done,
        "created": run.created,
        "updated": run.updated,
        "unchanged": run.unchanged,
        "failed": run.failed,
        "skipped": run.skipped,
        "percent": percent,
        "started_at": run.started_at,
        "finished_at": run.finished_at,
        "elapsed_seconds": round((end - run.started_at).total_seconds(), 1),
        "error": run.error_message,
        "wait_reason": run.wait_reason if run.status == "waiting" else None,
        "next_attempt_at": run.next_attempt_at if run.status == "waiting" else None,
    }


def active_runs(db: Session, account_id: int) -> list[SyncRun]:
    return list(
        db.scalars(
            select(SyncRun)
            .where(
                SyncRun.account_id == account_id,
                SyncRun.kind == "full_sync",
                SyncRun.status.in_(("enumerating", "waiting", "running")),
            )
            .order_by(SyncRun.id)
        )
    )


def poll_wait(db: Session, account_id: int) -> dict[str, Any] | None:
    """Why the account's polls wait (a parked error: see `workers.engine.run_wait`)."""
    run = db.scalars(
        select(SyncRun).where(
            SyncRun.account_id == account_id, SyncRun.kind == "poll", SyncRun.status == "waiting"
        )
    ).first()
    if run is None:
        return None
    return {"reason": run.wait_reason, "next_attempt_at": run.next_attempt_at}


def wait_line(reason: str | None, until: datetime | None) -> str:
    """``waiting: [circuit_open] ..., next try 2026-12-07 18:00:00Z``."""
    when = f", next try {moment(until)}" if until is not None else ""
    return f"waiting: {reason or 'a passing condition'}{when}"


def direction_label(direction: Direction | str) -> str:
    if direction == "hubspot_to_quickbooks":
        return "HubSpot → QuickBooks"
    return "QuickBooks → HubSpot"


def credential_line(system: str, cred: dict[str, Any]) -> str:
    """``quickbooks [oauth]: ok (reason), refresh token expires 2026-12-01 10:00:00Z``."""
    kind = f" [{cred['kind']}]" if cred.get("kind") else ""
    reason = f" ({cred['reason']})" if cred.get("reason") else ""
    expiry = ""
    if cred.get("refresh_expires_at"):
        expiry = f", refresh token expires {moment(cred['refresh_expires_at'])}"
    elif cred.get("access_expires_at"):
        expiry = f", access token expires {moment(cred['access_expires_at'])}"
    return f"{system}{kind}: {cred['health']}{reason}{expiry}"


def mapping_rows(mappings: Sequence[FieldMapping]) -> list[dict[str, str]]:
    return [
        {
            "hubspot_field": m.hubspot_field,
            "quickbooks_field": m.quickbooks_field,
            "converter": m.converter,
        }
        for m in mappings
    ]


def account_report(db: Session, account: Account) -> dict[str, Any]:
    report = account_summary(account)
    report["qbo_defaults"] = {
        "income_account": account.qbo_income_account_id,
        "expense_account": account.qbo_expense_account_id,
        "asset_account": account.qbo_asset_account_id,
        "item_type": account.qbo_default_item_type,
    }
    report["mappings"] = mapping_rows(load_mappings(db, account.id))
    report["credentials"] = credentials(db, account.id)
    report["last_poll"] = last_poll(db, account)
    report["jobs"] = job_counts(db, account.id)
    runs = db.scalars(
        select(SyncRun)
        .where(SyncRun.account_id == account.id, SyncRun.kind == "full_sync")
        .order_by(SyncRun.id.desc())
        .limit(5)
    )
    report["recent_runs"] = [run_progress(r) for r in runs]
    return report
