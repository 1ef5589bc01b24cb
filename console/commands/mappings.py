"""`productsync mappings list|set|reset`: which HubSpot property feeds which QBO field."""

from __future__ import annotations

import click

from console import views
from console.actions import save_mappings
from console.output import (
    account_named,
    account_option,
    echo_json,
    json_option,
    redis_client,
    session,
    settings,
    table,
)
from workers.engine.accounts import mappings_of, reset_mappings
from workers.mapping import (
    DEFAULT_MAPPINGS,
    OPTIONAL_MAPPINGS,
    Converter,
    FieldMapping,
    MappingInvalid,
)
from workers.mapping.fields import CONVERTERS

# The converter a well-known pair uses, so `price=UnitPrice` needs no `:money`.
_KNOWN: dict[tuple[str, str], Converter] = {
    (m.hubspot_field, m.quickbooks_field): m.converter
    for m in (*DEFAULT_MAPPINGS, *OPTIONAL_MAPPINGS)
}


def parse_mapping(text: str) -> FieldMapping:
    """``hubspot_field=QuickBooksField[:converter]``; the converter of a known pair is
    implied, any other pair defaults to ``text``."""
    pair, _, converter = text.partition(":")
    hubspot, sep, quickbooks = pair.partition("=")
    hubspot, quickbooks, converter = hubspot.strip(), quickbooks.strip(), converter.strip()
    if not sep or not hubspot or not quickbooks:
        raise click.BadParameter(
            f"{text!r} is not HUBSPOT_PROPERTY=QUICKBOOKS_FIELD[:CONVERTER]", param_hint="MAPPING"
        )
    if converter and converter not in CONVERTERS:
        raise click.BadParameter(
            f"unknown converter {converter!r} (one of {', '.join(CONVERTERS)})",
            param_hint="MAPPING",
        )
    chosen = converter or _KNOWN.get((hubspot, quickbooks), "text")
    return FieldMapping(hubspot, quickbooks, chosen)  # type: ignore[arg-type]


def _print(mappings: list[dict[str, str]], as_json: bool) -> None:
    if as_json:
        echo_json(mappings)
        return
    click.echo(
        table(
            mappings,
            [
                ("hubspot_field", "HUBSPOT"),
                ("quickbooks_field", "QUICKBOOKS"),
                ("converter", "CONVERTER"),
            ],
        )
    )


@click.group("mappings")
def command() -> None:
    """Field mappings: HubSpot product property ⇄ QuickBooks item field, with a converter."""


@command.command("list")
@account_option()
@json_option
def list_(account_name: str, as_json: bool) -> None:
    """The account's mappings, in order."""
    with session() as db:
        mappings = views.mapping_rows(mappings_of(db, account_named(db, account_name).id))
    _print(mappings, as_json)


@command.command("set")
@account_option()
@click.argument("mapping", nargs=-1, required=True)
@json_option
def set_(account_name: str, mapping: tuple[str, ...], as_json: bool) -> None:
    """Replace ALL of the account's mappings with MAPPING... (validated first; a refused
    set changes nothing).

    Each MAPPING is HUBSPOT_PROPERTY=QUICKBOOKS_FIELD[:CONVERTER]; converters are name,
    sku, text, description, money, product_type (implied for the standard pairs). To add
    cost and product type to the defaults:

      productsync mappings set --account acme name=Name hs_sku=Sku
      description=Description price=UnitPrice hs_cost_of_goods_sold=PurchaseCost
      hs_product_type=Type
    """
    mappings = [parse_mapping(text) for text in mapping]
    s = settings()
    with session() as db:
        account_id = account_named(db, account_name).id
    with redis_client(s.redis_url) as client:
        try:
            save_mappings(s, account_id, mappings, redis_client=client)
        except MappingInvalid as exc:
            raise click.ClickException("mappings refused: " + "; ".join(exc.problems)) from None
    if not as_json:
        click.echo(f"saved {len(mappings)} mappings for {account_name}")
    _print(views.mapping_rows(mappings), as_json)


@command.command("reset")
@account_option()
@json_option
def reset(account_name: str, as_json: bool) -> None:
    """Back to the defaults: name, SKU, description, price."""
    with session() as db:
        account_id = account_named(db, account_name).id
        reset_mappings(db, account_id)
        mappings = views.mapping_rows(mappings_of(db, account_id))
    if not as_json:
        click.echo(f"mappings of {account_name} reset to the defaults")
    _print(mappings, as_json)
