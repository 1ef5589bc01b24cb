"""``/healthz`` and ``/readyz``: for load balancers, container health checks and people.

Both are open to anyone and answer one word: nothing about accounts, versions or which
dependency failed (that goes to the web process's log instead).

* ``/healthz``: the process answers requests;
* ``/readyz``: it can also do its work: PostgreSQL answers, Redis answers, and the
  database's schema is at the migration this code expects.
"""

from __future__ import annotations

import logging

import redis
from flask import Blueprint, Flask, current_app
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from console.web.state import db, settings
from models.migrate import head_revision

log = logging.getLogger(__name__)

bp = Blueprint("probes", __name__)


def _plain(word: str, status: int) -> tuple[str, int, dict[str, str]]:
    return word + "\n", status, {"Content-Type": "text/plain; charset=utf-8"}


@bp.get("/healthz")
def healthz() -> tuple[str, int, dict[str, str]]:
    return _plain("ok", 200)


@bp.get("/readyz")
def readyz() -> tuple[str, int, dict[str, str]]:
    problem = _problem()
    if problem:
        log.warning("not ready: %s", problem)
        return _plain("not ready", 503)
    return _plain("ready", 200)


def _problem() -> str | None:
    try:
        with db() as session:
            current = session.scalar(text("SELECT version_num FROM alembic_version"))
    except SQLAlchemyError as exc:
        return f"PostgreSQL unreadable ({type(exc).__name__}; is it up and migrated?)"
    expected = current_app.config["PRODUCTSYNC_SCHEMA_HEAD"]
    if current != expected:
        return (
            f"database schema at {current}, this code needs {expected}: run `productsync migrate`"
        )
    try:
        _probe_redis().ping()
    except redis.RedisError as exc:
        return f"Redis unreachable ({type(exc).__name__})"
    return None


def _probe_redis() -> redis.Redis:
    # Short timeouts of its own: a health check must answer before its caller gives up.
    client = current_app.extensions.get("productsync_probe_redis")
    if client is None:
        client = redis.Redis.from_url(
            settings().redis_url, socket_connect_timeout=2, socket_timeout=2
        )
        current_app.extensions["productsync_probe_redis"] = client
    return client  # type: ignore[no-any-return]


def init_app(app: Flask) -> None:
    app.config["PRODUCTSYNC_SCHEMA_HEAD"] = head_revision()
    app.register_blueprint(bp)
