"""``/metrics``: the Prometheus scrape endpoint of the web process.

Who may read it: with ``PRODUCTSYNC_METRICS_TOKEN`` set, only a request carrying
``Authorization: Bearer <token>`` (what Prometheus' ``authorization`` scrape option
sends); a logged-in web session does not count, so the token is the one key. Without a
token, ``/metrics`` stays behind the web login like every page (a person can look at it
in the browser; Prometheus cannot scrape it until a token is set).
"""

from __future__ import annotations

import hmac

import redis
from flask import Blueprint, Flask, Response, abort, current_app, jsonify, request
from prometheus_client import CONTENT_TYPE_LATEST
from sqlalchemy.orm import Session, sessionmaker

from console.web.auth import logged_in
from console.web.exporter import RecordCollector, render
from console.web.state import redis_client, settings
from models.db import engine_for

bp = Blueprint("metrics", __name__)


@bp.get("/metrics")
def metrics() -> Response | tuple[Response, int]:
    token = settings().metrics_token
    if token:
        sent = request.headers.get("Authorization", "")
        expected = f"Bearer {token.reveal()}"
        if not hmac.compare_digest(sent.encode(), expected.encode()):
            response = jsonify(error="unauthorized", message="Send the metrics bearer token.")
            response.headers["WWW-Authenticate"] = 'Bearer realm="productsync metrics"'
            return response, 401
    elif not logged_in():
        abort(401)
    collector = RecordCollector(_read_only_session, redis_client(), _broker())
    return Response(render(collector), mimetype=CONTENT_TYPE_LATEST)


def _read_only_session() -> Session:
    # A plain session (no commit): the scrape only reads.
    return sessionmaker(bind=engine_for(settings().database_url))()


def _broker() -> redis.Redis:
    s = settings()
    if s.effective_broker_url == s.redis_url:
        return redis_client()
    client = current_app.extensions.get("productsync_broker")
    if client is None:
        client = redis.Redis.from_url(s.effective_broker_url, socket_timeout=5)
        current_app.extensions["productsync_broker"] = client
    return client  # type: ignore[no-any-return]


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
