"""`productsync history`: what happened to each product, newest first."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import click
from sqlalchemy import select

from console.output import account_named, account_option, echo_json, json_option, session, table
from models import Account, HistoryEntry
from models.history import HISTORY_ACTIONS, HISTORY_STATUSES

_RELATIVE = re.compile(r"^(\d+)\s*([smhdw])$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


class Since(click.ParamType):
    """``30m``, ``2h``, ``7d`` ago, or an ISO 8601 date/time (UTC unless it says otherwise)."""

    name = "since"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, datetime):
            return value
        text = str(value).strip()
        match = _RELATIVE.match(text)
        if match:
            amount, unit = int(match.group(1)), _UNITS[match.group(2)]
            return datetime.now(UTC) - timedelta(**{unit: amount})
        try:
            moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            self.fail(
                f"{text!r} is neither a duration like 30m, 2h, 7d nor a date like 2026-11-25 "
                "or 2026-11-25T14:00",
                param,
                ctx,
            )
        return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def history_rows(
    db: Any,
    *,
    account: Account | None = None,
    status: str | None = None,
    action: str | None = None,
    sku: str | None = None,
    since: datetime | None = None,
    limit: int = 50,
) -> list[dict[str, Any]]:
    query = select(HistoryEntry, Account.name).join(Account, Account.id == HistoryEntry.account_id)
    if account is not None:
        query = query.where(HistoryEntry.account_id == account.id)
    if status:
        query = query.where(HistoryEntry.status == status)
    if action:
        query = query.where(HistoryEntry.action == action)
    if sku is not None:
        query = query.where(HistoryEntry.sku == sku)  # exact and case-sensitive, like matching
    if since is not None:
        query = query.where(HistoryEntry.finished_at >= since)
    query = query.order_by(HistoryEntry.finished_at.desc(), HistoryEntry.id.desc()).limit(limit)
    return [_row(entry, name) for entry, name in db.execute(query)]


def _row(entry: HistoryEntry, account_name: str) -> dict[str, Any]:
    return {
        "id": entry.id,
        "at": entry.finished_at,
        "account": account_name,
        "sku": entry.sku,
        "action": entry.action,
        "status": entry.status,
        "error_code": entry.error_code,
        "error_message": entry.error_message,
        "vendor_code": entry.vendor_code,
        "hubspot_id": entry.hubspot_id,
        "quickbooks_id": entry.quickbooks_id,
        "direction": entry.direction,
        "attempt": entry.attempt,
        "run": entry.run_id,
        "job": entry.job_id,
        "changes": entry.changes or {},
        "details": entry.details or {},
    }


@click.command("history")
@account_option(required=False)
@click.option("--status", type=click.Choice(HISTORY_STATUSES), help="Only this outcome.")
@click.option("--action", type=click.Choice(HISTORY_ACTIONS), help="Only this action.")
@click.option("--sku", help="Only this SKU (exact, case-sensitive).")
@click.option("--since", type=Since(), help="Only since then: 30m, 2h, 7d, or an ISO date.")
@click.option("--limit", type=click.IntRange(1, 10_000), default=50, show_default=True)
@json_option
def command(
    account_name: str | None,
    status: str | None,
    action: str | None,
    sku: str | None,
    since: datetime | None,
    limit: int,
    as_json: bool,
) -> None:
    """Every product sync attempt, newest first.

    ACTION is what happened to the destination (created, updated, unchanged, failed,
    skipped); STATUS is how the attempt ended (succeeded, failed, skipped, or retrying /
    parked when it will be tried again). Failures carry an error code and a message.
    """
    with session() as db:
        account = account_named(db, account_name) if account_name else None
        rows = history_rows(
            db, account=account, status=status, action=action, sku=sku, since=since, limit=limit
        )
    if as_json:
        echo_json(rows)
        return
    if not rows:
        click.echo("no history matches")
        return
    for row in rows:
        row["ids"] = f"{row['hubspot_id'] or '-'} / {row['quickbooks_id'] or '-'}"
        row["problem"] = _problem(row)
    click.echo(
        table(
            rows,
            [
                ("at", "WHEN"),
                ("account", "ACCOUNT"),
                ("sku", "SKU"),
                ("action", "ACTION"),
                ("status", "STATUS"),
                ("ids", "HUBSPOT / QUICKBOOKS"),
                ("problem", "ERROR"),
            ],
        )
    )


def _problem(row: dict[str, Any]) -> str | None:
    if not row["error_code"]:
        return None
    message = (row["error_message"] or "").replace("\n", " ")
    if len(message) > 90:
        message = message[:87] + "..."
    return f"{row['error_code']}: {message}"
