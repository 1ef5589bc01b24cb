"""The OAuth authorization-code flow for connecting an account from the command line.

`authorization_url` is what a person opens in a browser; `CallbackServer` is a one-shot
local HTTP server on the port of ``settings.oauth_redirect_uri`` that receives the
vendor's redirect (``code``, ``state``, and for QBO ``realmId``), checks ``state`` and
stops. The code is then exchanged with `workers.auth.oauth.exchange_code`. The request
line holding the code is never logged.
"""

from __future__ import annotations

import secrets
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from workers.errors import AuthRefused
from workers.secret import Secret
from workers.settings import Settings

SCOPES = {
    "hubspot": "crm.objects.products.read crm.objects.products.write",
    "quickbooks": "com.intuit.quickbooks.accounting",
}
_PAGE = b"<html><body><h1>productsync</h1><p>%s</p><p>You can close this window.</p></body></html>"


def new_state() -> str:
    return secrets.token_urlsafe(24)


def authorization_url(system: str, settings: Settings, state: str) -> str:
    if system == "hubspot":
        base, client_id = settings.effective_hubspot_authorize_url, settings.hubspot_client_id
    else:
        base, client_id = settings.effective_quickbooks_authorize_url, settings.quickbooks_client_id
    if not client_id:
        raise AuthRefused(
            f"PRODUCTSYNC_{system.upper()}_CLIENT_ID is not set; register the app with the "
            "vendor and configure its client id and secret first",
            system=system,
            code="not_configured",
        )
    params = {
        "client_id": client_id,
        "response_type": "code",
        "scope": SCOPES[system],
        "redirect_uri": settings.oauth_redirect_uri,
        "state": state,
    }
    return f"{base}{'&' if '?' in base else '?'}{urlencode(params)}"


class Callback:
    """What the vendor's redirect carried; ``code`` stays a `Secret`."""

    def __init__(self, query: dict[str, list[str]]) -> None:
        def one(name: str) -> str:
            return query.get(name, [""])[0]

        self.code = Secret(one("code"))
        self.state = one("state")
        self.realm_id = one("realmId") or None
        self.error = one("error") or None


class CallbackServer:
    """Answers exactly one request on the redirect URI's path, then stops."""

    def __init__(self, redirect_uri: str, expected_state: str) -> None:
        parts = urlsplit(redirect_uri)
        self.path = parts.path or "/"
        self.expected_state = expected_state
        self.result: Callback | None = None
        self._done = threading.Event()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                target = urlsplit(self.path)
                if target.path != server.path:
                    self.send_error(404)
                    return
                callback = Callback(parse_qs(target.query))
                ok = callback.state == server.expected_state and not callback.error
                message = b"Connected." if ok else b"The connection was not completed."
                self.send_response(200 if ok else 400)
                self.send_header("Content-Type", "text/html")
                self.end_headers()
                self.wfile.write(_PAGE % message)
                server.result = callback
                server._done.set()

            def log_message(self, format: str, *args: Any) -> None:
                pass  # the request line carries the authorization code

        self._http = HTTPServer((parts.hostname or "127.0.0.1", parts.port or 80), Handler)
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def _serve(self) -> None:
        while not self._done.is_set():
            self._http.handle_request()

    def __enter__(self) -> CallbackServer:
        self._http.timeout = 0.2
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._done.set()
        self._thread.join(timeout=2)
        self._http.server_close()

    def wait(self, timeout: float, system: str) -> Callback:
        """The callback, checked; `AuthRefused` on timeout, denial or a forged state."""
        if not self._done.wait(timeout) or self.result is None:
            raise AuthRefused(
                f"no answer from {system} within {timeout:.0f} s; run the command again and "
                "open the printed URL",
                system=system,
                code="authorization_timeout",
            )
        result = self.result
        if result.error:
            raise AuthRefused(
                f"{system} authorization was refused ({result.error})",
                system=system,
                code="authorization_refused",
            )
        if not secrets.compare_digest(result.state, self.expected_state):
            raise AuthRefused(
                "the authorization answer had the wrong state; not connecting",
                system=system,
                code="authorization_state",
            )
        if not result.code:
            raise AuthRefused(
                f"{system} sent no authorization code", system=system, code="authorization_refused"
            )
        return result
