"""CSRF protection: one random token per session, required on every state-changing request.

The token lives in the signed session cookie and is echoed by every form as the hidden
field ``csrf_token`` (or by scripts as the ``X-CSRF-Token`` header). A request whose
token is missing or differs is refused with 400 before any view runs. The session cookie
is also ``SameSite=Lax``, so a cross-site form post does not even carry it; the token is
the second, explicit line of defence (and covers the login form, which has no session yet).
"""

from __future__ import annotations

import hmac
import secrets

from flask import Flask, abort, request, session

FIELD = "csrf_token"
HEADER = "X-CSRF-Token"
_SESSION_KEY = "csrf"
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# Vendors' webhook deliveries carry no session: their signature is checked instead.
SIGNED_ENDPOINTS = frozenset({"webhooks.hubspot", "webhooks.quickbooks"})


def csrf_token() -> str:
    """The session's token, created on first use (templates call this)."""
    token = session.get(_SESSION_KEY)
    if not isinstance(token, str) or not token:
        token = secrets.token_urlsafe(32)
        session[_SESSION_KEY] = token
    return token


def rotate() -> None:
    """A fresh token, e.g. after login, so a token seen before login is worthless after."""
    session[_SESSION_KEY] = secrets.token_urlsafe(32)


def _check() -> None:
    if request.method in _SAFE_METHODS or request.endpoint in SIGNED_ENDPOINTS:
        return
    expected = session.get(_SESSION_KEY)
    given = request.form.get(FIELD) or request.headers.get(HEADER) or ""
    if (
        not isinstance(expected, str)
        or not expected
        or not hmac.compare_digest(expected.encode(), given.encode())
    ):
        abort(
            400,
            description=(
                "This form was not accepted because its security token is missing or out of "
                "date (for example after a logout or a server restart). Go back, reload the "
                "page and submit it again."
            ),
        )


def init_app(app: Flask) -> None:
    app.before_request(_check)
    app.jinja_env.globals["csrf_token"] = csrf_token
