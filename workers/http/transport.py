"""Pooled `requests` sessions and the one function that sends a vendor request.

Every call has explicit connect and read timeouts; transport failures become
`TransientError` (with ``outcome_unknown`` when the vendor may have acted); nothing is
retried here (adapters have ``max_retries=0``: Celery is the only retry layer). The
Authorization header is built from a `Secret` at the last moment and never logged.
"""

from __future__ import annotations

import base64
import http.cookiejar
import logging
import os
import threading
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import requests
from requests.adapters import HTTPAdapter

from workers.http import jsonwire
from workers.http.common import classify_exception
from workers.secret import Secret

log = logging.getLogger(__name__)

_sessions: dict[tuple[int, str], requests.Session] = {}
_lock = threading.Lock()
POOL_SIZE = 32


class _NoCookies(http.cookiejar.CookiePolicy):
    """Vendors' load-balancer cookies must not leak state between accounts."""

    netscape = True
    rfc2965 = hide_cookie2 = False

    def set_ok(self, cookie: Any, request: Any) -> bool:
        return False

    def return_ok(self, cookie: Any, request: Any) -> bool:
        return False

    def domain_return_ok(self, domain: str, request: Any) -> bool:
        return False

    def path_return_ok(self, path: str, request: Any) -> bool:
        return False


def session_for(system: str) -> requests.Session:
    """This process's pooled session for a vendor (re-created after fork)."""
    key = (os.getpid(), system)
    session = _sessions.get(key)
    if session is None:
        with _lock:
            session = _sessions.get(key)
            if session is None:
                session = requests.Session()
                # With trust_env, requests re-reads proxy and netrc settings from the
                # environment on every call (~12 ms per product in the benchmark): read
                # them once here instead.
                session.trust_env = False
                session.proxies.update(_environment_proxies())
                session.cookies.set_policy(_NoCookies())
                adapter = HTTPAdapter(pool_connections=4, pool_maxsize=POOL_SIZE, max_retries=0)
                session.mount("http://", adapter)
                session.mount("https://", adapter)
                session.headers["User-Agent"] = "productsync/0.1"
                _sessions[key] = session
    return session


def _environment_proxies() -> dict[str, str]:
    """Proxies from the environment (HTTPS_PROXY etc.), resolved once per session.

    ``NO_PROXY`` is not applied per host once ``trust_env`` is off, so when it is set the
    environment is honoured only when no proxy is configured at all (the common case)."""
    proxies = {k: v for k, v in urllib.request.getproxies().items() if k in ("http", "https")}
    if proxies and urllib.request.getproxies().get("no"):
        log.warning("NO_PROXY is ignored by productsync: every vendor call uses the proxy")
    return proxies


def close_all() -> None:
    """Close this process's pooled sessions (and forget inherited ones after fork)."""
    with _lock:
        for (pid, _), session in list(_sessions.items()):
            if pid == os.getpid():
                session.close()
        _sessions.clear()


@dataclass(frozen=True)
class Timeouts:
    connect: float
    read: float


def bearer(token: Secret) -> dict[str, str]:
    return {"Authorization": f"Bearer {token.reveal()}"}


def basic(user: str, password: Secret) -> dict[str, str]:
    raw = f"{user}:{password.reveal()}".encode()
    return {"Authorization": "Basic " + base64.b64encode(raw).decode()}


def send(
    system: str,
    method: str,
    url: str,
    *,
    timeouts: Timeouts,
    auth: Mapping[str, str] | None = None,
    params: Mapping[str, Any] | None = None,
    json_body: Any = None,
    form: Mapping[str, str] | None = None,
    text_body: str | None = None,
    headers: Mapping[str, str] | None = None,
) -> requests.Response:
    """Send one request; return the response whatever its status, or raise a classified
    `TransientError` when no complete response arrived."""
    all_headers = {"Accept": "application/json", **(headers or {}), **(auth or {})}
    data: bytes | Mapping[str, str] | None = None
    if json_body is not None:
        data = jsonwire.dumps(json_body)
        all_headers["Content-Type"] = "application/json"
    elif text_body is not None:
        data = text_body.encode("utf-8")
        all_headers.setdefault("Content-Type", "application/text")
    elif form is not None:
        data = form
    try:
        response = session_for(system).request(
            method,
            url,
            params=params,
            data=data,
            headers=all_headers,
            timeout=(timeouts.connect, timeouts.read),
            allow_redirects=False,
        )
        response.content  # noqa: B018 - read the whole body inside the try (truncation)
    except requests.RequestException as exc:
        error = classify_exception(exc, system, method)
        log.warning("%s %s %s: %s", system, method, _path(url), error.message)
        raise error from None
    log.debug("%s %s %s -> %s", system, method, _path(url), response.status_code)
    return response


def _path(url: str) -> str:
    """The URL without its query string (queries can hold SKUs and request ids)."""
    return url.split("?", 1)[0]
