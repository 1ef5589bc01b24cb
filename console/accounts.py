"""Creating an account with its default field mappings, for the CLI and `productsync run`."""

from __future__ import annotations

import click
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from models import Account, FieldMappingRow
from workers.mapping import DEFAULT_MAPPINGS


def create_account(db: Session, *, name: str, **settings: object) -> Account:
    """Insert account ``name`` and one mapping row per default mapping, in ``db``'s
    transaction. An existing name is a one-line operator error, not a traceback."""
    if db.scalar(select(Account.id).where(Account.name == name)) is not None:
        raise click.ClickException(f"an account named {name!r} already exists")
    account = Account(name=name, **settings)
    db.add(account)
    try:
        db.flush()
    except IntegrityError:  # a concurrent add of the same name won the race
        raise click.ClickException(f"an account named {name!r} already exists") from None
    db.add_all(
        FieldMappingRow(
            account_id=account.id,
            hubspot_field=m.hubspot_field,
            quickbooks_field=m.quickbooks_field,
            converter=m.converter,
            position=i,
        )
        for i, m in enumerate(DEFAULT_MAPPINGS)
    )
    db.flush()
    return account
