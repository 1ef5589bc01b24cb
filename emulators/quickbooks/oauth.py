"""Intuit OAuth 2.0 as the emulator plays it: apps, access and refresh tokens, codes.

* Access tokens last ``access_token_ttl`` seconds (3600) and belong to one realm; an
  unknown or expired one is a 401 gateway fault, one used on another realm a 403.
* Refresh tokens rotate (switch ``refresh_rotation``): ``every`` — each refresh returns a
  new value and the old one is at once ``invalid_grant``; ``period`` — the same value is
  returned until ``refresh_rotation_period`` seconds after it was issued, then a new one,
  and the old stays usable until the new one is first used (the reported 24 h behaviour).
* Revoking any token of a grant revokes the whole grant (its refresh token chain).
* ``authorization_code``: codes come from the auto-approving ``/connect/oauth2`` and are
  single use.

Token values are random; nothing here is logged. Time comes from an injectable clock.
"""

from __future__ import annotations

import base64
import binascii
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from emulators.quickbooks import faults
from emulators.quickbooks.switches import Switches

__all__ = ["AccessToken", "App", "Grant", "OAuthError", "TokenStore"]

WallClock = Callable[[], float]


class OAuthError(Exception):
    """A token-endpoint refusal: ``{"error": code}`` with ``status``."""

    def __init__(self, error: str, status: int = 400, description: str | None = None) -> None:
        super().__init__(error)
        self.error = error
        self.status = status
        self.description = description

    def body(self) -> dict[str, str]:
        out = {"error": self.error}
        if self.description:
            out["error_description"] = self.description
        return out


@dataclass
class App:
    client_id: str
    client_secret: str


@dataclass
class Grant:
    """One connection of an app to a realm; refresh tokens chain within it."""

    client_id: str
    realm_id: str
    revoked: bool = False


@dataclass
class RefreshToken:
    value: str
    grant: Grant
    issued_at: float
    expires_at: float
    superseded: bool = False
    successor: RefreshToken | None = None


@dataclass
class AccessToken:
    value: str
    grant: Grant
    expires_at: float


@dataclass
class _Code:
    client_id: str
    realm_id: str
    redirect_uri: str


@dataclass
class TokenStore:
    clock: WallClock = time.time
    apps: dict[str, App] = field(default_factory=dict)
    access: dict[str, AccessToken] = field(default_factory=dict)
    refresh: dict[str, RefreshToken] = field(default_factory=dict)
    codes: dict[str, _Code] = field(default_factory=dict)

    # -- apps and issuing ------------------------------------------------------------------

    def register_app(self, client_id: str, client_secret: str) -> App:
        existing = self.apps.get(client_id)
        if existing is not None and existing.client_secret != client_secret:
            raise ValueError(f"app {client_id} already exists with another secret")
        app = existing or App(client_id, client_secret)
        self.apps[client_id] = app
        return app

    def issue(self, client_id: str, realm_id: str, switches: Switches, *,
              refresh_value: str | None = None) -> tuple[AccessToken, RefreshToken]:
        """A new grant with a fresh access token and refresh token (admin / code exchange)."""
        grant = Grant(client_id, realm_id)
        return self._access_for(grant, switches), self._refresh_for(grant, switches,
                                                                    refresh_value)

    def _access_for(self, grant: Grant, switches: Switches) -> AccessToken:
        token = AccessToken("eyJ" + secrets.token_urlsafe(48), grant,
                            self.clock() + switches.access_token_ttl)
        self.access[token.value] = token
        return token

    def _refresh_for(self, grant: Grant, switches: Switches,
                     value: str | None = None) -> RefreshToken:
        now = self.clock()
        token = RefreshToken(value or "AB11" + secrets.token_urlsafe(36), grant, now,
                             now + switches.refresh_token_ttl)
        self.refresh[token.value] = token
        return token

    # -- the token endpoint ----------------------------------------------------------------

    def client(self, authorization: str | None) -> App:
        """The app named by HTTP Basic client authentication, or 401 invalid_client."""
        if not authorization or not authorization.startswith("Basic "):
            raise OAuthError("invalid_client", 401)
        try:
            decoded = base64.b64decode(authorization[6:], validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            raise OAuthError("invalid_client", 401) from None
        client_id, _, secret = decoded.partition(":")
        app = self.apps.get(client_id)
        if app is None or not secrets.compare_digest(app.client_secret, secret):
            raise OAuthError("invalid_client", 401)
        return app

    def grant_refresh(self, app: App, value: str, switches: Switches) -> dict[str, Any]:
        token = self.refresh.get(value)
        now = self.clock()
        if (token is None or token.grant.client_id != app.client_id or token.superseded
                or token.grant.revoked or token.expires_at <= now):
            raise OAuthError("invalid_grant", description="Token has been expired or revoked.")
        self._retire_predecessors(token)
        if token.successor is not None:
            current = token.successor  # still in its grace period: hand out the new one
        elif switches.refresh_rotation == "every" or (
            now - token.issued_at >= switches.refresh_rotation_period
        ):
            current = self._refresh_for(token.grant, switches)
            if switches.refresh_rotation == "every":
                token.superseded = True
            else:
                token.successor = current
        else:
            current = token
            current.expires_at = now + switches.refresh_token_ttl  # rolling inactivity expiry
        return self._response(self._access_for(token.grant, switches), current)

    def _retire_predecessors(self, token: RefreshToken) -> None:
        for other in self.refresh.values():
            if other.successor is token:
                other.superseded = True
                other.successor = None

    def grant_code(self, app: App, code: str, redirect_uri: str | None,
                   switches: Switches) -> dict[str, Any]:
        pending = self.codes.pop(code, None)
        if pending is None or pending.client_id != app.client_id:
            raise OAuthError("invalid_grant")
        if redirect_uri is not None and redirect_uri != pending.redirect_uri:
            raise OAuthError("invalid_grant", description="redirect_uri mismatch")
        access, refresh = self.issue(app.client_id, pending.realm_id, switches)
        return self._response(access, refresh)

    def _response(self, access: AccessToken, refresh: RefreshToken) -> dict[str, Any]:
        now = self.clock()
        return {
            "token_type": "bearer",
            "access_token": access.value,
            "expires_in": max(round(access.expires_at - now), 0),
            "refresh_token": refresh.value,
            "x_refresh_token_expires_in": max(round(refresh.expires_at - now), 0),
        }

    def authorize(self, client_id: str, redirect_uri: str, realm_id: str) -> str:
        if client_id not in self.apps:
            raise OAuthError("invalid_client", 401)
        code = "AB11" + secrets.token_urlsafe(24)
        self.codes[code] = _Code(client_id, realm_id, redirect_uri)
        return code

    def revoke(self, value: str) -> None:
        """Revoke the grant a refresh or access token belongs to (unknown: no-op, as RFC 7009)."""
        token = self.refresh.get(value) or self.access.get(value)
        if token is not None:
            token.grant.revoked = True

    # -- bearer checks ---------------------------------------------------------------------

    def peek(self, authorization: str | None) -> AccessToken | None:
        """The access token in a header (no validity checks): the throttle key's source."""
        if authorization is None or not authorization.startswith("Bearer "):
            return None
        return self.access.get(authorization[7:].strip())

    def check(self, authorization: str | None, realm_id: str) -> AccessToken:
        """Gateway authentication: 401 unless valid and unexpired, 403 on another realm."""
        if authorization is None or not authorization.startswith("Bearer "):
            raise faults.unauthorized("Token is missing.")
        value = authorization[7:].strip()
        token = self.access.get(value)
        if token is None:
            raise faults.unauthorized("Token invalid.")
        if token.grant.revoked or token.expires_at <= self.clock():
            raise faults.unauthorized("Token expired.")
        if token.grant.realm_id != realm_id:
            raise faults.forbidden("The application is not authorized for this company.")
        return token

    def expire(self, *, value: str | None = None, realm_id: str | None = None) -> int:
        """Expire one access token, or every access token of a realm; returns how many."""
        now = self.clock()
        count = 0
        for token in self.access.values():
            if token.value == value or (realm_id is not None and token.grant.realm_id == realm_id):
                token.expires_at = now - 1
                count += 1
        return count
