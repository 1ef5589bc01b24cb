"""Real services for tests: a fresh Postgres database on the shared server (or on the one
`./dev test` names in PRODUCTSYNC_TEST_PG), and throwaway Redis servers on free ports (so
no test ever touches the shared Redis)."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg

from console import localservers
from console.localservers import free_port as free_port  # re-exported for the tests

PG_ADMIN_DSN = os.environ.get("PRODUCTSYNC_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")


@contextmanager
def fresh_database() -> Iterator[str]:
    """A new empty database; yields its SQLAlchemy URL and drops it afterwards."""
    name = f"productsync_t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base = PG_ADMIN_DSN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://", 1)
    try:
        yield f"{base}/{name}"
    finally:
        with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


class RedisServer(localservers.RedisServer):
    """A throwaway redis-server in a temp folder (the system's, else the embedded one)."""

    def __init__(self, *, persistence: bool = False) -> None:
        folder = Path(tempfile.mkdtemp(prefix="productsync-redis-"))
        super().__init__(folder, persistence=persistence)

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


@contextmanager
def redis_server(*, persistence: bool = False) -> Iterator[RedisServer]:
    server = RedisServer(persistence=persistence)
    server.start()
    try:
        yield server
    finally:
        server.close()


# The system's server programs, hidden by `path_without` to stand for a machine without them.
SERVER_PROGRAMS = frozenset({"pg_ctl", "initdb", "postgres", "pg_ctlcluster", "redis-server"})


def path_without(hidden: frozenset[str], folder: Path) -> str:
    """A PATH of one folder holding links to every program on PATH except ``hidden``."""
    folder.mkdir(parents=True, exist_ok=True)
    for directory in os.environ.get("PATH", "").split(os.pathsep):
        try:
            entries = sorted(Path(directory).iterdir())
        except OSError:
            continue
        for entry in entries:
            link = folder / entry.name
            if entry.name in hidden or link.is_symlink() or not os.access(entry, os.X_OK):
                continue
            if entry.is_file():
                link.symlink_to(entry)
    return str(folder)


def embedded_postgres_unreachable() -> str | None:
    """Why the embedded PostgreSQL cannot run from this checkout, or None. As root it runs
    as another user (`localservers.server_user`), who must reach its programs inside the
    venv: a checkout in a private folder (root's home, say) hides them."""
    bin_dir, user = localservers.embedded_pg_bin(), localservers.server_user()
    if bin_dir is None or user is None:
        return None
    runuser = shutil.which("runuser") or shutil.which("runuser", path="/usr/sbin:/sbin")
    probe = [runuser or "runuser", "-u", user, "--", "test", "-x", str(bin_dir / "postgres")]
    if subprocess.run(probe, check=False).returncode == 0:
        return None
    return f"PostgreSQL runs as {user!r} here, who cannot reach {bin_dir} (a private folder)"
