"""`productsync run`: the whole service on one machine, until Ctrl-C.

In order: migrations (the database is created when missing); the HubSpot and QuickBooks
emulators, seeded with a sample catalog, for each vendor whose base URL points at this
machine (a real vendor URL means no emulator); two Celery workers (`poll`+`sync`, and
`bulk`, so a full sync never delays incremental work); exactly one beat; Flower with
basic auth; the web page. With the emulators and an empty database, a `demo` account
wired to the emulators' dev identities is created and fully synced at once.

Once up, a process that exits (a crash, or a worker that found itself deaf) is restarted
with a backoff; the service stops only on Ctrl-C, or when one process cannot stay up
(`console.supervisor`: 5 exits within 5 minutes).
"""

from __future__ import annotations

import os
import signal
import socket
import sys
import time
from pathlib import Path
from types import FrameType
from urllib.parse import urlsplit

import click
import redis
import requests

from console.commands.migrate import migrate
from console.output import database_label
from console.output import settings as get_settings
from console.supervisor import RESTART_LIMIT, RESTART_WINDOW, CannotStayUp, Child, Supervisor
from console.web.flower import flower_command, flower_environment
from workers.settings import Settings

LOOPBACK = {"127.0.0.1", "localhost", "::1"}
STARTUP_SECONDS = 60.0
# `python -c` runs the CLI the same way whether or not the console script is on PATH.
_PRODUCTSYNC = [
    sys.executable,
    "-c",
    "import sys; from console.cli import main; main(sys.argv[1:])",
]
_CELERY = [sys.executable, "-m", "celery", "-A", "tasks.app"]


class _Stop(Exception):
    """Ctrl-C or SIGTERM: stop everything."""


def emulated(url: str) -> int | None:
    """The port to serve an emulator on, when ``url`` points at this machine."""
    parts = urlsplit(url)
    if parts.hostname not in LOOPBACK:
        return None
    return parts.port or (443 if parts.scheme == "https" else 80)


@click.command("run")
@click.option(
    "--sample-size",
    type=click.IntRange(min=0),
    default=50,
    show_default=True,
    help="Products seeded in each emulator (plus a set of deliberately awkward ones).",
)
@click.option(
    "--concurrency",
    type=click.IntRange(min=1),
    default=2,
    show_default=True,
    help="Processes per Celery worker.",
)
@click.option(
    "--state-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path(".productsync"),
    show_default=True,
    help="Where logs and the beat schedule go.",
)
def command(sample_size: int, concurrency: int, state_dir: Path) -> None:
    """Run everything on this machine until Ctrl-C: migrations, emulators (unless real
    vendor URLs are configured), workers, one beat, Flower and the web page."""
    # Imported here: the emulators (aiohttp) would slow down every other command's start.
    from console.demo import DEMO_ACCOUNT, emulator_client_settings, prepare_demo

    settings = get_settings()
    hubspot_port = emulated(settings.hubspot_api_base)
    quickbooks_port = emulated(settings.quickbooks_api_base)
    extra_env: dict[str, str] = {"PYTHONUNBUFFERED": "1"}
    if hubspot_port or quickbooks_port:
        extra_env.update(emulator_client_settings(settings))
        settings = Settings.from_env({**os.environ, **extra_env})
    _preflight(settings, [p for p in (hubspot_port, quickbooks_port) if p])
    created = migrate(settings.database_url)
    click.echo(
        f"database {database_label(settings.database_url)} "
        f"{'created and ' if created else ''}migrated"
    )
    env = {**os.environ, **extra_env}
    log_dir = state_dir / "logs"
    supervisor = Supervisor(log_dir, grace_seconds=10.0)
    previous = {sig: signal.signal(sig, _raise_stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        urls = _start(
            supervisor,
            settings,
            env,
            state_dir,
            hubspot_port,
            quickbooks_port,
            sample_size=sample_size,
            concurrency=concurrency,
        )
        demo = None
        if hubspot_port and quickbooks_port:
            run_id = prepare_demo(settings)
            demo = (DEMO_ACCOUNT, run_id) if run_id is not None else None
        _announce(settings, urls, supervisor, log_dir, demo)
        while True:
            try:
                for line in supervisor.watch():
                    click.echo(f"{time.strftime('%H:%M:%S')} {line}", err=True)
            except CannotStayUp as gave_up:
                _report_death(gave_up.child)
                click.echo(
                    f"{gave_up.child.name} cannot stay up ({RESTART_LIMIT} restarts within "
                    f"{RESTART_WINDOW:.0f}s): stopping",
                    err=True,
                )
                sys.exit(1)
            time.sleep(0.5)
    except _Stop:
        click.echo("\nstopping...")
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        supervisor.stop()
    click.echo("stopped")


def _raise_stop(signum: int, frame: FrameType | None) -> None:
    raise _Stop()


def _preflight(settings: Settings, emulator_ports: list[int]) -> None:
    """Fail early, in one line, on what would otherwise be a dead child process."""
    client = redis.Redis.from_url(settings.effective_broker_url, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.RedisError:
        raise click.ClickException(
            "cannot reach Redis (check PRODUCTSYNC_REDIS_URL / PRODUCTSYNC_BROKER_URL; "
            "`./dev run` starts a local one)"
        ) from None
    finally:
        client.close()
    wanted = {
        "PRODUCTSYNC_WEB_PORT": (settings.web_host, settings.web_port),
        "PRODUCTSYNC_FLOWER_PORT": ("127.0.0.1", settings.flower_port),
    }
    for port in emulator_ports:
        wanted[f"emulator port {port}"] = ("127.0.0.1", port)
    for what, (host, port) in wanted.items():
        with socket.socket() as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                s.bind((host, port))
            except OSError:
                raise click.ClickException(
                    f"port {port} is already in use ({what}); stop what holds it or choose "
                    "another port"
                ) from None


def _start(
    supervisor: Supervisor,
    settings: Settings,
    env: dict[str, str],
    state_dir: Path,
    hubspot_port: int | None,
    quickbooks_port: int | None,
    *,
    sample_size: int,
    concurrency: int,
) -> dict[str, str]:
    urls: dict[str, str] = {}
    if hubspot_port or quickbooks_port:
        only = (
            "both"
            if hubspot_port and quickbooks_port
            else ("hubspot" if hubspot_port else "quickbooks")
        )
        args = [*_PRODUCTSYNC, "emulators", "--only", only, "--seed", str(sample_size), "--tricky"]
        if hubspot_port:
            args += ["--hubspot-port", str(hubspot_port)]
            urls["HubSpot emulator"] = settings.hubspot_api_base
        if quickbooks_port:
            args += ["--quickbooks-port", str(quickbooks_port)]
            urls["QuickBooks emulator"] = settings.quickbooks_api_base
        args += _webhook_targets(settings, bool(hubspot_port), bool(quickbooks_port))
        child = supervisor.start("emulators", args, env)
        for label in ("HubSpot emulator", "QuickBooks emulator"):
            if label in urls:
                _wait_http(child, f"{urls[label].rstrip('/')}/__emulator__/knobs", supervisor)
    common = ["--loglevel", "INFO", "--concurrency", str(concurrency)]
    supervisor.start(
        "worker-sync", [*_CELERY, "worker", "-Q", "poll,sync", "-n", "sync@%h", *common], env
    )
    supervisor.start(
        "worker-bulk", [*_CELERY, "worker", "-Q", "bulk", "-n", "bulk@%h", *common], env
    )
    state_dir.mkdir(parents=True, exist_ok=True)
    supervisor.start(
        "beat",
        [
            *_CELERY,
            "beat",
            "--loglevel",
            "INFO",
            "--schedule",
            str(state_dir / "celerybeat-schedule"),
        ],
        env,
    )
    flower = supervisor.start(
        "flower",
        [*_CELERY[:3], *flower_command(settings)[1:]],
        {**env, **flower_environment(settings)},
    )
    web = supervisor.start(
        "web",
        [*_PRODUCTSYNC, "web", "--host", settings.web_host, "--port", str(settings.web_port)],
        env,
    )
    host = "127.0.0.1" if settings.web_host in ("0.0.0.0", "::") else settings.web_host
    urls["web page"] = f"http://{host}:{settings.web_port}/"
    urls["Flower"] = f"http://127.0.0.1:{settings.flower_port}/"
    _wait_http(web, urls["web page"], supervisor)
    _wait_http(flower, urls["Flower"], supervisor)
    return urls


def _webhook_targets(settings: Settings, hubspot: bool, quickbooks: bool) -> list[str]:
    """The emulators' webhook targets: this run's web page, for each emulator whose
    deliveries it can verify (its secret is the emulator's development one)."""
    from emulators.hubspot.auth import DEV_CLIENT_SECRET
    from emulators.quickbooks.webhooks import DEV_VERIFIER_TOKEN

    host = "127.0.0.1" if settings.web_host in ("0.0.0.0", "::") else settings.web_host
    base = f"http://{host}:{settings.web_port}/webhooks"
    args: list[str] = []
    if hubspot and settings.effective_hubspot_webhook_secret.reveal() == DEV_CLIENT_SECRET:
        args += ["--hubspot-webhook-url", f"{base}/hubspot"]
    token = settings.quickbooks_webhook_verifier_token.reveal()
    if quickbooks and token == DEV_VERIFIER_TOKEN:
        args += ["--quickbooks-webhook-url", f"{base}/quickbooks"]
    return args


def _wait_http(child: Child, url: str, supervisor: Supervisor) -> None:
    """Until ``url`` answers at all (any status: Flower and the web page ask for a login)."""
    deadline = time.monotonic() + STARTUP_SECONDS
    while True:
        dead = supervisor.exited()
        if dead is not None:
            _report_death(dead)
            raise click.ClickException(f"{dead.name} did not start")
        try:
            requests.get(url, timeout=2, allow_redirects=False)
            return
        except requests.RequestException:
            if time.monotonic() > deadline:
                raise click.ClickException(
                    f"{child.name} did not answer on {url} within {STARTUP_SECONDS:.0f}s "
                    f"(log: {child.log_path})"
                ) from None
            time.sleep(0.2)


def _announce(
    settings: Settings,
    urls: dict[str, str],
    supervisor: Supervisor,
    log_dir: Path,
    demo: tuple[str, int] | None,
) -> None:
    click.echo("")
    width = max(len(label) for label in urls)
    for label, url in urls.items():
        click.echo(f"  {label.ljust(width)}  {url}")
    if settings.is_development:
        click.echo(
            f"\n  web login: {settings.web_username} / {settings.web_password.reveal()}   "
            f"Flower login: {settings.flower_username} / {settings.flower_password.reveal()}"
            "   (shown in development only)"
        )
    click.echo(f"\n  logs: {log_dir}/ ({', '.join(c.name for c in supervisor.children)})")
    if demo is not None:
        name, run_id = demo
        click.echo(
            f"  demo account {name!r} (HubSpot → QuickBooks) created; full sync "
            f"#{run_id} running: productsync history --account {name}"
        )
    click.echo("\nready. Ctrl-C stops everything.")


def _report_death(child: Child) -> None:
    click.echo(
        f"\n{child.name} exited with status {child.process.returncode}; last lines of "
        f"{child.log_path}:\n{child.log_tail()}",
        err=True,
    )
