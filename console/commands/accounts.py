"""`productsync accounts add|list|show|set`: the HubSpot portal + QuickBooks company pairs."""

from __future__ import annotations

from typing import Any

import click
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from console import views
from console.actions import announce
from console.output import (
    account_named,
    echo_json,
    fields,
    json_option,
    session,
    settings,
    table,
)
from models import Account, ProductLink
from models.account import LIFECYCLE_POLICIES
from workers.catalog.port import DIRECTIONS
from workers.engine import lifecycle_policy
from workers.engine.accounts import create_account
from workers.engine.context import Dispatch

ITEM_TYPES = ("NonInventory", "Service", "Inventory")


def _numeric_id(label: str) -> Any:
    def check(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
        if value is not None and not value.strip().isdigit():
            raise click.BadParameter(f"{label} ids are digits only, got {value!r}")
        return value.strip() if value else value

    return check


def _qbo_options(func: Any) -> Any:
    for name, what in (
        ("asset", "Inventory asset"),
        ("expense", "Expense (cost of goods sold)"),
        ("income", "Income"),
    ):
        func = click.option(
            f"--qbo-{name}-account",
            f"qbo_{name}",
            metavar="ID",
            callback=_numeric_id("QuickBooks account"),
            help=f"{what} account id for items created in QuickBooks.",
        )(func)
    return click.option(
        "--qbo-item-type",
        type=click.Choice(ITEM_TYPES),
        help="QuickBooks type for new items when no type mapping is set (NonInventory).",
    )(func)


@click.group("accounts")
def command() -> None:
    """Accounts: one HubSpot portal paired with one QuickBooks company."""


@command.command("add")
@click.argument("name")
@click.option(
    "--hubspot-portal", required=True, callback=_numeric_id("HubSpot portal"), metavar="ID"
)
@click.option(
    "--quickbooks-realm",
    required=True,
    callback=_numeric_id("QuickBooks company (realm)"),
    metavar="ID",
)
@click.option("--direction", required=True, type=click.Choice(DIRECTIONS))
@_qbo_options
@click.option(
    "--poll-interval",
    type=click.IntRange(min=5),
    default=60,
    show_default=True,
    help="Seconds between polls of the source.",
)
@json_option
def add(
    name: str,
    hubspot_portal: str,
    quickbooks_realm: str,
    direction: str,
    qbo_income: str | None,
    qbo_expense: str | None,
    qbo_asset: str | None,
    qbo_item_type: str | None,
    poll_interval: int,
    as_json: bool,
) -> None:
    """Add an account NAME with the default field mappings (name, SKU, description, price).

    Connect it afterwards with `productsync connect hubspot|quickbooks --account NAME`.
    """
    name = name.strip()
    if not name or len(name) > 200:
        raise click.BadParameter("an account name is 1 to 200 characters", param_hint="NAME")
    taken = click.ClickException(f"an account named {name!r} already exists")
    with session() as db:
        if db.scalar(select(Account.id).where(Account.name == name)) is not None:
            raise taken
        try:
            account = create_account(
                db,
                name=name,
                hubspot_portal_id=hubspot_portal,
                quickbooks_realm_id=quickbooks_realm,
                direction=direction,  # type: ignore[arg-type]
                qbo_income_account_id=qbo_income,
                qbo_expense_account_id=qbo_expense,
                qbo_asset_account_id=qbo_asset,
                qbo_default_item_type=qbo_item_type or "NonInventory",
                poll_interval_seconds=poll_interval,
            )
        except IntegrityError:  # a concurrent add of the same name won the race
            raise taken from None
        summary = views.account_summary(account)
    if as_json:
        echo_json(summary)
        return
    click.echo(f"added account {name!r} ({views.direction_label(direction)})")
    if direction == "hubspot_to_quickbooks" and not (qbo_income and qbo_expense):
        click.echo(
            "note: QuickBooks needs an income and an expense account to create items; set "
            f"them with `productsync accounts set {name} --qbo-income-account ID "
            "--qbo-expense-account ID`"
        )
    click.echo(f"next: productsync connect hubspot --account {name}")
    click.echo(f"      productsync connect quickbooks --account {name}")


@command.command("set")
@click.argument("name")
@click.option("--hubspot-portal", callback=_numeric_id("HubSpot portal"), metavar="ID")
@click.option(
    "--quickbooks-realm", callback=_numeric_id("QuickBooks company (realm)"), metavar="ID"
)
@_qbo_options
@click.option("--poll-interval", type=click.IntRange(min=5), help="Seconds between polls.")
@click.option("--enable/--disable", "enabled", default=None, help="Pause or resume syncing.")
@click.option(
    "--lifecycle",
    type=click.Choice(LIFECYCLE_POLICIES),
    help="What archiving, restoring, deleting or merging in the source does to the "
    "destination: ignore (nothing) or mirror (the same happens there).",
)
@click.option(
    "--release-held",
    is_flag=True,
    help="The mass-archive guard holds this account's archives: let them go ahead.",
)
def set_(
    name: str,
    hubspot_portal: str | None,
    quickbooks_realm: str | None,
    qbo_income: str | None,
    qbo_expense: str | None,
    qbo_asset: str | None,
    qbo_item_type: str | None,
    poll_interval: int | None,
    enabled: bool | None,
    lifecycle: str | None,
    release_held: bool,
) -> None:
    """Change an account's portal or company (before its first sync), QuickBooks item
    defaults, poll interval, lifecycle policy, or pause it; or release archives held by
    the mass-archive guard.

    (The direction has its own command: `productsync direction set`.)
    """
    changes = {
        "hubspot_portal_id": hubspot_portal,
        "quickbooks_realm_id": quickbooks_realm,
        "qbo_income_account_id": qbo_income,
        "qbo_expense_account_id": qbo_expense,
        "qbo_asset_account_id": qbo_asset,
        "qbo_default_item_type": qbo_item_type,
        "poll_interval_seconds": poll_interval,
        "enabled": enabled,
    }
    changes = {k: v for k, v in changes.items() if v is not None}
    if not changes and lifecycle is None and not release_held:
        raise click.UsageError("nothing to change (see --help)")
    released: list[Dispatch] = []
    with session() as db:
        account = account_named(db, name)
        _refuse_moving_synced(db, account, changes)
        for key, value in changes.items():
            setattr(account, key, value)
        if lifecycle is not None:
            released += lifecycle_policy.set_policy(db, account, lifecycle, by="command line")
            changes["lifecycle_policy"] = lifecycle
        if release_held:
            if account.lifecycle_held_at is None:
                raise click.ClickException(f"{name!r} has no archives held; nothing to release")
            released += lifecycle_policy.release(db, account, by="command line")
    if released:
        announce(settings(), released)
    summary = [f"{k}={v}" for k, v in changes.items()]
    if release_held or released:
        summary.append(f"{len(released)} held archive jobs released")
    click.echo(f"updated {name!r}: " + ", ".join(summary))


def _refuse_moving_synced(db: Session, account: Account, changes: dict[str, Any]) -> None:
    """Product links name products of the current portal and company: pointing a synced
    account elsewhere would update the wrong products, so that needs a new account."""
    for column, link_column, label in (
        ("hubspot_portal_id", ProductLink.hubspot_id, "HubSpot portal"),
        ("quickbooks_realm_id", ProductLink.quickbooks_id, "QuickBooks company"),
    ):
        if column not in changes or changes[column] == getattr(account, column):
            continue
        linked = db.scalar(
            select(ProductLink.id)
            .where(ProductLink.account_id == account.id, link_column.is_not(None))
            .limit(1)
        )
        if linked is not None:
            raise click.ClickException(
                f"{account.name!r} has already synced products with its {label}; add a new "
                "account for another one"
            )


@command.command("list")
@json_option
def list_(as_json: bool) -> None:
    """Every account, with its direction and connection health."""
    with session() as db:
        rows = []
        for account in db.scalars(select(Account).order_by(Account.name)):
            row = views.account_summary(account)
            creds = views.credentials(db, account.id)
            row["hubspot"] = creds["hubspot"]["health"]
            row["quickbooks"] = creds["quickbooks"]["health"]
            rows.append(row)
    if as_json:
        echo_json(rows)
        return
    if not rows:
        click.echo("no accounts yet: `productsync accounts add --help`")
        return
    click.echo(
        table(
            rows,
            [
                ("name", "NAME"),
                ("direction", "DIRECTION"),
                ("hubspot_portal", "PORTAL"),
                ("quickbooks_realm", "REALM"),
                ("enabled", "ENABLED"),
                ("hubspot", "HUBSPOT"),
                ("quickbooks", "QUICKBOOKS"),
            ],
        )
    )


@command.command("show")
@click.argument("name")
@json_option
def show(name: str, as_json: bool) -> None:
    """One account: settings, mappings, credentials (status and expiry only), progress."""
    with session() as db:
        report = views.account_report(db, account_named(db, name))
    if as_json:
        echo_json(report)
        return
    click.echo(
        fields(
            [
                ("account", report["name"]),
                ("direction", views.direction_label(report["direction"])),
                ("hubspot portal", report["hubspot_portal"]),
                ("quickbooks realm", report["quickbooks_realm"]),
                ("enabled", report["enabled"]),
                ("poll interval", f"{report['poll_interval_seconds']}s"),
                ("lifecycle policy", report["lifecycle_policy"]),
                ("qbo income account", report["qbo_defaults"]["income_account"]),
                ("qbo expense account", report["qbo_defaults"]["expense_account"]),
                ("qbo asset account", report["qbo_defaults"]["asset_account"]),
                ("qbo item type", report["qbo_defaults"]["item_type"]),
                ("last poll", report["last_poll"]["polled_at"]),
            ]
        )
    )
    click.echo("\ncredentials:")
    for system, cred in report["credentials"].items():
        click.echo("  " + views.credential_line(system, cred))
    click.echo("\nmappings:")
    click.echo(
        table(
            report["mappings"],
            [
                ("hubspot_field", "  HUBSPOT"),
                ("quickbooks_field", "QUICKBOOKS"),
                ("converter", "CONVERTER"),
            ],
        )
    )
    if report["recent_runs"]:
        click.echo("\nrecent full syncs:")
        for run in report["recent_runs"]:
            click.echo(
                f"  #{run['run']} {run['status']}: {run['done']}/{run['total']}, "
                f"{run['created']} created, {run['updated']} updated, "
                f"{run['unchanged']} unchanged, {run['failed']} failed"
            )
