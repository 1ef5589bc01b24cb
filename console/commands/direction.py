"""`productsync direction set`: which system is the source for an account."""

from __future__ import annotations

import click

from console import views
from console.output import account_named, account_option, echo_json, json_option, session
from workers.catalog.port import DIRECTIONS, destination_of, source_of
from workers.engine.accounts import set_direction


@click.group("direction")
def command() -> None:
    """The account's sync direction (exactly one is active)."""


@command.command("set")
@account_option()
@click.argument("direction", type=click.Choice(DIRECTIONS))
@json_option
def set_(account_name: str, direction: str, as_json: bool) -> None:
    """Make DIRECTION the account's only direction.

    The new source is polled for changes from now on; changes of the old source that
    were still waiting are skipped (recorded in the history as direction_changed), so
    nothing is ever written back into the old source. Run `productsync full-sync` to
    bring everything across in the new direction.
    """
    with session() as db:
        account = account_named(db, account_name)
        unchanged = account.direction == direction
        skipped = set_direction(db, account.id, direction)  # type: ignore[arg-type]
    result = {
        "account": account_name,
        "direction": direction,
        "changed": not unchanged,
        "skipped_jobs": skipped,
    }
    if as_json:
        echo_json(result)
        return
    if unchanged:
        click.echo(f"{account_name} already syncs {views.direction_label(direction)}")
        return
    source, destination = source_of(direction), destination_of(direction)  # type: ignore[arg-type]
    click.echo(
        f"{account_name} now syncs {views.direction_label(direction)}: {source} is polled from "
        f"now on and nothing is written to it; {destination} receives the changes. "
        f"{skipped} waiting change(s) of the old direction skipped."
    )
