"""`productsync status`: is each account keeping up, and can it still reach its vendors?"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import click
import redis
from sqlalchemy import select

from console import views
from console.output import (
    account_named,
    account_option,
    ago,
    echo_json,
    json_option,
    session,
    settings,
)
from models import Account
from workers.webhooks.stats import account_stats


def status_report(
    db: Any, client: redis.Redis, account: Account | None = None, store: redis.Redis | None = None
) -> dict[str, Any]:
    """``client``: the broker's Redis (queues); ``store``: the service's (worker liveness),
    when it is another one."""
    now = datetime.now(UTC)
    query = select(Account).order_by(Account.name)
    if account is not None:
        query = query.where(Account.id == account.id)
    accounts = []
    for acct in db.scalars(query):
        accounts.append(
            {
                "name": acct.name,
                "direction": acct.direction,
                "enabled": acct.enabled,
                "poll_interval_seconds": acct.poll_interval_seconds,
                "last_poll": views.last_poll(db, acct, now),
                "jobs": views.job_counts(db, acct.id, now),
                "credentials": views.credentials(db, acct.id, now),
                "poll_wait": views.poll_wait(db, acct.id),
                "lifecycle": views.lifecycle(db, acct),
                "full_syncs": [views.run_progress(r, now) for r in views.active_runs(db, acct.id)],
                "webhooks": account_stats(store or client, acct.id),
            }
        )
    return {
        "at": now,
        "queues": views.queue_depths(client),
        "workers": views.worker_liveness(store or client),
        "accounts": accounts,
    }


@click.command("status")
@account_option(required=False)
@json_option
def command(account_name: str | None, as_json: bool) -> None:
    """Per account: last poll and its lag, jobs waiting or failed, token health, runs
    waiting out a passing fault, when the last webhook arrived and how many were refused,
    the lifecycle policy and any mass-archive hold; the depth of each Celery queue (poll,
    sync, bulk); and each worker's liveness (when it last took a message from each of its
    queues)."""
    s = settings()
    client = redis.Redis.from_url(
        s.effective_broker_url, socket_connect_timeout=2, socket_timeout=2
    )
    store = redis.Redis.from_url(s.redis_url, socket_connect_timeout=2, socket_timeout=2)
    with session() as db:
        account = account_named(db, account_name) if account_name else None
        report = status_report(db, client, account, store)
    if as_json:
        echo_json(report)
        return
    queues = report["queues"]
    if queues is None:
        click.echo("queues: Redis unreachable (check PRODUCTSYNC_REDIS_URL / BROKER_URL)")
    else:
        click.echo("queues: " + ", ".join(f"{q} {n}" for q, n in queues.items()))
    for line in views.liveness_lines(report["workers"]):
        click.echo(line)
    if not report["accounts"]:
        click.echo("no accounts yet: `productsync accounts add --help`")
    for acct in report["accounts"]:
        click.echo("")
        click.echo(_account_text(acct, report["at"]))


def _account_text(acct: dict[str, Any], now: datetime) -> str:
    poll = acct["last_poll"]
    lag = "-" if poll["lag_seconds"] is None else f"{poll['lag_seconds']:.0f}s"
    state = "" if acct["enabled"] else " (disabled)"
    lines = [
        f"{acct['name']}{state}: {views.direction_label(acct['direction'])}",
        f"  last poll of {poll['source']}: {ago(poll['polled_at'], now)}, cursor lag {lag}"
        f" (polled every {acct['poll_interval_seconds']}s)",
        "  jobs: "
        + ", ".join(f"{k.replace('_24h', ' (24h)')} {v}" for k, v in acct["jobs"].items()),
    ]
    for system, cred in acct["credentials"].items():
        lines.append("  " + views.credential_line(system, cred))
    lines.append("  " + _webhook_line(acct["webhooks"], now))
    lifecycle = acct["lifecycle"]
    lines.append(f"  lifecycle policy: {lifecycle['policy']}")
    if lifecycle["held_at"] is not None:
        lines.append(
            f"  ARCHIVING HELD since {ago(lifecycle['held_at'], now)} "
            f"({lifecycle['held_jobs']} jobs waiting): {lifecycle['reason']}"
        )
    if acct["poll_wait"]:
        wait = acct["poll_wait"]
        lines.append("  polls " + views.wait_line(wait["reason"], wait["next_attempt_at"]))
    for run in acct["full_syncs"]:
        if run["status"] == "waiting":
            wait = views.wait_line(run["wait_reason"], run["next_attempt_at"])
            lines.append(f"  full sync #{run['run']}: {wait}")
            continue
        lines.append(
            f"  full sync #{run['run']}: {run['done']}/{run['total']} ({run['percent']}%), "
            f"{run['failed']} failed"
        )
    return "\n".join(lines)


def _webhook_line(hooks: dict[str, Any] | None, now: datetime) -> str:
    if hooks is None:
        return "webhooks: unknown (Redis unreachable)"
    line = "webhooks: none received"
    if hooks["last_at"] is not None:
        line = f"webhooks: last {ago(hooks['last_at'], now)}"
        line += f" ({hooks['events']} events, {hooks['dropped']} dropped)"
    line += f", {hooks['refused']} refused"
    if hooks["last_refused_at"] is not None:
        line += (
            f" (last {ago(hooks['last_refused_at'], now)}: {hooks['last_refused_reason']})"
        )
    return line
