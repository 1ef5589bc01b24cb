"""The admin API, under a prefix no vendor path can start with.

``GET    /__emulator__/health``                    ``{"vendor": name, "ok": true}``
``GET    /__emulator__/ledger?since=&kind=&path=&account=&method=``
                                                   ``{"entries": [...], "last_seq": n}``
``GET    /__emulator__/ledger/counts?…same…``
                                        ``{"counts": {kind: n}, "total": n, "last_seq": n}``
``DELETE /__emulator__/ledger``                    204 (sequence numbers keep counting)
``POST   /__emulator__/faults``                    a rule (see `emulators.core.faults`) → 201 rule
``GET    /__emulator__/faults``                    ``{"faults": [...]}`` (pending rules)
``DELETE /__emulator__/faults[/{id}]``             204 / 404
``GET    /__emulator__/knobs``                     all knobs
``PATCH  /__emulator__/knobs``                     ``{name: value}`` → all knobs, or 400
``POST   /__emulator__/reset``                     ledger, faults, knobs, vendor data: as started

Errors are ``{"error": "<message>"}`` with status 400 (or 404).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from emulators.core.http import BadJson, json_response, read_json
from emulators.core.vendor import Emulator

ADMIN_PREFIX = "/__emulator__/"


def admin_error(message: str, status: int = 400) -> web.Response:
    return json_response({"error": message}, status)


async def read_object(request: web.Request) -> dict[str, Any]:
    """An admin request's JSON object body, or `AdminRequestError`."""
    try:
        data = await read_json(request)
    except BadJson as exc:
        raise AdminRequestError(str(exc)) from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise AdminRequestError("request body must be a JSON object")
    return data


class AdminRequestError(ValueError):
    """An admin request is malformed; answered 400 with the message."""


AdminFn = Callable[[web.Request], Awaitable[web.StreamResponse]]


def admin_handler(fn: AdminFn) -> AdminFn:
    """Wrap an admin handler so that refusals (`AdminRequestError`, `FaultError`,
    `KnobError`, any ValueError) become ``400 {"error": …}`` instead of a 500."""

    async def handle(request: web.Request) -> web.StreamResponse:
        try:
            return await fn(request)
        except ValueError as exc:
            return admin_error(str(exc))

    return handle


def add_admin_api(router: web.UrlDispatcher, emulator: Emulator) -> None:
    p = ADMIN_PREFIX

    def filters(request: web.Request) -> dict[str, Any]:
        q = request.query
        try:
            since = int(q.get("since", "0"))
        except ValueError:
            raise AdminRequestError("since must be a whole number") from None
        return {
            "since": since,
            "kind": q.get("kind") or None,
            "path": q.get("path") or None,
            "account": q.get("account") or None,
            "method": q.get("method") or None,
        }

    async def health(request: web.Request) -> web.StreamResponse:
        return json_response({"vendor": emulator.vendor.name, "ok": True})

    async def ledger(request: web.Request) -> web.StreamResponse:
        last = emulator.ledger.last_seq
        entries = emulator.ledger.entries(**filters(request))
        return json_response({"entries": [e.as_dict() for e in entries], "last_seq": last})

    async def ledger_counts(request: web.Request) -> web.StreamResponse:
        last = emulator.ledger.last_seq
        counts = emulator.ledger.counts(**filters(request))
        return json_response({"counts": counts, "total": sum(counts.values()), "last_seq": last})

    async def ledger_clear(request: web.Request) -> web.StreamResponse:
        emulator.ledger.clear()
        return web.Response(status=204)

    async def fault_add(request: web.Request) -> web.StreamResponse:
        rule = emulator.faults.add(await read_object(request))
        return json_response(rule.as_dict(), 201)

    async def fault_list(request: web.Request) -> web.StreamResponse:
        return json_response({"faults": [r.as_dict() for r in emulator.faults.rules()]})

    async def fault_clear(request: web.Request) -> web.StreamResponse:
        emulator.faults.clear()
        return web.Response(status=204)

    async def fault_remove(request: web.Request) -> web.StreamResponse:
        try:
            rule_id = int(request.match_info["id"])
        except ValueError:
            raise AdminRequestError("fault id must be a whole number") from None
        if not emulator.faults.remove(rule_id):
            return admin_error("no such fault rule", 404)
        return web.Response(status=204)

    async def knobs_get(request: web.Request) -> web.StreamResponse:
        return json_response(emulator.knobs.as_dict())

    async def knobs_patch(request: web.Request) -> web.StreamResponse:
        return json_response(emulator.knobs.update(await read_object(request)))

    async def reset(request: web.Request) -> web.StreamResponse:
        emulator.reset()
        return json_response({"reset": True})

    router.add_get(p + "health", admin_handler(health))
    router.add_get(p + "ledger", admin_handler(ledger))
    router.add_get(p + "ledger/counts", admin_handler(ledger_counts))
    router.add_delete(p + "ledger", admin_handler(ledger_clear))
    router.add_post(p + "faults", admin_handler(fault_add))
    router.add_get(p + "faults", admin_handler(fault_list))
    router.add_delete(p + "faults", admin_handler(fault_clear))
    router.add_delete(p + "faults/{id}", admin_handler(fault_remove))
    router.add_get(p + "knobs", admin_handler(knobs_get))
    router.add_patch(p + "knobs", admin_handler(knobs_patch))
    router.add_post(p + "reset", admin_handler(reset))
