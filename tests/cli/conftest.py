"""Run the `productsync` CLI in-process against a migrated database of its own."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from click.testing import CliRunner

from console.cli import main
from models.migrate import upgrade
from tests.support.services import fresh_database
from workers.settings import get_settings


@dataclass
class Result:
    exit_code: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        return json.loads(self.stdout)


Invoke = Callable[..., Result]


@pytest.fixture(scope="module")
def cli_database() -> Iterator[str]:
    with fresh_database() as url:
        upgrade(url)
        yield url


def invoke(*args: str, input: str | None = None) -> Result:
    """`productsync ARGS` exactly as the console script runs it (errors included)."""
    runner = CliRunner()
    with runner.isolation(input=input) as (out, err, _):
        try:
            main(list(args))
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
        return Result(code, out.getvalue().decode(), err.getvalue().decode())


@pytest.fixture
def productsync(
    cli_database: str, redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Invoke]:
    monkeypatch.setenv("PRODUCTSYNC_DATABASE_URL", cli_database)
    monkeypatch.setenv("PRODUCTSYNC_REDIS_URL", redis_url)
    get_settings.cache_clear()
    yield invoke
    get_settings.cache_clear()


def add_account(productsync: Invoke, name: str, *extra: str) -> int:
    """`productsync accounts add NAME` for the emulators' dev portal and realm; its id."""
    result = productsync(
        "accounts",
        "add",
        name,
        "--hubspot-portal",
        "12345678",
        "--quickbooks-realm",
        "9130350000000001",
        "--direction",
        "hubspot_to_quickbooks",
        *extra,
        "--json",
    )
    assert result.exit_code == 0, result.stderr
    return int(result.json()["id"])
