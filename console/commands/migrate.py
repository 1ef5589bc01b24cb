"""`productsync migrate`: create the database when it is missing, then apply migrations."""

from __future__ import annotations

import click
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from console.output import database_label, settings
from models.migrate import upgrade


def create_database_if_missing(url: str) -> bool:
    """Create the database named by ``url`` on its server; True when it was created.

    Connects to the server's ``postgres`` maintenance database with the same credentials,
    so the configured role needs CREATEDB only on the very first run.
    """
    target = make_url(url)
    name = target.database
    if not name:
        raise click.ClickException("PRODUCTSYNC_DATABASE_URL names no database")
    engine = create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            exists = conn.scalar(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name})
            if exists:
                return False
            quoted = conn.dialect.identifier_preparer.quote(name)
            conn.execute(text(f"CREATE DATABASE {quoted}"))
            return True
    except OperationalError:
        raise click.ClickException(
            f"cannot reach PostgreSQL for {database_label(url)} "
            "(is it running? check PRODUCTSYNC_DATABASE_URL)"
        ) from None
    finally:
        engine.dispose()


def migrate(url: str) -> bool:
    """Bring the database at ``url`` to the latest schema; True when it was created."""
    created = create_database_if_missing(url)
    upgrade(url)
    return created


@click.command("migrate")
def command() -> None:
    """Create the database if it is missing and apply every migration (safe to repeat)."""
    url = settings().database_url
    created = migrate(url)
    verb = "created and migrated" if created else "migrated"
    click.echo(f"database {database_label(url)} {verb} to the latest schema")
