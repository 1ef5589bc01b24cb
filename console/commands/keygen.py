"""`productsync keygen`: a new encryption key for tokens at rest."""

from __future__ import annotations

import click
from cryptography.fernet import Fernet


@click.command("keygen")
def command() -> None:
    """Print a new PRODUCTSYNC_ENCRYPTION_KEY (keep it secret, keep it safe)."""
    click.echo(Fernet.generate_key().decode())
