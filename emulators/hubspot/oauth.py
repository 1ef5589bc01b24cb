"""OAuth 2 for the emulated public app: an authorize page that approves at once and
redirects with a code, the token endpoints (v1: form body or query; v3: form body only),
token introspection and refresh-token deletion.

Error bodies follow the OAuth endpoints' own style: ``{"status": "BAD_REFRESH_TOKEN",
"message": "missing or unknown refresh token", "correlationId": …}`` with HTTP 400.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from aiohttp import web

from emulators.core import json_response
from emulators.hubspot.auth import ALL_SCOPES, Grant
from emulators.hubspot.errors import CORRELATION_HEADER, correlation_id

if TYPE_CHECKING:
    from emulators.hubspot.app import HubSpot

SECRET_FIELDS = frozenset({"client_secret", "refresh_token", "code", "code_verifier"})


def oauth_error(status: str, message: str, http_status: int = 400) -> web.Response:
    correlation = correlation_id()
    return json_response(
        {"status": status, "message": message, "correlationId": correlation},
        http_status,
        {CORRELATION_HEADER: correlation},
    )


def add_routes(router: web.UrlDispatcher, hub: HubSpot) -> None:
    async def authorize(request: web.Request) -> web.StreamResponse:
        q = request.query
        app = hub.credentials.apps.get(q.get("client_id", ""))
        redirect_uri = q.get("redirect_uri", "")
        if app is None or not redirect_uri.startswith(("http://", "https://")):
            return web.Response(
                status=400,
                text="<html><body>Invalid client_id or redirect_uri</body></html>",
                content_type="text/html",
            )
        portal_id = q.get("portal_id") or next(iter(hub.portals))
        if portal_id not in hub.portals:
            return web.Response(status=400, text="unknown portal", content_type="text/plain")
        scopes = frozenset(q.get("scope", "").split()) or ALL_SCOPES
        code = hub.credentials.new_code(Grant(portal_id, app.client_id, scopes, redirect_uri))
        params = {"code": code}
        if "state" in q:
            params["state"] = q["state"]
        sep = "&" if "?" in redirect_uri else "?"
        raise web.HTTPFound(f"{redirect_uri}{sep}{urlencode(params)}")

    async def token(request: web.Request, *, query_allowed: bool) -> web.StreamResponse:
        form: dict[str, Any] = dict(await request.post())
        if query_allowed:
            form = {**dict(request.query), **form}
        elif any(name in request.query for name in SECRET_FIELDS):
            return oauth_error("BAD_REQUEST", "credentials are accepted in the request body only")
        app = hub.credentials.apps.get(str(form.get("client_id", "")))
        if app is None:
            return oauth_error("BAD_CLIENT_ID", "missing or unknown client id")
        if form.get("client_secret") != app.client_secret:
            return oauth_error("BAD_CLIENT_SECRET", "missing or invalid client secret")
        grant_type = form.get("grant_type")
        if grant_type == "authorization_code":
            grant = hub.credentials.codes.pop(str(form.get("code", "")), None)
            if grant is None or grant.client_id != app.client_id:
                return oauth_error("BAD_AUTH_CODE", "missing or unknown auth code")
            if form.get("redirect_uri") != grant.redirect_uri:
                return oauth_error(
                    "BAD_REDIRECT_URI", "redirect_uri does not match the one used for the code"
                )
            refresh = hub.credentials.new_refresh_token(grant)
        elif grant_type == "refresh_token":
            refresh = str(form.get("refresh_token", ""))
            grant = hub.credentials.refresh_tokens.get(refresh)
            if grant is None or grant.client_id != app.client_id:
                return oauth_error("BAD_REFRESH_TOKEN", "missing or unknown refresh token")
            if hub.knob("rotate_refresh_tokens"):
                del hub.credentials.refresh_tokens[refresh]
                refresh = hub.credentials.new_refresh_token(grant)
        else:
            return oauth_error("BAD_GRANT_TYPE", f"unsupported grant_type {grant_type!r}")
        expires_in = int(hub.knob("oauth_expires_in"))
        access = hub.credentials.issue(grant, expires_in)
        return json_response(
            {
                "access_token": access.value,
                "refresh_token": refresh,
                "expires_in": expires_in,
                "token_type": "bearer",
                "token_use": "access_token",
                "hub_id": int(grant.portal_id),
                "user_id": grant.user_id,
                "scopes": sorted(grant.scopes),
            }
        )

    async def token_v1(request: web.Request) -> web.StreamResponse:
        return await token(request, query_allowed=True)

    async def token_v3(request: web.Request) -> web.StreamResponse:
        return await token(request, query_allowed=False)

    async def access_token_info(request: web.Request) -> web.StreamResponse:
        found = hub.credentials.tokens.get(request.match_info["token"])
        if found is None or found.kind != "oauth" or (found.expires_at or 0) <= time.time():
            return oauth_error("NOT_FOUND", "access token not found or expired", 404)
        return json_response(
            {
                "token": request.match_info["token"],
                "token_type": "access",
                "hub_id": int(found.portal_id),
                "app_id": int(found.app_id),
                "user_id": 0,
                "scopes": sorted(found.scopes),
                "expires_in": int((found.expires_at or 0) - time.time()),
            }
        )

    async def delete_refresh_token(request: web.Request) -> web.StreamResponse:
        if hub.credentials.refresh_tokens.pop(request.match_info["token"], None) is None:
            return oauth_error("NOT_FOUND", "refresh token not found", 404)
        return web.Response(status=204)

    router.add_get("/oauth/authorize", authorize)
    router.add_post("/oauth/v1/token", token_v1)
    router.add_post("/oauth/v3/token", token_v3)
    router.add_get("/oauth/v1/access-tokens/{token}", access_token_info)
    router.add_delete("/oauth/v1/refresh-tokens/{token}", delete_refresh_token)
