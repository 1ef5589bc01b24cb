"""The `productsync` command line.

Each command group lives in its own module under `console.commands` and is listed in
`COMMANDS`. Errors the operator can fix (bad configuration, bad arguments, vendor
refusals) print one line and exit non-zero; they never show a traceback.
"""

from __future__ import annotations

import importlib
import sys

import click

from workers.errors import SyncError
from workers.settings import ConfigError

COMMANDS = [
    "keygen",
    "migrate",
    "accounts",
    "history",
    "status",
    "web",
    "audit",
    "direction",
    "mappings",
    "full_sync",
    "retry",
    "run",
    "emulators",
    "connect",
    "worker_health",
]


class OperatorError(click.ClickException):
    """A problem the operator can fix; printed as one line, exit status 1."""


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def cli() -> None:
    """Keep products in sync between HubSpot and QuickBooks Online."""


for _name in COMMANDS:
    cli.add_command(importlib.import_module(f"console.commands.{_name}").command)


def main(argv: list[str] | None = None) -> None:
    try:
        cli.main(args=argv, prog_name="productsync", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except ConfigError as exc:
        click.echo(f"configuration error: {exc}", err=True)
        sys.exit(2)
    except SyncError as exc:
        click.echo(f"error [{exc.code}]: {exc.message}", err=True)
        sys.exit(1)
    except KeyboardInterrupt:
        sys.exit(130)
