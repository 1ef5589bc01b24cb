"""Every command and subcommand explains itself."""

from __future__ import annotations

import click

from console.cli import cli
from tests.cli.conftest import invoke


def _paths(group: click.Group, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    found = []
    for name, command in group.commands.items():
        found.append((*prefix, name))
        if isinstance(command, click.Group):
            found += _paths(command, (*prefix, name))
    return found


def test_every_command_has_help() -> None:
    paths = _paths(cli)
    assert ("accounts", "add") in paths and ("full-sync",) in paths
    for path in paths:
        result = invoke(*path, "--help")
        assert result.exit_code == 0, (path, result.stderr)
        assert result.stdout.startswith("Usage: productsync " + " ".join(path)), path
        assert len(result.stdout.splitlines()) > 3, path


def test_unknown_command_is_one_line() -> None:
    result = invoke("frobnicate")
    assert result.exit_code == 2
    assert "No such command 'frobnicate'" in result.stderr and "Traceback" not in result.stderr
