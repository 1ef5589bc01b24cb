"""Login, logout and the guard that puts every page and endpoint behind the login.

One operator account, configured by ``PRODUCTSYNC_WEB_USERNAME`` /
``PRODUCTSYNC_WEB_PASSWORD``. Both are compared in constant time (always both, so the
response time does not tell which one was wrong). A session counts as logged in only
while it carries `login_stamp` of the credentials configured now, so changing the
password (or the secret key) ends every session. Failed logins are throttled per client
address: each failure is answered after a growing delay, and after `LoginThrottle.limit`
failures inside the window the address is refused outright (429) until the window passes.
The throttle lives in the web process; `productsync web` serves with one process and
many threads, so every request sees the same counters.
"""

from __future__ import annotations

import hmac
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from flask import (
    Blueprint,
    Flask,
    abort,
    current_app,
    jsonify,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from werkzeug import Response

from console.web import csrf
from console.web.state import settings
from workers.settings import Settings

bp = Blueprint("auth", __name__)

# Endpoints reachable without a session: the login form itself, the static CSS/JS
# (which are the public source code of this project, nothing account-specific), the
# health probes (one word each), /metrics (which checks its own bearer token) and the
# vendors' webhooks (which check the vendor's signature).
PUBLIC_ENDPOINTS = frozenset(
    {
        "auth.login",
        "static",
        "probes.healthz",
        "probes.readyz",
        "metrics.metrics",
        "webhooks.hubspot",
        "webhooks.quickbooks",
    }
)


@dataclass
class LoginThrottle:
    """Per-address failed-login counter with a sliding window, safe across threads."""

    limit: int = 10
    window_seconds: float = 900.0
    base_delay_seconds: float = 0.5
    max_delay_seconds: float = 4.0
    clock: Callable[[], float] = time.monotonic
    _failures: dict[str, list[float]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def _recent(self, key: str, now: float) -> list[float]:
        recent = [t for t in self._failures.get(key, ()) if now - t < self.window_seconds]
        if recent:
            self._failures[key] = recent
        else:
            self._failures.pop(key, None)
        return recent

    def blocked_for(self, key: str) -> float:
        """Seconds until `key` may try again (0 when it may try now)."""
        with self._lock:
            now = self.clock()
            recent = self._recent(key, now)
            if len(recent) < self.limit:
                return 0.0
            return max(0.0, recent[0] + self.window_seconds - now)

    def failure(self, key: str) -> float:
        """Record a failure; returns how long to hold the answer back."""
        with self._lock:
            now = self.clock()
            recent = self._recent(key, now)
            recent.append(now)
            self._failures[key] = recent
            return min(self.max_delay_seconds, self.base_delay_seconds * 2 ** (len(recent) - 1))

    def success(self, key: str) -> None:
        with self._lock:
            self._failures.pop(key, None)


def credentials_match(settings: Settings, username: str, password: str) -> bool:
    """Constant-time check of both fields; never short-circuits on the username."""
    user_ok = hmac.compare_digest(username.encode(), settings.web_username.encode())
    password_ok = hmac.compare_digest(password.encode(), settings.web_password.reveal().encode())
    return user_ok and password_ok


def login_stamp(settings: Settings) -> str:
    """What a session must carry to count as logged in: a keyed hash of the configured
    credentials, so changing the username or password ends every existing session."""
    configured = f"{settings.web_username}\0{settings.web_password.reveal()}".encode()
    return hmac.new(settings.web_secret_key.reveal().encode(), configured, "sha256").hexdigest()


def logged_in() -> bool:
    stamp = session.get("auth")
    return isinstance(stamp, str) and hmac.compare_digest(stamp, login_stamp(settings()))


def _safe_next(target: str | None) -> str:
    # Only same-site paths: "//evil.example" and "https://…" would be open redirects.
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return url_for("history.index")


def _client_key() -> str:
    return request.remote_addr or "unknown"


@bp.route("/login", methods=["GET", "POST"])
def login() -> Response | str | tuple[str, int]:
    throttle: LoginThrottle = current_app.config["LOGIN_THROTTLE"]
    next_path = request.values.get("next")
    if request.method == "GET":
        if logged_in():
            return redirect(_safe_next(next_path))
        return render_template("login.html", next=next_path, error=None)

    key = _client_key()
    wait = throttle.blocked_for(key)
    if wait > 0:
        message = (
            f"Too many failed logins from this address. Try again in {int(wait // 60) + 1} "
            "minute(s)."
        )
        return render_template("login.html", next=next_path, error=message), 429

    username = request.form.get("username", "")
    password = request.form.get("password", "")
    if not credentials_match(settings(), username, password):
        time.sleep(throttle.failure(key))
        message = "Wrong username or password."
        return render_template("login.html", next=next_path, error=message), 401

    throttle.success(key)
    session.clear()
    session.permanent = True
    session["user"] = settings().web_username
    session["auth"] = login_stamp(settings())
    csrf.rotate()
    return redirect(_safe_next(next_path))


@bp.post("/logout")
def logout() -> Response:
    session.clear()
    return redirect(url_for("auth.login"))


def _require_login() -> Response | tuple[Response, int] | None:
    if request.endpoint in PUBLIC_ENDPOINTS:
        return None
    if logged_in():
        return None
    if request.endpoint is None:
        # Unknown URL: answer 404 only to people who are logged in, so the URL space is
        # not explorable anonymously.
        return redirect(url_for("auth.login"))
    if request.path.endswith(".json") or request.accept_mimetypes.best == "application/json":
        return jsonify(error="login_required", message="Log in first."), 401
    if request.method != "GET":
        abort(401)
    return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))


def init_app(app: Flask) -> None:
    app.before_request(_require_login)
    app.jinja_env.globals["logged_in"] = logged_in
    app.register_blueprint(bp)
