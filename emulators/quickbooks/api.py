"""The vendor-facing HTTP API (what production clients call), as aiohttp handlers.

Data routes (``/v3/company/{realm}/…``) pass the gateway first — bearer token (401/403),
concurrency and rolling-window throttles (429), the Builder-tier block — then are metered
(Core for writes, CorePlus for reads, queries and CDC), replay a remembered ``requestid``
for writes, run, and answer ``{<Entity>|QueryResponse|CDCResponse|BatchItemResponse|Fault,
"time"}``. OAuth routes: ``POST /oauth2/v1/tokens/bearer``, ``POST
/v2/oauth2/tokens/revoke`` and the auto-approving ``GET /connect/oauth2``.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlencode

from aiohttp import web

from emulators.core import REFUSED
from emulators.quickbooks import faults, operations
from emulators.quickbooks.entities import item_json, render_account, render_item
from emulators.quickbooks.jsonio import BadJson, dumps, format_time_envelope, loads
from emulators.quickbooks.oauth import OAuthError
from emulators.quickbooks.query_exec import run_query_text
from emulators.quickbooks.realm import Realm
from emulators.quickbooks.state import QboState

__all__ = ["OVER_CONCURRENCY", "QboApi", "classify_path", "fault_response", "gateway_response"]

OVER_CONCURRENCY = web.RequestKey("qbo_over_concurrency", bool)
_CLIENT_ID = web.RequestKey("qbo_client_id", str)
_JSON = "application/json"
_tids = itertools.count(1)

Operation = Callable[[web.Request, Realm], Awaitable[dict[str, Any]]]

# resource segment of a non-read data call -> ledger kind
_DATA_KINDS = {"item": "write", "query": "query", "cdc": "cdc", "batch": "batch"}


def classify_path(method: str, path: str) -> tuple[str, str | None]:
    """(ledger kind, realm id) from the URL alone: cheap, runs on every request."""
    parts = path.split("/")
    if len(parts) >= 5 and parts[1] == "v3" and parts[2] == "company":
        resource = parts[4]
        if len(parts) >= 6 or (method == "GET" and resource in ("item", "account")):
            return "read", parts[3]
        return _DATA_KINDS.get(resource, "other"), parts[3]
    if path.startswith(("/oauth2/", "/v2/oauth2/", "/connect/")):
        return "auth", None
    return "other", None


def qbo_response(body: dict[str, Any], status: int = 200) -> web.Response:
    return web.Response(body=dumps(body), status=status, content_type=_JSON,
                        headers={"intuit_tid": f"1-{next(_tids):012x}"})


def gateway_response(fault: faults.GatewayFault) -> web.Response:
    return web.Response(body=dumps(fault.body(int(time.time() * 1000))), status=fault.status,
                        content_type=_JSON, headers=fault.headers)


def fault_response(fault: faults.QboFault, realm: Realm) -> web.Response:
    return qbo_response({"Fault": fault.fault_json(),
                         "time": format_time_envelope(realm.envelope_now(), realm.tz)},
                        fault.status)


async def _json_body(request: web.Request) -> Any:
    try:
        return loads(await request.read())
    except BadJson as exc:
        raise faults.bad_property(f"request body ({exc})") from None


class QboApi:
    def __init__(self, state: QboState) -> None:
        self.state = state

    def add_routes(self, app: web.Application) -> None:
        company = "/v3/company/{realm}"
        router = app.router
        router.add_post(company + "/item", self._data("core", self.write_item, replay=True))
        router.add_get(company + "/item/{id}", self._data("coreplus", self.read_item))
        router.add_get(company + "/account/{id}", self._data("coreplus", self.read_account))
        router.add_get(company + "/query", self._data("coreplus", self.query))
        router.add_post(company + "/query", self._data("coreplus", self.query))
        router.add_get(company + "/cdc", self._data("coreplus", self.cdc))
        router.add_post(company + "/batch", self._data(None, self.batch, replay=True,
                                                       is_batch=True))
        router.add_post("/oauth2/v1/tokens/bearer", self.token)
        router.add_post("/v2/oauth2/tokens/revoke", self.revoke)
        router.add_get("/connect/oauth2", self.authorize)

    # -- the gateway -----------------------------------------------------------------------

    def _data(self, tier: str | None, operation: Operation, *, replay: bool = False,
              is_batch: bool = False) -> Callable[[web.Request], Awaitable[web.Response]]:
        state = self.state

        async def handle(request: web.Request) -> web.Response:
            realm_id = request.match_info["realm"]
            switches = state.switches
            try:
                token = state.tokens.check(request.headers.get("Authorization"), realm_id)
                if request.get(OVER_CONCURRENCY):
                    raise state.throttle.over_concurrency(switches)
                key = (realm_id, token.grant.client_id)
                state.throttle.admit(key, is_batch=is_batch, switches=switches)
                if tier == "coreplus":
                    state.meter.check_coreplus(token.grant.client_id, switches)
                realm = state.realm(realm_id)
            except faults.GatewayFault as fault:
                return gateway_response(fault)
            if tier is not None:
                state.meter.count(realm_id, token.grant.client_id, tier)
            request[_CLIENT_ID] = token.grant.client_id
            request_id = request.query.get("requestid") if replay else None
            if request_id:
                remembered = realm.replay(request_id)
                if remembered is not None:
                    return web.Response(body=remembered[1], status=remembered[0],
                                        content_type=_JSON)
            try:
                body = await operation(request, realm)
                body["time"] = format_time_envelope(realm.envelope_now(), realm.tz)
                response = qbo_response(body)
            except faults.QboFault as fault:
                response = fault_response(fault, realm)
            if request_id and (response.status == 200 or switches.replay_errors):
                assert isinstance(response.body, bytes)
                realm.remember(request_id, (response.status, response.body))
            return response

        return handle

    # -- data operations -------------------------------------------------------------------

    async def write_item(self, request: web.Request, realm: Realm) -> dict[str, Any]:
        item = operations.write_item(realm, await _json_body(request), self.state.switches)
        return {"Item": render_item(item, realm.tz)}

    async def read_item(self, request: web.Request, realm: Realm) -> dict[str, Any]:
        return {"Item": item_json(realm.item(request.match_info["id"]), realm.tz)}

    async def read_account(self, request: web.Request, realm: Realm) -> dict[str, Any]:
        return {"Account": render_account(realm.account(request.match_info["id"]), realm.tz)}

    async def query(self, request: web.Request, realm: Realm) -> dict[str, Any]:
        if request.method == "POST":
            text = (await request.read()).decode("utf-8", "replace")
        else:
            text = request.query.get("query", "")
        return {"QueryResponse": run_query_text(text, realm, self.state.switches)}

    async def cdc(self, request: web.Request, realm: Realm) -> dict[str, Any]:
        query = request.query
        return {"CDCResponse": operations.cdc(realm, query.get("entities"),
                                              query.get("changedSince"), self.state.switches)}

    async def batch(self, request: web.Request, realm: Realm) -> dict[str, Any]:
        client_id = request[_CLIENT_ID]

        def meter(tier: str) -> None:
            self.state.meter.count(realm.realm_id, client_id, tier)

        body = await _json_body(request)
        answers = operations.batch(realm, body, self.state.switches, meter)
        request[REFUSED] = [str(a.get("bId")) for a in answers if "Fault" in a]
        return {"BatchItemResponse": answers}

    # -- OAuth -----------------------------------------------------------------------------

    async def token(self, request: web.Request) -> web.Response:
        tokens, switches = self.state.tokens, self.state.switches
        try:
            app = tokens.client(request.headers.get("Authorization"))
            form = await request.post()
            grant_type = form.get("grant_type")
            if grant_type == "refresh_token":
                value = form.get("refresh_token")
                if not isinstance(value, str) or not value:
                    raise OAuthError("invalid_request")
                body = tokens.grant_refresh(app, value, switches)
            elif grant_type == "authorization_code":
                code, redirect_uri = form.get("code"), form.get("redirect_uri")
                if not isinstance(code, str) or not code:
                    raise OAuthError("invalid_request")
                body = tokens.grant_code(
                    app, code, redirect_uri if isinstance(redirect_uri, str) else None,
                    switches)
            else:
                raise OAuthError("unsupported_grant_type")
        except OAuthError as exc:
            return web.json_response(exc.body(), status=exc.status)
        return web.json_response(body)

    async def revoke(self, request: web.Request) -> web.Response:
        try:
            self.state.tokens.client(request.headers.get("Authorization"))
            data = await _json_body(request)
        except OAuthError as exc:
            return web.json_response(exc.body(), status=exc.status)
        except faults.QboFault:
            return web.json_response({"error": "invalid_request"}, status=400)
        token = data.get("token") if isinstance(data, dict) else None
        if not isinstance(token, str):
            return web.json_response({"error": "invalid_request"}, status=400)
        self.state.tokens.revoke(token)
        return web.Response(status=200)

    async def authorize(self, request: web.Request) -> web.Response:
        """Auto-approves: redirects to ``redirect_uri?code=…&state=…&realmId=…``. The realm is
        ``realm_id`` when given (an emulator extension), else the app's first realm."""
        query = request.query
        client_id, redirect_uri = query.get("client_id", ""), query.get("redirect_uri", "")
        if query.get("response_type", "code") != "code" or not redirect_uri:
            return web.json_response({"error": "invalid_request"}, status=400)
        realm_id = query.get("realm_id") or next(
            (g.grant.realm_id for g in self.state.tokens.refresh.values()
             if g.grant.client_id == client_id), None)
        if realm_id is None or realm_id not in self.state.realms:
            return web.json_response({"error": "access_denied"}, status=400)
        try:
            code = self.state.tokens.authorize(client_id, redirect_uri, realm_id)
        except OAuthError as exc:
            return web.json_response(exc.body(), status=exc.status)
        params = {"code": code, "state": query.get("state", ""), "realmId": realm_id}
        separator = "&" if "?" in redirect_uri else "?"
        raise web.HTTPFound(f"{redirect_uri}{separator}{urlencode(params)}")
