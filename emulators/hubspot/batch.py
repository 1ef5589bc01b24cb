"""Batch endpoints: read, create, update, upsert, archive (at most 100 inputs each).

Write batches are all-or-nothing: one bad input fails the request with that input's 400
and nothing is written — unless every input carries a distinct ``objectWriteTraceId``,
in which case the good inputs are written and the answer is 207 with ``errors`` keyed by
trace id. Missing records are per-input ``OBJECT_NOT_FOUND`` errors (207) for read and
update; archive is idempotent (204).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from aiohttp import web

from emulators.core import json_response
from emulators.hubspot.auth import READ_SCOPE, WRITE_SCOPE
from emulators.hubspot.errors import HubSpotError, non_unique_id_property, validation_error
from emulators.hubspot.objects import lag, resolve, writable
from emulators.hubspot.product import Product, now_ms
from emulators.hubspot.properties import iso_ms
from emulators.hubspot.store import Portal
from emulators.hubspot.wire import body_object, flag

if TYPE_CHECKING:
    from emulators.hubspot.app import HubSpot

NOT_FOUND_MESSAGE = (
    "Could not get some PRODUCT objects, they may be deleted or not exist. "
    "Check that ids are valid."
)


@dataclass
class Planned:
    """One validated input, ready to apply."""

    trace: str | None
    apply: Callable[[], dict[str, Any]]


def standard_error(category: str, message: str, context: dict[str, list[str]]) -> dict[str, Any]:
    return {
        "status": "error",
        "category": category,
        "message": message,
        "context": context,
        "errors": [],
        "links": {},
    }


def batch_body(results: list[dict[str, Any]], errors: list[dict[str, Any]]) -> dict[str, Any]:
    stamp = iso_ms(now_ms())
    out: dict[str, Any] = {
        "status": "COMPLETE",
        "results": results,
        "startedAt": stamp,
        "completedAt": stamp,
    }
    if errors:
        out["numErrors"] = len(errors)
        out["errors"] = errors
    return out


def read_inputs(hub: HubSpot, body: dict[str, Any]) -> list[dict[str, Any]]:
    inputs = body.get("inputs")
    if not isinstance(inputs, list) or not all(isinstance(i, dict) for i in inputs):
        raise validation_error("inputs must be a list of objects")
    cap = int(hub.knob("batch_max_inputs"))
    if len(inputs) > cap:
        raise validation_error(f"Batch input is limited to {cap} inputs, got {len(inputs)}")
    return inputs


def no_duplicates(keys: list[str]) -> None:
    seen: set[str] = set()
    dupes = sorted({k for k in keys if k in seen or seen.add(k)})  # type: ignore[func-returns-value]
    if dupes:
        raise validation_error(f"Duplicate IDs found in batch input: {dupes}")


Plans = list[Planned | tuple[str | None, HubSpotError]]


def settle(plans: Plans, ok: int, missing: list[str] | None = None) -> web.Response:
    """Apply the plans: all-or-nothing, or partial (207) when every input has a trace id.
    ``missing`` ids (records that do not exist) are reported as one OBJECT_NOT_FOUND."""
    failures = [p for p in plans if isinstance(p, tuple)]
    traces = [p.trace if isinstance(p, Planned) else p[0] for p in plans]
    partial = all(traces) and len(set(traces)) == len(traces)
    if failures and not partial:
        raise failures[0][1]
    results = [p.apply() for p in plans if isinstance(p, Planned)]
    errors = [
        standard_error(exc.category, exc.message, {"objectWriteTraceId": [trace]} if trace else {})
        for trace, exc in failures
    ]
    if missing:
        errors.append(standard_error("OBJECT_NOT_FOUND", NOT_FOUND_MESSAGE, {"ids": missing}))
    return json_response(batch_body(results, errors), 207 if errors else ok)


def add_routes(router: web.UrlDispatcher, prefix: str, hub: HubSpot) -> None:
    read = hub.api((READ_SCOPE,))
    write = hub.api((WRITE_SCOPE,))

    def traced(view: dict[str, Any], trace: str | None) -> dict[str, Any]:
        if trace:
            view["objectWriteTraceId"] = trace
        return view

    @read
    async def batch_read(request: web.Request, portal: Portal) -> web.StreamResponse:
        body = await body_object(request)
        inputs = read_inputs(hub, body)
        wanted = body.get("properties") or None
        id_property = body.get("idProperty") or None
        archived = flag(request, "archived")
        results, missing = [], []
        for item in inputs:
            key = str(item.get("id", ""))
            product = resolve(portal, key, id_property, archived=archived)
            if product is None:
                missing.append(key)
            else:
                results.append(product.view(wanted, portal.properties))
        errors = (
            [standard_error("OBJECT_NOT_FOUND", NOT_FOUND_MESSAGE, {"ids": missing})]
            if missing
            else []
        )
        return json_response(batch_body(results, errors), 207 if errors else 200)

    @write
    async def batch_create(request: web.Request, portal: Portal) -> web.StreamResponse:
        body = await body_object(request)
        style = hub.knob("unique_conflict_style")
        claimed: set[tuple[str, str]] = set()
        plans: Plans = []
        for item in read_inputs(hub, body):
            trace = item.get("objectWriteTraceId") or None
            try:
                changes = writable(hub, portal, item.get("properties"))
                portal.check_unique(changes, None, style)
                unique = {(n, v) for n, v in changes.items() if v and portal.is_unique(n)}
                if unique & claimed:
                    raise validation_error("Duplicate unique property values in batch input")
                claimed |= unique
            except HubSpotError as exc:
                plans.append((trace, exc))
                continue

            def apply(
                changes: dict[str, str] = changes, trace: str | None = trace
            ) -> dict[str, Any]:
                product = portal.create(changes, lag=lag(hub, "search_lag_create_ms"))
                return traced(product.written_view(changes, portal.properties), trace)

            plans.append(Planned(trace, apply))
        return settle(plans, 201)

    @write
    async def batch_update(request: web.Request, portal: Portal) -> web.StreamResponse:
        body = await body_object(request)
        inputs = read_inputs(hub, body)
        no_duplicates([str(i.get("id", "")) for i in inputs])
        style = hub.knob("unique_conflict_style")
        plans: Plans = []
        missing: list[str] = []
        for item in inputs:
            trace = item.get("objectWriteTraceId") or None
            key = str(item.get("id", ""))
            product = resolve(portal, key, item.get("idProperty") or None, archived=False)
            if product is None:
                missing.append(key)
                continue
            try:
                changes = writable(hub, portal, item.get("properties"))
                portal.check_unique(changes, product.id, style)
            except HubSpotError as exc:
                plans.append((trace, exc))
                continue

            def apply(
                product: Product = product,
                changes: dict[str, str] = changes,
                trace: str | None = trace,
            ) -> dict[str, Any]:
                portal.update(product, changes, lag=lag(hub, "search_lag_update_ms"))
                return traced(product.written_view(changes, portal.properties), trace)

            plans.append(Planned(trace, apply))
        return settle(plans, 200, missing)

    @write
    async def batch_upsert(request: web.Request, portal: Portal) -> web.StreamResponse:
        body = await body_object(request)
        inputs = read_inputs(hub, body)
        style = hub.knob("unique_conflict_style")
        targets: list[str] = []
        plans: Plans = []
        for item in inputs:
            trace = item.get("objectWriteTraceId") or None
            id_property, key = item.get("idProperty"), item.get("id")
            if not isinstance(id_property, str) or not id_property:
                raise validation_error("idProperty is required for every upsert input")
            if not portal.is_unique(id_property):
                raise non_unique_id_property(id_property, portal.portal_id)
            if not isinstance(key, str) or not key:
                raise validation_error("id is required for every upsert input")
            product = portal.by_unique(id_property, key)
            targets.append(product.id if product else f"{id_property}={key}")
            try:
                changes = writable(hub, portal, item.get("properties"))
                changes[id_property] = key
                portal.check_unique(changes, product.id if product else None, style)
            except HubSpotError as exc:
                plans.append((trace, exc))
                continue

            def apply(
                product: Product | None = product,
                changes: dict[str, str] = changes,
                trace: str | None = trace,
            ) -> dict[str, Any]:
                if product is None:
                    made = portal.create(changes, lag=lag(hub, "search_lag_create_ms"))
                else:
                    made = portal.update(product, changes, lag=lag(hub, "search_lag_update_ms"))
                view = traced(made.written_view(changes, portal.properties), trace)
                view["new"] = product is None
                return view

            plans.append(Planned(trace, apply))
        no_duplicates(targets)
        return settle(plans, 200)

    @write
    async def batch_archive(request: web.Request, portal: Portal) -> web.StreamResponse:
        body = await body_object(request)
        for item in read_inputs(hub, body):
            product = portal.get(str(item.get("id", "")))
            if product is not None:
                portal.archive(product)
        return web.Response(status=204)

    router.add_post(prefix + "/batch/read", batch_read)
    router.add_post(prefix + "/batch/create", batch_create)
    router.add_post(prefix + "/batch/update", batch_update)
    router.add_post(prefix + "/batch/upsert", batch_upsert)
    router.add_post(prefix + "/batch/archive", batch_archive)
