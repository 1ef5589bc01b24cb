"""`productsync worker-health`: does each Celery worker on this host still consume?

The docker-compose health check of every worker service runs it. It reads what the
workers' own liveness watchdogs wrote to Redis (`workers.liveness`); a worker whose
watchdog went silent, or on which messages have waited past its deadline, is overdue.
"""

from __future__ import annotations

import socket
import sys

import click
import redis

from console.output import echo_json, json_option, settings
from workers import liveness


@click.command("worker-health")
@click.option(
    "--worker",
    "node",
    help="Check this worker (its Celery node name, e.g. sync@host) instead of every "
    "worker on this host.",
)
@json_option
def command(node: str | None, as_json: bool) -> None:
    """Exit 0 when every worker checked proves it consumes, 1 when one is overdue or none
    is found (a health check for docker-compose, systemd or Kubernetes)."""
    client = redis.Redis.from_url(settings().redis_url, socket_connect_timeout=2, socket_timeout=2)
    try:
        found = liveness.read_all(client)
    except redis.RedisError:
        raise click.ClickException("cannot reach Redis (check PRODUCTSYNC_REDIS_URL)") from None
    finally:
        client.close()
    host = "@" + socket.gethostname()
    workers = [w for w in found if (w.node == node if node else w.node.endswith(host))]
    report = [w.as_json() for w in workers]
    if as_json:
        echo_json({"workers": report})
    elif not workers:
        click.echo(f"no worker liveness found for {node or 'this host (' + host[1:] + ')'}")
    for worker in report if not as_json else []:
        verdict = f"OVERDUE: {worker['overdue']}" if worker["overdue"] else "ok"
        click.echo(f"{worker['worker']}: {verdict}")
    if not workers or any(w["overdue"] for w in report):
        sys.exit(1)
