"""QuickBooks admin routes, under ``/__emulator__/quickbooks/`` (never throttled, metered
or recorded in the ledger):

``GET    realms``                          ``{"realms": [{realm_id, company_offset, items}]}``
``POST   realms``                          ``{realm_id?, company_offset?, client_id?,
                                           client_secret?}`` → identity + first tokens (201)
``POST   realms/{realm}/tokens``           ``{client_id?}`` → a new access/refresh pair (201)
``POST   tokens/expire``                   ``{token}`` or ``{realm_id}`` → ``{"expired": n}``
``POST   tokens/revoke``                   ``{token}`` → the token's grant is revoked
``POST   realms/{realm}/seed``             ``{count, rng_seed?, tricky?}`` → ``{"created": n}``
``GET    realms/{realm}/items``            ``{"items": [...]}``: every Item, inactive too, by Id
``POST   realms/{realm}/items``            Item JSON → created Item (a person in the QBO UI)
``GET    realms/{realm}/items/{id}``       the Item JSON (no metering)
``PATCH  realms/{realm}/items/{id}``       fields → sparse edit without SyncToken
``POST   realms/{realm}/items/{id}/touch`` someone saves it: SyncToken and time move on
``POST   realms/{realm}/items/{id}/merge`` ``{"into": id}``: merged into that item (deleted;
                                           CDC shows it Deleted) → the surviving Item
``DELETE realms/{realm}/accounts/{id}``    hard delete (shows as Deleted in CDC)
``GET    metering``                        ``{"realms": {id: {core, coreplus}}, "apps": …}``
``DELETE metering``                        counters back to zero

Direct edits go through the vendor's validation: a refused one answers 400 with
``{"error": message, "fault": <Fault object>}``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from emulators.core import admin_handler, json_response, read_object
from emulators.quickbooks import faults
from emulators.quickbooks.entities import render_item
from emulators.quickbooks.jsonio import dumps, loads
from emulators.quickbooks.realm import Realm
from emulators.quickbooks.seed import seed_catalog
from emulators.quickbooks.state import DEFAULT_CLIENT_ID, QboState

__all__ = ["add_admin_routes"]

AdminFn = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _qbo_json(data: Any, status: int = 200) -> web.Response:
    # Item JSON holds Decimals: encode them as numbers, like the vendor routes do.
    return web.Response(body=dumps(data), status=status, content_type="application/json")


def _guard(fn: AdminFn) -> AdminFn:
    async def handle(request: web.Request) -> web.StreamResponse:
        try:
            return await fn(request)
        except faults.QboFault as fault:
            return json_response({"error": str(fault), "fault": fault.fault_json()}, 400)
        except faults.GatewayFault as fault:
            return json_response({"error": fault.detail}, 404)

    return admin_handler(handle)


def add_admin_routes(router: web.UrlDispatcher, prefix: str, state: QboState) -> None:
    def realm_of(request: web.Request) -> Realm:
        return state.realm(request.match_info["realm"])

    async def item_body(request: web.Request) -> dict[str, Any]:
        data = loads(await request.read() or b"{}")  # Decimal-preserving, unlike read_json
        if not isinstance(data, dict):
            raise ValueError("request body must be a JSON object")
        return data

    async def list_realms(request: web.Request) -> web.StreamResponse:
        return json_response({"realms": [
            {"realm_id": r.realm_id, "company_offset": r.company_offset, "items": len(r.items)}
            for r in state.realms.values()]})

    async def create_realm(request: web.Request) -> web.StreamResponse:
        data = await read_object(request)
        known = {"realm_id", "company_offset", "client_id", "client_secret"}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown fields: {', '.join(sorted(unknown))}")
        if not all(isinstance(v, str) for v in data.values()):
            raise ValueError("every field must be a string")
        return json_response(state.create_realm(**data), 201)

    async def issue_tokens(request: web.Request) -> web.StreamResponse:
        realm = realm_of(request)
        client_id = (await read_object(request)).get("client_id", DEFAULT_CLIENT_ID)
        if client_id not in state.tokens.apps:
            raise ValueError(f"unknown client_id {client_id!r}")
        access, refresh = state.tokens.issue(client_id, realm.realm_id, state.switches)
        return json_response({"realm_id": realm.realm_id, "access_token": access.value,
                              "refresh_token": refresh.value,
                              "expires_in": state.switches.access_token_ttl}, 201)

    async def expire_tokens(request: web.Request) -> web.StreamResponse:
        data = await read_object(request)
        if not data.get("token") and not data.get("realm_id"):
            raise ValueError("give token or realm_id")
        count = state.tokens.expire(value=data.get("token"), realm_id=data.get("realm_id"))
        return json_response({"expired": count})

    async def revoke_token(request: web.Request) -> web.StreamResponse:
        token = (await read_object(request)).get("token")
        if not isinstance(token, str):
            raise ValueError("token is required")
        state.tokens.revoke(token)
        return json_response({"revoked": True})

    async def seed(request: web.Request) -> web.StreamResponse:
        data = await read_object(request)
        count, rng_seed = data.get("count", 0), data.get("rng_seed", 20240101)
        if not isinstance(count, int) or isinstance(count, bool) or count < 0:
            raise ValueError("count must be a non-negative integer")
        if not isinstance(rng_seed, int):
            raise ValueError("rng_seed must be an integer")
        created = seed_catalog(realm_of(request), count, state.switches, rng_seed=rng_seed,
                               tricky=bool(data.get("tricky", False)))
        return json_response({"created": created}, 201)

    async def create_item(request: web.Request) -> web.StreamResponse:
        realm = realm_of(request)
        item = realm.create_item(await item_body(request), state.switches)
        return _qbo_json({"Item": render_item(item, realm.tz)}, 201)

    async def list_items(request: web.Request) -> web.StreamResponse:
        realm = realm_of(request)
        return _qbo_json({"items": [render_item(i, realm.tz) for i in realm.all_items()]})

    async def get_item(request: web.Request) -> web.StreamResponse:
        realm = realm_of(request)
        return _qbo_json({"Item": render_item(realm.item(request.match_info["id"]), realm.tz)})

    async def edit_item(request: web.Request) -> web.StreamResponse:
        realm = realm_of(request)
        body = {**await item_body(request), "Id": request.match_info["id"]}
        item = realm.update_item(body, state.switches, check_token=False, sparse=True)
        return _qbo_json({"Item": render_item(item, realm.tz)})

    async def touch_item(request: web.Request) -> web.StreamResponse:
        realm = realm_of(request)
        item = realm.touch_item(request.match_info["id"])
        return _qbo_json({"Item": render_item(item, realm.tz)})

    async def merge_item(request: web.Request) -> web.StreamResponse:
        realm = realm_of(request)
        into = (await read_object(request)).get("into")
        if not isinstance(into, str) or not into:
            raise ValueError("into (the surviving item's Id) is required")
        survivor = realm.merge_items(request.match_info["id"], into)
        return _qbo_json({"Item": render_item(survivor, realm.tz)})

    async def delete_account(request: web.Request) -> web.StreamResponse:
        realm_of(request).delete_account(request.match_info["id"])
        return web.Response(status=204)

    async def metering(request: web.Request) -> web.StreamResponse:
        return json_response(state.meter.as_json())

    async def metering_reset(request: web.Request) -> web.StreamResponse:
        state.meter.reset()
        return web.Response(status=204)

    realm_path = prefix + "/realms/{realm}"
    routes: list[tuple[str, str, AdminFn]] = [
        ("GET", prefix + "/realms", list_realms),
        ("POST", prefix + "/realms", create_realm),
        ("POST", realm_path + "/tokens", issue_tokens),
        ("POST", prefix + "/tokens/expire", expire_tokens),
        ("POST", prefix + "/tokens/revoke", revoke_token),
        ("POST", realm_path + "/seed", seed),
        ("GET", realm_path + "/items", list_items),
        ("POST", realm_path + "/items", create_item),
        ("GET", realm_path + "/items/{id}", get_item),
        ("PATCH", realm_path + "/items/{id}", edit_item),
        ("POST", realm_path + "/items/{id}/touch", touch_item),
        ("POST", realm_path + "/items/{id}/merge", merge_item),
        ("DELETE", realm_path + "/accounts/{id}", delete_account),
        ("GET", prefix + "/metering", metering),
        ("DELETE", prefix + "/metering", metering_reset),
    ]
    for method, path, fn in routes:
        router.add_route(method, path, _guard(fn))
