"""HubSpot admin routes, under ``/__emulator__/hubspot/``. They bypass auth and rate limits
(tests and benchmarks use them to set up portals and to "edit in the UI").

``POST   portals``                          ``{"portal_id"?, "token"?}`` → 201 {portal_id, token}
``GET    portals``                          ``{"portals": [{portal_id, products, archived}]}``
``POST   portals/{pid}/tokens``             ``{"kind": "private"|"oauth", "scopes"?: [...]}``
                                            → ``{token, refresh_token?, expires_in?}``
``POST   tokens/expire``                    ``{"token"}`` → 204 (the token stops working)
``POST   refresh-tokens/revoke``            ``{"refresh_token"}`` → 204 (as an uninstall does)
``POST   portals/{pid}/seed``               ``{"count", "seed"?, "tricky"?}`` → ``{created, ids}``
``GET    portals/{pid}/products``           every product, all properties, archived included
``POST   portals/{pid}/products``           ``{"properties"}`` → 201 product
``PATCH  portals/{pid}/products/{id}``      ``{"properties"}`` → 200 product
``DELETE portals/{pid}/products/{id}``      204 (archive)
``POST   portals/{pid}/products/{id}/restore`` 200 product (out of the recycle bin)
``POST   portals/{pid}/products/{id}/merge``  ``{"into": id}`` → 200 the surviving product
``GET    portals/{pid}/usage``              ``{"daily_used": n}``
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from aiohttp import web

from emulators.core import admin_error, admin_handler, json_response, read_object
from emulators.hubspot.auth import ALL_SCOPES, DEV_CLIENT_ID, Grant
from emulators.hubspot.errors import HubSpotError
from emulators.hubspot.product import Product
from emulators.hubspot.seed import seed_portal
from emulators.hubspot.store import Portal

if TYPE_CHECKING:
    from emulators.hubspot.app import HubSpot

PortalFn = Callable[[web.Request, Portal], Awaitable[web.StreamResponse]]


def full_view(product: Product, portal: Portal) -> dict[str, Any]:
    return product.view(sorted(product.properties), portal.properties)


def add_routes(router: web.UrlDispatcher, prefix: str, hub: HubSpot) -> None:
    def with_portal(fn: PortalFn) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
        async def handle(request: web.Request) -> web.StreamResponse:
            portal = hub.portals.get(request.match_info["pid"])
            if portal is None:
                return admin_error("no such portal", 404)
            try:
                return await fn(request, portal)
            except HubSpotError as exc:
                return admin_error(exc.message, exc.status)

        return admin_handler(handle)

    def product_of(request: web.Request, portal: Portal) -> Product:
        product = portal.products.get(request.match_info["id"])
        if product is None:
            raise HubSpotError(404, "OBJECT_NOT_FOUND", "no such product")
        return product

    async def create_portal(request: web.Request) -> web.StreamResponse:
        body = await read_object(request)
        portal_id = str(body.get("portal_id") or 20_000_000 + len(hub.portals))
        if not portal_id.isdigit():
            return admin_error("portal_id must be numeric")
        _, token = hub.add_portal(portal_id, token=body.get("token"))
        return json_response({"portal_id": portal_id, "token": token}, 201)

    async def list_portals(request: web.Request) -> web.StreamResponse:
        rows = [
            {
                "portal_id": pid,
                "products": sum(1 for _ in p.live()),
                "archived": sum(1 for x in p.products.values() if x.archived),
            }
            for pid, p in hub.portals.items()
        ]
        return json_response({"portals": rows})

    async def issue_token(request: web.Request, portal: Portal) -> web.StreamResponse:
        body = await read_object(request)
        scopes = frozenset(body.get("scopes") or ALL_SCOPES)
        if body.get("kind", "private") == "private":
            token = hub.credentials.private_token(portal.portal_id, body.get("token"), scopes)
            return json_response({"token": token.value, "kind": "private"}, 201)
        grant = Grant(portal.portal_id, str(body.get("client_id") or DEV_CLIENT_ID), scopes)
        if grant.client_id not in hub.credentials.apps:
            return admin_error("unknown client_id")
        expires_in = int(body.get("expires_in") or hub.knob("oauth_expires_in"))
        access = hub.credentials.issue(grant, expires_in)
        refresh = hub.credentials.new_refresh_token(grant)
        return json_response(
            {"token": access.value, "refresh_token": refresh, "expires_in": expires_in}, 201
        )

    async def expire_token(request: web.Request) -> web.StreamResponse:
        body = await read_object(request)
        if not hub.credentials.expire(str(body.get("token", ""))):
            return admin_error("no such token", 404)
        return web.Response(status=204)

    async def revoke_refresh(request: web.Request) -> web.StreamResponse:
        body = await read_object(request)
        if hub.credentials.refresh_tokens.pop(str(body.get("refresh_token", "")), None) is None:
            return admin_error("no such refresh token", 404)
        return web.Response(status=204)

    async def seed(request: web.Request, portal: Portal) -> web.StreamResponse:
        body = await read_object(request)
        count = body.get("count", 0)
        if isinstance(count, bool) or not isinstance(count, int) or count < 0:
            return admin_error("count must be a non-negative integer")
        made = seed_portal(
            portal, count, seed=int(body.get("seed", 0)), tricky=bool(body.get("tricky", False))
        )
        return json_response({"created": len(made), "ids": [p.id for p in made]}, 201)

    async def all_products(request: web.Request, portal: Portal) -> web.StreamResponse:
        return json_response({"products": [full_view(p, portal) for p in portal.products.values()]})

    async def direct_create(request: web.Request, portal: Portal) -> web.StreamResponse:
        body = await read_object(request)
        changes = portal.validate(body.get("properties"))
        portal.check_unique(changes, None, "conflict_409")
        lag = float(hub.knob("search_lag_create_ms")) / 1000
        return json_response(full_view(portal.create(changes, lag=lag), portal), 201)

    async def direct_update(request: web.Request, portal: Portal) -> web.StreamResponse:
        product = product_of(request, portal)
        body = await read_object(request)
        changes = portal.validate(body.get("properties"))
        portal.check_unique(changes, product.id, "conflict_409")
        lag = float(hub.knob("search_lag_update_ms")) / 1000
        return json_response(full_view(portal.update(product, changes, lag=lag), portal))

    async def direct_archive(request: web.Request, portal: Portal) -> web.StreamResponse:
        portal.archive(product_of(request, portal))
        return web.Response(status=204)

    async def direct_restore(request: web.Request, portal: Portal) -> web.StreamResponse:
        product = portal.products.get(request.match_info["id"])
        if product is None:
            raise HubSpotError(404, "OBJECT_NOT_FOUND", "no such product")
        lag = float(hub.knob("search_lag_update_ms")) / 1000
        return json_response(full_view(portal.restore(product, lag=lag), portal))

    async def direct_merge(request: web.Request, portal: Portal) -> web.StreamResponse:
        merged = product_of(request, portal)
        body = await read_object(request)
        primary = portal.products.get(str(body.get("into", "")))
        if primary is None:
            raise HubSpotError(404, "OBJECT_NOT_FOUND", "no product to merge into")
        lag = float(hub.knob("search_lag_update_ms")) / 1000
        return json_response(full_view(portal.merge(primary, merged, lag=lag), portal))

    async def usage(request: web.Request, portal: Portal) -> web.StreamResponse:
        return json_response({"daily_used": hub.limiter.daily_used(portal.portal_id)})

    p = prefix + "/"
    router.add_post(p + "portals", admin_handler(create_portal))
    router.add_get(p + "portals", admin_handler(list_portals))
    router.add_post(p + "portals/{pid}/tokens", with_portal(issue_token))
    router.add_post(p + "tokens/expire", admin_handler(expire_token))
    router.add_post(p + "refresh-tokens/revoke", admin_handler(revoke_refresh))
    router.add_post(p + "portals/{pid}/seed", with_portal(seed))
    router.add_get(p + "portals/{pid}/products", with_portal(all_products))
    router.add_post(p + "portals/{pid}/products", with_portal(direct_create))
    router.add_patch(p + "portals/{pid}/products/{id}", with_portal(direct_update))
    router.add_delete(p + "portals/{pid}/products/{id}", with_portal(direct_archive))
    router.add_post(p + "portals/{pid}/products/{id}/restore", with_portal(direct_restore))
    router.add_post(p + "portals/{pid}/products/{id}/merge", with_portal(direct_merge))
    router.add_get(p + "portals/{pid}/usage", with_portal(usage))
