"""`productsync migrate` creates a missing database and is safe to repeat."""

from __future__ import annotations

import uuid

import psycopg
import pytest
from sqlalchemy import create_engine, inspect

from tests.cli.conftest import invoke
from tests.support.services import PG_ADMIN_DSN, free_port
from workers.settings import get_settings


def test_migrate_creates_the_database_then_is_idempotent(monkeypatch: pytest.MonkeyPatch) -> None:
    name = f"productsync_t_{uuid.uuid4().hex[:12]}"
    base = PG_ADMIN_DSN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://", 1)
    url = f"{base}/{name}"
    monkeypatch.setenv("PRODUCTSYNC_DATABASE_URL", url)
    get_settings.cache_clear()
    try:
        first = invoke("migrate")
        assert first.exit_code == 0, first.stderr
        assert f"{name} created and migrated" in first.stdout
        engine = create_engine(url)
        try:
            tables = set(inspect(engine).get_table_names())
        finally:
            engine.dispose()
        assert {"accounts", "jobs", "sync_history", "alembic_version"} <= tables
        again = invoke("migrate")
        assert again.exit_code == 0
        assert f"{name} migrated" in again.stdout and "created" not in again.stdout
    finally:
        get_settings.cache_clear()
        with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_unreachable_database_is_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"postgresql+psycopg://postgres:hunter2@127.0.0.1:{free_port()}/nowhere"
    monkeypatch.setenv("PRODUCTSYNC_DATABASE_URL", url)
    get_settings.cache_clear()
    try:
        for args in (("migrate",), ("accounts", "list")):
            result = invoke(*args)
            assert result.exit_code == 1
            assert len(result.stderr.strip().splitlines()) == 1
            assert "cannot reach" in result.stderr
            assert "hunter2" not in result.stderr  # the password is never shown
    finally:
        get_settings.cache_clear()
