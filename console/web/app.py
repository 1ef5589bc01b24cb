"""The application factory: configuration, security headers, blueprints and template helpers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from flask import Flask, redirect, url_for
from werkzeug import Response

from console.output import duration
from console.views import direction_label
from console.web import accounts, auth, csrf, errors, history, metrics, probes, runs, webhooks
from console.web.auth import LoginThrottle
from workers.settings import Settings

SESSION_LIFETIME = timedelta(hours=12)

# No inline script or style anywhere: the pages only load this site's own CSS and JS.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)


def create_app(settings: Settings, *, login_throttle: LoginThrottle | None = None) -> Flask:
    """The WSGI app for ``settings``. ``login_throttle`` lets tests shorten the delays."""
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY=settings.web_secret_key.reveal(),
        SESSION_COOKIE_NAME="productsync_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        # Behind https the cookie must never travel over plain http.
        SESSION_COOKIE_SECURE=settings.public_url.startswith("https://"),
        PERMANENT_SESSION_LIFETIME=SESSION_LIFETIME,
        MAX_CONTENT_LENGTH=1024 * 1024,
        PRODUCTSYNC_SETTINGS=settings,
        LOGIN_THROTTLE=login_throttle or LoginThrottle(),
    )
    # Order matters: the login guard runs before the CSRF check, so an anonymous POST is
    # told to log in rather than that its token is stale.
    auth.init_app(app)
    csrf.init_app(app)
    errors.init_app(app)
    probes.init_app(app)
    metrics.init_app(app)
    for module in (history, runs, accounts, webhooks):
        app.register_blueprint(module.bp)

    app.jinja_env.filters["when"] = format_when
    # The same wording as the CLI ("42s", "3m 05s", "2h 10m").
    app.jinja_env.filters["duration"] = duration
    app.jinja_env.filters["direction"] = direction_label
    app.after_request(_security_headers)

    @app.get("/")
    def home() -> Response:
        return redirect(url_for("history.index"))

    return app


def format_when(value: datetime | None) -> str:
    if value is None:
        return "—"
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _security_headers(response: Response) -> Response:
    headers: dict[str, Any] = {
        "Content-Security-Policy": CONTENT_SECURITY_POLICY,
        "X-Content-Type-Options": "nosniff",
        "X-Frame-Options": "DENY",
        "Referrer-Policy": "same-origin",
    }
    for name, value in headers.items():
        response.headers.setdefault(name, value)
    if response.mimetype != "text/css" and response.mimetype != "text/javascript":
        # Pages show live operational data and a CSRF token: never cache them.
        response.headers.setdefault("Cache-Control", "no-store")
    return response
