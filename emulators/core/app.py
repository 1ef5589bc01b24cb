"""The aiohttp application factory: vendor routes behind one middleware that injects
latency and scripted faults and records the ledger; the admin API beside them."""

from __future__ import annotations

import asyncio
import socket
import struct
import time
from collections.abc import Mapping
from typing import Any

from aiohttp import web

from emulators.core.admin import ADMIN_PREFIX, add_admin_api
from emulators.core.faults import CORE_ACTIONS, FaultRule
from emulators.core.http import json_response
from emulators.core.ledger import query_dict
from emulators.core.vendor import ACCOUNT, KIND, REFUSED, Emulator, Handler, Vendor

EMULATOR = web.AppKey("emulator", Emulator)

# The status the ledger records when it is not the status sent: None when the connection
# was dropped unanswered, the real operation's status when its response was lost or cut.
_RECORDED_STATUS: web.RequestKey[int | None] = web.RequestKey("emulator.recorded_status", int)


def build_app(
    vendor: Vendor,
    *,
    knobs: Mapping[str, Any] | None = None,
    seed: int = 0,
    ledger_capacity: int = 200_000,
) -> web.Application:
    """A ready-to-serve app for ``vendor``; ``knobs`` are its start values (validated)."""
    emulator = Emulator(vendor, knobs=knobs, seed=seed, ledger_capacity=ledger_capacity)
    app = web.Application(middlewares=[_vendor_middleware], client_max_size=16 * 1024 * 1024)
    app[EMULATOR] = emulator
    add_admin_api(app.router, emulator)
    vendor.add_admin_routes(app.router, f"{ADMIN_PREFIX}{vendor.name}")
    vendor.add_routes(app)
    return app


def emulator_of(app: web.Application) -> Emulator:
    return app[EMULATOR]


@web.middleware
async def _vendor_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    if request.path.startswith(ADMIN_PREFIX):
        return await handler(request)
    emulator = request.app[EMULATOR]
    started = time.perf_counter()
    body = await request.read() if request.body_exists else b""
    kind, account = emulator.vendor.classify(request)
    request[KIND] = kind
    request[ACCOUNT] = account
    status: int | None = None
    rule: FaultRule | None = None
    try:
        delay = emulator.knobs.delay_seconds()
        if delay:
            await asyncio.sleep(delay)
        rule = emulator.faults.take(request.method, request.path, account)
        if rule is None:
            response = await handler(request)
        elif rule.action in CORE_ACTIONS:
            response = await _core_fault(rule, request, handler)
        else:
            response = await emulator.vendor.run_fault(rule, request, handler)
        status = request.get(_RECORDED_STATUS, response.status)
        return response
    except web.HTTPException as exc:
        status = exc.status
        raise
    except Exception:
        status = 500  # a bug in a handler: aiohttp answers 500, the ledger says so too
        raise
    finally:
        query, kept = emulator.vendor.redact(request, query_dict(request.query.items()), body)
        emulator.ledger.record(
            account=request[ACCOUNT],
            method=request.method,
            path=request.path,
            query=query,
            body=kept,
            status=status,
            kind=request[KIND],
            fault=None if rule is None else rule.action,
            duration_ms=(time.perf_counter() - started) * 1000,
            refused=request.get(REFUSED),
        )


async def _core_fault(
    rule: FaultRule, request: web.Request, handler: Handler
) -> web.StreamResponse:
    if rule.action == "status":
        return fault_response(rule)
    if rule.action == "hang":
        await asyncio.sleep(rule.seconds)
        if rule.perform:
            return await handler(request)
        return json_response({"status": "error", "message": "gateway timeout"}, 504)
    if rule.action == "reset":
        return drop_connection(request)
    real = await _run(handler, request)
    request[_RECORDED_STATUS] = real.status
    if rule.action == "lose_response":
        return drop_connection(request)
    return await _truncated(request, real)


def fault_response(rule: FaultRule) -> web.Response:
    """The canned answer of a ``status`` rule."""
    headers = dict(rule.headers)
    if rule.body is None or isinstance(rule.body, str):
        text = rule.body or ""
        headers.setdefault("Content-Type", "text/plain; charset=utf-8")
        return web.Response(text=text, status=rule.status, headers=headers)
    return json_response(rule.body, rule.status, headers)


async def _run(handler: Handler, request: web.Request) -> web.StreamResponse:
    try:
        return await handler(request)
    except web.HTTPException as exc:
        return exc


def drop_connection(request: web.Request) -> web.StreamResponse:
    """Close the client's connection with a TCP reset and send nothing. Returns a response
    object for aiohttp to discard (its write fails silently on the closed transport)."""
    request.setdefault(_RECORDED_STATUS, None)
    transport = request.transport
    if transport is not None:
        sock = transport.get_extra_info("socket")
        if sock is not None:
            # SO_LINGER 0 turns close() into an RST, as a crashed proxy would send.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        transport.abort()
    return web.Response(status=499)


async def _truncated(request: web.Request, real: web.StreamResponse) -> web.StreamResponse:
    body = real.body if isinstance(real, web.Response) and isinstance(real.body, bytes) else b""
    if not body:
        body = b'{"status":"ok"}'
    response = web.StreamResponse(status=real.status, headers=real.headers)
    response.content_length = len(body) + 64
    await response.prepare(request)
    await response.write(body[: max(len(body) // 2, 1)])
    if request.transport is not None:
        request.transport.close()
    return response
