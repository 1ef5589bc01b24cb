"""What every command shares: settings, one database session, account lookup, output.

Commands build plain data (dicts and lists) once and either print it for people or, with
``--json``, as JSON: the two views can never disagree. Problems the operator can fix
raise `click.ClickException` (one line, non-zero exit; `console.cli.main` prints it).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, TypeVar

import click
import redis
from sqlalchemy import select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError, ProgrammingError
from sqlalchemy.orm import Session

from models import Account
from models.db import session_scope
from workers.settings import Settings, get_settings

F = TypeVar("F", bound=Callable[..., Any])


def json_option(func: F) -> F:
    """The ``--json`` flag every data-printing command takes."""
    return click.option(
        "--json", "as_json", is_flag=True, help="Print machine-readable JSON instead of text."
    )(func)


def account_option(required: bool = True) -> Callable[[F], F]:
    def decorate(func: F) -> F:
        return click.option(
            "--account",
            "account_name",
            required=required,
            metavar="NAME",
            help="The account's name (see `productsync accounts list`).",
        )(func)

    return decorate


def settings() -> Settings:
    return get_settings()


def database_label(url: str) -> str:
    """Host, port and database of a URL, never its password."""
    parsed = make_url(url)
    return f"{parsed.host or 'localhost'}:{parsed.port or 5432}/{parsed.database}"


@contextmanager
def session(url: str | None = None) -> Iterator[Session]:
    """One unit of work on the configured database, with operator-friendly failures."""
    url = url or settings().database_url
    try:
        with session_scope(url) as db:
            yield db
    except OperationalError as exc:
        if "does not exist" in str(exc.orig):
            raise click.ClickException(
                f"database {database_label(url)} does not exist; run `productsync migrate`"
            ) from None
        raise click.ClickException(
            f"cannot reach the database at {database_label(url)} "
            "(is PostgreSQL running? check PRODUCTSYNC_DATABASE_URL)"
        ) from None
    except ProgrammingError as exc:
        if "UndefinedTable" in type(exc.orig).__name__ or "does not exist" in str(exc.orig):
            raise click.ClickException(
                f"database {database_label(url)} is not migrated; run `productsync migrate`"
            ) from None
        raise


@contextmanager
def redis_client(url: str | None = None) -> Iterator[redis.Redis]:
    """A Redis client (rate budgets, locks); unreachable Redis is a one-line error."""
    url = url or settings().redis_url
    client = redis.Redis.from_url(url, socket_connect_timeout=3)
    try:
        yield client
    except redis.RedisError:
        raise click.ClickException(
            "cannot reach Redis (is it running? check PRODUCTSYNC_REDIS_URL)"
        ) from None
    finally:
        client.close()


def account_named(db: Session, name: str) -> Account:
    account = db.scalar(select(Account).where(Account.name == name))
    if account is None:
        raise click.ClickException(
            f"no account named {name!r} (`productsync accounts list` shows them)"
        )
    return account


# -- rendering ---------------------------------------------------------------------------


def jsonable(value: Any) -> Any:
    """Plain JSON types: Decimal as a string (never a float), datetimes as ISO 8601 UTC."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [jsonable(v) for v in value]
    return value


def echo_json(data: Any) -> None:
    click.echo(json.dumps(jsonable(data), indent=2, ensure_ascii=False))


def cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, datetime):
        return moment(value)
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def moment(value: datetime | None) -> str:
    if value is None:
        return "never"
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%SZ")


def ago(value: datetime | None, now: datetime | None = None) -> str:
    """``"3m 12s ago"`` / ``"in 5m"``: how far a moment is from now."""
    if value is None:
        return "never"
    seconds = int(((now or datetime.now(UTC)) - value).total_seconds())
    text = duration(abs(seconds))
    return f"{text} ago" if seconds >= 0 else f"in {text}"


def duration(seconds: float) -> str:
    seconds = int(seconds)
    if seconds < 60:
        return f"{seconds}s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}m {seconds:02d}s"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours}h {minutes:02d}m"
    return f"{hours // 24}d {hours % 24}h"


def table(rows: Sequence[Mapping[str, Any]], columns: Sequence[tuple[str, str]]) -> str:
    """Left-aligned text table; ``columns`` are (key, header) pairs."""
    cells = [[cell(row.get(key)) for key, _ in columns] for row in rows]
    headers = [header for _, header in columns]
    widths = [max([len(h), *(len(r[i]) for r in cells)]) for i, h in enumerate(headers)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip()]
    lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in cells]
    return "\n".join(lines)


def fields(pairs: Sequence[tuple[str, Any]]) -> str:
    """``label: value`` lines, labels aligned."""
    width = max((len(label) for label, _ in pairs), default=0)
    return "\n".join(f"{(label + ':').ljust(width + 1)} {cell(value)}" for label, value in pairs)
