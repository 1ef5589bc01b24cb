"""`productsync retry SKU | --failed`: sync products again, from their current source data."""

from __future__ import annotations

import click
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from console.actions import announce, retry_product
from console.output import account_named, account_option, echo_json, json_option, session
from console.output import settings as get_settings
from models import Account, Job
from workers.catalog.port import source_of
from workers.engine import Dispatch
from workers.engine.jobs import NewJob, insert_jobs


def requeue_failed(db: Session, account: Account) -> list[Dispatch]:
    """A retry job for every product of the current source whose latest job failed.

    Products with a newer job (already retried, or changed again since) are left alone,
    so running this twice queues nothing twice.
    """
    source = source_of(account.direction)  # type: ignore[arg-type]
    latest = (
        select(
            Job.source_id,
            Job.status,
            func.row_number().over(partition_by=Job.source_id, order_by=Job.id.desc()).label("n"),
        )
        .where(Job.account_id == account.id, Job.source_system == source)
        .subquery()
    )
    failed = db.scalars(
        select(latest.c.source_id)
        .where(latest.c.n == 1, latest.c.status == "failed")
        .order_by(latest.c.source_id)
    ).all()
    return insert_jobs(
        db,
        account_id=account.id,
        source_system=source,
        reason="retry",
        queue="sync",
        changes=[NewJob(source_id, None) for source_id in failed],
    )


def _single_account(db: Session) -> Account:
    accounts = db.scalars(select(Account).limit(2)).all()
    if len(accounts) != 1:
        raise click.UsageError("--account is required" if accounts else "there are no accounts yet")
    return accounts[0]


@click.command("retry")
@click.argument("sku", required=False)
@click.option("--failed", is_flag=True, help="Retry every product whose last sync failed.")
@account_option(required=False)
@json_option
def command(sku: str | None, failed: bool, account_name: str | None, as_json: bool) -> None:
    """Sync SKU again now (exact, case-sensitive), or with --failed every failed product.

    Fix the product in the source system first: the retry reads it fresh. --account may be
    left out when there is only one account; --failed without --account retries failures
    of every account.
    """
    if bool(sku) == failed:
        raise click.UsageError("give either a SKU or --failed")
    if sku is not None:
        with session() as db:
            account = account_named(db, account_name) if account_name else _single_account(db)
            account_id, name = account.id, account.name
        outcome = retry_product(get_settings(), account_id, sku)
        if not outcome.queued:
            raise click.ClickException(outcome.message)
        if as_json:
            echo_json({"account": name, "sku": sku, "queued": True})
        else:
            click.echo(f"retry of {sku!r} in {name} queued")
        return
    queued: dict[str, list[Dispatch]] = {}
    with session() as db:
        accounts = (
            [account_named(db, account_name)]
            if account_name
            else list(db.scalars(select(Account).order_by(Account.name)))
        )
        for account in accounts:
            queued[account.name] = requeue_failed(db, account)
    # Announce only after the jobs are committed (a lost message is re-sent by the sweeper).
    announce(get_settings(), [d for dispatches in queued.values() for d in dispatches])
    if as_json:
        echo_json({name: len(d) for name, d in queued.items()})
        return
    for name, dispatches in queued.items():
        click.echo(f"{name}: {len(dispatches)} failed product(s) queued for retry")
