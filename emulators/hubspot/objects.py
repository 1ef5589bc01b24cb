"""Single-object product endpoints: list, read, create, update, archive, and search."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from aiohttp import web

from emulators.core import json_response
from emulators.hubspot import search as search_engine
from emulators.hubspot.auth import READ_SCOPE, WRITE_SCOPE
from emulators.hubspot.errors import NotFound, non_unique_id_property, validation_error
from emulators.hubspot.product import Product, object_json
from emulators.hubspot.store import Portal
from emulators.hubspot.wire import body_json, body_object, flag, requested_properties

if TYPE_CHECKING:
    from emulators.hubspot.app import HubSpot


def resolve(portal: Portal, key: str, id_property: str | None, *, archived: bool) -> Product | None:
    """The product addressed by record id, or by a unique property's value."""
    if not id_property:
        return portal.get(key, archived=archived)
    if not portal.is_unique(id_property):
        raise non_unique_id_property(id_property, portal.portal_id)
    product = portal.by_unique(id_property, key)
    return product if product is not None and product.archived == archived else None


def writable(hub: HubSpot, portal: Portal, raw: Any) -> dict[str, str]:
    return portal.validate(raw, coerce=bool(hub.knob("coerce_non_string_values")))


def lag(hub: HubSpot, name: str) -> float:
    return float(hub.knob(name)) / 1000.0


def add_routes(router: web.UrlDispatcher, prefix: str, hub: HubSpot) -> None:
    read = hub.api((READ_SCOPE,))
    write = hub.api((WRITE_SCOPE,))

    @read
    async def list_page(request: web.Request, portal: Portal) -> web.StreamResponse:
        raw = request.query.get("limit", "10")
        if not raw.isdigit() or int(raw) < 1:
            raise validation_error(f"limit must be a positive integer, got {raw}")
        limit, cap = int(raw), int(hub.knob("list_max_limit"))
        if limit > cap:
            if hub.knob("list_limit_over_max") == "error":
                raise validation_error(f"limit must be at most {cap}, got {limit}")
            limit = cap
        products, after = portal.page(
            after=request.query.get("after"), limit=limit, archived=flag(request, "archived")
        )
        wanted = requested_properties(request)
        body: dict[str, Any] = {"results": [p.view(wanted, portal.properties) for p in products]}
        if after is not None:
            body["paging"] = {"next": {"after": after, "link": f"?after={after}"}}
        return json_response(body)

    @read
    async def get_one(request: web.Request, portal: Portal) -> web.StreamResponse:
        product = resolve(
            portal,
            request.match_info["productId"],
            request.query.get("idProperty"),
            archived=flag(request, "archived"),
        )
        if product is None:
            raise NotFound()
        return json_response(product.view(requested_properties(request), portal.properties))

    @write
    async def create(request: web.Request, portal: Portal) -> web.StreamResponse:
        body = await body_object(request)
        changes = writable(hub, portal, body.get("properties"))
        portal.check_unique(changes, None, hub.knob("unique_conflict_style"))
        product = portal.create(changes, lag=lag(hub, "search_lag_create_ms"))
        return json_response(product.written_view(changes, portal.properties), 201)

    @write
    async def update(request: web.Request, portal: Portal) -> web.StreamResponse:
        body = await body_object(request)
        product = resolve(
            portal, request.match_info["productId"], request.query.get("idProperty"), archived=False
        )
        if product is None:
            raise NotFound()
        changes = writable(hub, portal, body.get("properties"))
        portal.check_unique(changes, product.id, hub.knob("unique_conflict_style"))
        portal.update(product, changes, lag=lag(hub, "search_lag_update_ms"))
        return json_response(product.written_view(changes, portal.properties))

    @write
    async def archive(request: web.Request, portal: Portal) -> web.StreamResponse:
        product = portal.get(request.match_info["productId"])
        if product is None and hub.knob("delete_unknown_status") == 404:
            raise NotFound()
        if product is not None:
            portal.archive(product)
        return web.Response(status=204)

    @hub.api((READ_SCOPE,), search=True)
    async def search(request: web.Request, portal: Portal) -> web.StreamResponse:
        limits = search_engine.Limits(
            max_groups=int(hub.knob("search_max_groups")),
            max_filters=int(hub.knob("search_max_filters")),
            max_limit=int(hub.knob("search_max_limit")),
            case_insensitive=bool(hub.knob("search_eq_case_insensitive")),
        )
        query = search_engine.parse(await body_json(request), portal, limits)
        total, page = search_engine.run(portal, query, limits, time.monotonic())
        body: dict[str, Any] = {
            "total": total,
            "results": [
                object_json(p, props, query.properties, portal.properties) for p, props in page
            ],
        }
        following = query.offset + len(page)
        if page and following < total:
            body["paging"] = {"next": {"after": str(following)}}
        return json_response(body)

    router.add_get(prefix, list_page)
    router.add_post(prefix, create)
    router.add_post(prefix + "/search", search)
    router.add_get(prefix + "/{productId}", get_one)
    router.add_patch(prefix + "/{productId}", update)
    router.add_delete(prefix + "/{productId}", archive)
