"""The vendors' OAuth token endpoints: code exchange and refresh.

HubSpot: form body with client id and secret (``/oauth/v1/token``; v3 takes the same body).
QBO: form body, client credentials in HTTP Basic auth. Answers become `TokenGrant`; an
``invalid_grant`` (or HubSpot's ``BAD_REFRESH_TOKEN``) becomes `ReauthRequired`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from workers.errors import AuthRefused, ReauthRequired, SyncError, TransientError
from workers.http import Timeouts, basic, parse_body, send
from workers.http.common import VENDOR_NAMES
from workers.http.redact import redact
from workers.secret import Secret
from workers.settings import Settings


@dataclass(frozen=True)
class TokenGrant:
    access_token: Secret
    refresh_token: Secret | None
    access_expires_at: datetime | None
    refresh_expires_at: datetime | None
    scopes: str | None = None
    portal_id: str | None = None  # HubSpot hub_id, when the endpoint says


def refresh(system: str, refresh_token: Secret, settings: Settings) -> TokenGrant:
    return _token_call(
        system, {"grant_type": "refresh_token", "refresh_token": refresh_token}, settings
    )


def exchange_code(system: str, code: Secret, settings: Settings) -> TokenGrant:
    return _token_call(
        system,
        {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": settings.oauth_redirect_uri,
        },
        settings,
    )


def _token_call(system: str, fields: dict[str, Any], settings: Settings) -> TokenGrant:
    form = {k: (v.reveal() if isinstance(v, Secret) else v) for k, v in fields.items()}
    secrets: list[Secret] = [v for v in fields.values() if isinstance(v, Secret)]
    if system == "hubspot":
        url = settings.effective_hubspot_token_url
        form["client_id"] = settings.hubspot_client_id
        form["client_secret"] = settings.hubspot_client_secret.reveal()
        secrets.append(settings.hubspot_client_secret)
        auth = None
    else:
        url = settings.effective_quickbooks_token_url
        auth = basic(settings.quickbooks_client_id, settings.quickbooks_client_secret)
        secrets.append(settings.quickbooks_client_secret)
    timeouts = Timeouts(settings.http_connect_timeout, settings.http_read_timeout)
    response = send(system, "POST", url, timeouts=timeouts, auth=auth, form=form)
    body = parse_body(response)
    if response.status_code == 200 and isinstance(body, dict) and body.get("access_token"):
        return _grant(body)
    raise _token_error(system, response.status_code, body, secrets)


def _grant(body: dict[str, Any]) -> TokenGrant:
    now = datetime.now(UTC)
    expires_in = body.get("expires_in")
    refresh_in = body.get("x_refresh_token_expires_in")
    refresh_token = body.get("refresh_token")
    hub = body.get("hub_id")
    return TokenGrant(
        access_token=Secret(str(body["access_token"])),
        refresh_token=Secret(str(refresh_token)) if refresh_token else None,
        access_expires_at=now + timedelta(seconds=int(expires_in)) if expires_in else None,
        refresh_expires_at=now + timedelta(seconds=int(refresh_in)) if refresh_in else None,
        scopes=_scopes(body.get("scope") or body.get("scopes")),
        portal_id=str(hub) if hub is not None else None,
    )


def _scopes(value: Any) -> str | None:
    if isinstance(value, list):
        return " ".join(str(v) for v in value)
    return str(value) if value else None


def _token_error(system: str, status: int, body: Any, secrets: list[Secret]) -> SyncError:
    vendor = VENDOR_NAMES[system]
    envelope = body if isinstance(body, dict) else {}
    error = str(envelope.get("error") or envelope.get("status") or "")
    description = redact(
        str(envelope.get("error_description") or envelope.get("message") or ""), secrets
    )
    common: dict[str, Any] = {"system": system, "status": status, "vendor_code": error or None}
    if status >= 500 or status == 429 or status == 200:
        return TransientError(
            f"{vendor} token endpoint answered {status}; the token request will be retried",
            **common,
        )
    if error in ("invalid_client", "unauthorized_client") or status == 401:
        return AuthRefused(
            f"{vendor} token endpoint refused the app's client credentials ({error or status}); "
            "check PRODUCTSYNC_" + system.upper() + "_CLIENT_ID and _CLIENT_SECRET",
            **common,
        )
    return ReauthRequired(
        f"{vendor} refused the refresh token ({error or status}"
        + (f": {description}" if description else "")
        + f"); reconnect the account with `productsync connect {system}`",
        **common,
    )
