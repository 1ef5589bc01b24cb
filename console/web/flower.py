"""How to start Flower with authentication on and no secret on its command line.

Flower is the workers' control plane (it can shut down workers and revoke tasks), so it
never runs anonymously: basic auth with ``PRODUCTSYNC_FLOWER_USERNAME`` /
``PRODUCTSYNC_FLOWER_PASSWORD``, and its API refuses unauthenticated calls. The
credentials travel in Flower's own environment variable ``FLOWER_BASIC_AUTH``, never in
argv, where any local user could read them with ``ps``.

`productsync run` starts ``flower_command(settings)`` with
``{**os.environ, **flower_environment(settings)}`` (the environment also carries the
``PRODUCTSYNC_*`` settings, from which the Celery app reads its broker); docker-compose
sets the same variables.
"""

from __future__ import annotations

from workers.settings import ConfigError, Settings


def flower_command(
    settings: Settings, *, address: str = "127.0.0.1", executable: str = "celery"
) -> list[str]:
    """The argv that starts Flower for the ``tasks.app`` Celery app (no secrets in it).

    The broker comes from ``PRODUCTSYNC_*`` in the environment, like every worker's: a
    broker URL can carry a Redis password, so it is not put on the command line either.
    """
    return [
        executable,
        "-A",
        "tasks.app",
        "flower",
        f"--address={address}",
        f"--port={settings.flower_port}",
        # Tasks only ever carry ids (G5), but results and tracebacks need not be kept here.
        "--max_tasks=10000",
    ]


def flower_environment(settings: Settings) -> dict[str, str]:
    """Environment variables that turn Flower's basic auth on and its anonymous API off.

    Raises `ConfigError` for credentials Flower cannot represent: its ``basic_auth`` list
    is comma-separated and each entry is ``user:password``.
    """
    user = settings.flower_username
    password = settings.flower_password.reveal()
    if not user or not password:
        raise ConfigError(
            "PRODUCTSYNC_FLOWER_USERNAME and PRODUCTSYNC_FLOWER_PASSWORD must both be set: "
            "Flower never runs without authentication"
        )
    if ":" in user or "," in user:
        raise ConfigError("PRODUCTSYNC_FLOWER_USERNAME must not contain ':' or ','")
    if "," in password:
        raise ConfigError("PRODUCTSYNC_FLOWER_PASSWORD must not contain ','")
    return {
        "FLOWER_BASIC_AUTH": f"{user}:{password}",
        "FLOWER_UNAUTHENTICATED_API": "false",
    }
