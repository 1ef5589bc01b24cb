"""Error pages that say what happened and what to do, never a stack trace or a secret."""

from __future__ import annotations

import logging

import redis
import sqlalchemy.exc
from flask import Flask, jsonify, render_template, request
from kombu.exceptions import OperationalError as BrokerUnavailable
from werkzeug import Response
from werkzeug.exceptions import HTTPException

log = logging.getLogger(__name__)

# What a person should do next, per status. The exception's own description (set by the
# view that aborted) comes first when there is one.
ADVICE = {
    400: "The request was not understood. Go back, reload the page and try again.",
    401: "You need to log in to do this.",
    403: "You are not allowed to do this.",
    404: "There is nothing at this address. It may have been mistyped, or the account, "
    "product or run it points at does not exist.",
    405: "This address does not accept that kind of request. Use the buttons on the pages.",
    429: "Too many requests. Wait a minute and try again.",
    500: "Something went wrong on the server. The problem has been logged; try again, and "
    "if it keeps happening, check the service logs.",
    503: "A service this page needs (the database or the task queue) is not reachable. "
    "Check that PostgreSQL and Redis are running, then try again.",
}


def _wants_json() -> bool:
    return request.path.endswith(".json") or request.accept_mimetypes.best == "application/json"


def _render(status: int, title: str, message: str) -> tuple[Response | str, int]:
    if _wants_json():
        return jsonify(error=title, message=message), status
    return render_template("error.html", status=status, title=title, message=message), status


def handle_http(exc: HTTPException) -> tuple[Response | str, int]:
    status = exc.code or 500
    default: str | None = getattr(type(exc), "description", None)
    description = exc.description if exc.description != default else None
    message = description or ADVICE.get(status, default or "")
    return _render(status, exc.name, message)


def handle_unexpected(exc: Exception) -> tuple[Response | str, int]:
    # Logged with the traceback for the operator; the page shows only the advice.
    log.exception("unhandled error on %s %s", request.method, request.path)
    return _render(500, "Internal Server Error", ADVICE[500])


def handle_unavailable(exc: Exception) -> tuple[Response | str, int]:
    log.warning(
        "backing service unavailable on %s %s: %s", request.method, request.path, type(exc).__name__
    )
    return _render(503, "Service Unavailable", ADVICE[503])


def init_app(app: Flask) -> None:
    app.register_error_handler(HTTPException, handle_http)
    for unavailable in (
        sqlalchemy.exc.OperationalError,
        sqlalchemy.exc.InterfaceError,
        redis.ConnectionError,
        redis.TimeoutError,
        BrokerUnavailable,
    ):
        app.register_error_handler(unavailable, handle_unavailable)
    app.register_error_handler(Exception, handle_unexpected)
