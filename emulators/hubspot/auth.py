"""Credentials: private-app tokens per portal, and an OAuth 2 app (authorize, code
exchange, refresh) whose access tokens expire.

Unknown or expired bearer tokens → 401; a token without the needed scope → 403
``MISSING_SCOPES``. Token values never appear in error bodies.
"""

from __future__ import annotations

import itertools
import secrets
import time
from dataclasses import dataclass, field

from emulators.hubspot.errors import HubSpotError

# The default development identity (README "Emulators").
DEV_PORTAL = "12345678"
DEV_TOKEN = "pat-na1-emulator-dev-token"
DEV_CLIENT_ID = "emulator-hubspot-client"
DEV_CLIENT_SECRET = "emulator-hubspot-secret"

READ_SCOPE = "crm.objects.products.read"
WRITE_SCOPE = "crm.objects.products.write"
SCHEMA_READ_SCOPE = "crm.schemas.products.read"
SCHEMA_WRITE_SCOPE = "crm.schemas.products.write"
LEGACY_SCOPE = "e-commerce"
ALL_SCOPES = frozenset(
    {READ_SCOPE, WRITE_SCOPE, SCHEMA_READ_SCOPE, SCHEMA_WRITE_SCOPE, LEGACY_SCOPE, "oauth"}
)

AUTH_MESSAGE = (
    "Authentication credentials not found. This API supports OAuth 2.0 authentication and "
    "you can find more details at https://developers.hubspot.com/docs/methods/auth/oauth-overview"
)


@dataclass
class Token:
    value: str
    portal_id: str
    kind: str  # "private" | "oauth"
    app_id: str
    scopes: frozenset[str]
    expires_at: float | None = None  # epoch seconds; None: never (private apps)
    client_id: str | None = None


@dataclass
class Grant:
    """What an authorization code or a refresh token stands for."""

    portal_id: str
    client_id: str
    scopes: frozenset[str]
    redirect_uri: str = ""
    user_id: int = 0


@dataclass
class OAuthApp:
    client_id: str
    client_secret: str
    app_id: str


@dataclass
class Credentials:
    tokens: dict[str, Token] = field(default_factory=dict)
    refresh_tokens: dict[str, Grant] = field(default_factory=dict)
    codes: dict[str, Grant] = field(default_factory=dict)
    apps: dict[str, OAuthApp] = field(default_factory=dict)
    _app_ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1_000_001))

    def add_app(self, client_id: str, client_secret: str) -> OAuthApp:
        app = OAuthApp(client_id, client_secret, str(next(self._app_ids)))
        self.apps[client_id] = app
        return app

    def private_token(
        self, portal_id: str, value: str | None = None, scopes: frozenset[str] = ALL_SCOPES
    ) -> Token:
        value = value or f"pat-na1-{secrets.token_hex(4)}-{secrets.token_hex(12)}"
        token = Token(value, portal_id, "private", str(next(self._app_ids)), scopes)
        self.tokens[value] = token
        return token

    def issue(self, grant: Grant, expires_in: int) -> Token:
        app = self.apps[grant.client_id]
        value = "emu-" + secrets.token_urlsafe(48)
        token = Token(
            value,
            grant.portal_id,
            "oauth",
            app.app_id,
            grant.scopes,
            time.time() + expires_in,
            grant.client_id,
        )
        self.tokens[value] = token
        return token

    def new_refresh_token(self, grant: Grant) -> str:
        value = f"na1-{secrets.token_hex(2)}-{secrets.token_hex(2)}-{secrets.token_hex(16)}"
        self.refresh_tokens[value] = grant
        return value

    def new_code(self, grant: Grant) -> str:
        code = secrets.token_urlsafe(24)
        self.codes[code] = grant
        return code

    def expire(self, value: str) -> bool:
        token = self.tokens.get(value)
        if token is None:
            return False
        if token.kind == "private":
            del self.tokens[value]  # a rotated/deleted private-app token just stops working
        else:
            token.expires_at = time.time() - 1
        return True

    def lookup(self, header: str | None) -> Token | None:
        """The live token in an ``Authorization`` header (expired ones too: see check)."""
        if not header or not header.startswith("Bearer "):
            return None
        return self.tokens.get(header[7:].strip())

    def check(self, header: str | None, scopes: tuple[str, ...], expired_category: str) -> Token:
        """The caller's token if it is live and holds one of ``scopes``, else 401/403."""
        token = self.lookup(header)
        if token is None:
            raise HubSpotError(401, "INVALID_AUTHENTICATION", AUTH_MESSAGE)
        if token.expires_at is not None and token.expires_at <= time.time():
            ago = int(time.time() - token.expires_at) // 60
            raise HubSpotError(
                401,
                expired_category,
                f"The OAuth token used to make this call expired {ago} minute(s) ago.",
            )
        if token.scopes.isdisjoint(scopes) and LEGACY_SCOPE not in token.scopes:
            raise HubSpotError(
                403,
                "MISSING_SCOPES",
                "This app hasn't been granted all required scopes to make this call. "
                "Read more about required scopes here: https://developers.hubspot.com/scopes.",
                extra={
                    "errors": [
                        {
                            "message": "One or more of the following scopes are required.",
                            "context": {"requiredGranularScopes": list(scopes)},
                        }
                    ],
                    "links": {"scopes": "https://developers.hubspot.com/scopes"},
                },
            )
        return token
