"""The QuickBooks Online emulator as an aiohttp application.

``create_app()`` builds it on the shared core (ledger, latency, scripted faults, admin
API): vendor routes from :mod:`emulators.quickbooks.api`, admin routes from
:mod:`emulators.quickbooks.admin`, switches as vendor knobs (``PATCH /__emulator__/knobs``,
see :mod:`emulators.quickbooks.switches`) and two vendor fault actions:

``expire_token``     the matching request's access token expires just before it is
                     handled (the request, and later ones with that token, get 401).
``stale_synctoken``  someone else saves the item just before the request is handled, so an
                     update carrying the token it read gets 5010. The item is the body's
                     ``Id`` (each item's in a batch), or ``params.item_id``.
``system_fault``     answer HTTP 500 with the vendor's SystemFault envelope (code 10000);
                     nothing happens.
``throttle``         answer 429 with the gateway's ThrottleExceeded body; ``params.retry_after``
                     (seconds) adds a Retry-After header. Nothing happens.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from typing import Any, ClassVar

from aiohttp import web

from emulators.core import (
    FaultRule,
    Handler,
    KnobError,
    Vendor,
    build_app,
)
from emulators.core.webhooks import add_admin_routes as add_webhook_routes
from emulators.core.webhooks import attach
from emulators.quickbooks.admin import add_admin_routes
from emulators.quickbooks.api import (
    OVER_CONCURRENCY,
    QboApi,
    classify_path,
    fault_response,
    gateway_response,
)
from emulators.quickbooks.faults import QboFault, system_fault, throttled
from emulators.quickbooks.jsonio import BadJson, loads
from emulators.quickbooks.state import DEFAULT_REALM, QboState, SeedPlan
from emulators.quickbooks.switches import Switches
from emulators.quickbooks.webhooks import parse_subscription

__all__ = ["QB_STATE", "QuickBooksVendor", "create_app", "state_of"]

QB_STATE = web.AppKey("quickbooks_state", QboState)
_SWITCH_NAMES = tuple(name for name in Switches().as_json() if name != "limits")


def _knob_values(switches: Switches) -> dict[str, Any]:
    data = switches.as_json()
    return {name: data[name] for name in _SWITCH_NAMES}


class QuickBooksVendor(Vendor):
    name: ClassVar[str] = "quickbooks"
    extra_fault_actions: ClassVar[tuple[str, ...]] = (
        "expire_token", "stale_synctoken", "system_fault", "throttle")

    def __init__(self, state: QboState) -> None:
        self.state = state
        self.api = QboApi(state)

    def knob_defaults(self) -> dict[str, Any]:
        return _knob_values(Switches())

    def check_knobs(self, changes: Mapping[str, Any],
                    current: Mapping[str, Any]) -> Mapping[str, Any]:
        try:
            updated = self.state.switches.updated(changes)
        except ValueError as exc:
            raise KnobError(str(exc)) from None
        self.state.set_switches(updated)
        values = _knob_values(updated)
        return {name: values[name] for name in changes}

    def add_routes(self, app: web.Application) -> None:
        self.api.add_routes(app)
        attach(app, self.state.webhooks.sender, parse_subscription)

    def add_admin_routes(self, router: web.UrlDispatcher, prefix: str) -> None:
        add_admin_routes(router, prefix, self.state)
        add_webhook_routes(router, prefix, self.state.webhooks.sender, parse_subscription)

    def classify(self, request: web.Request) -> tuple[str, str | None]:
        return classify_path(request.method, request.path)

    async def run_fault(self, rule: FaultRule, request: web.Request,
                        handler: Handler) -> web.StreamResponse:
        if rule.action == "expire_token":
            header = request.headers.get("Authorization", "")
            if header.startswith("Bearer "):
                self.state.tokens.expire(value=header[7:].strip())
        elif rule.action == "stale_synctoken":
            self._race(rule, request, await request.read())
        elif rule.action == "system_fault":
            realm = self.state.realms.get(request.match_info.get("realm", ""))
            return fault_response(system_fault(), realm or self.state.realm(DEFAULT_REALM))
        elif rule.action == "throttle":
            retry_after = rule.params.get("retry_after")
            return gateway_response(throttled(
                "Too many requests for this company and app.",
                retry_after if isinstance(retry_after, int) else None))
        return await handler(request)

    def _race(self, rule: FaultRule, request: web.Request, raw: bytes) -> None:
        item_ids = [rule.params["item_id"]] if rule.params.get("item_id") is not None else []
        if not item_ids:
            with contextlib.suppress(BadJson):
                body = loads(raw) if raw else None
                if isinstance(body, dict):
                    # One item's update, or every item a batch updates.
                    items = [body] + [
                        op.get("Item") for op in body.get("BatchItemRequest") or []
                        if isinstance(op, dict)
                    ]
                    item_ids = [i["Id"] for i in items if isinstance(i, dict) and "Id" in i]
        realm = self.state.realms.get(request.match_info.get("realm", ""))
        for item_id in item_ids if realm is not None else []:
            with contextlib.suppress(QboFault):  # unknown id: the request itself says 610
                realm.touch_item(str(item_id))

    def reset(self) -> None:
        self.state.reset()
        self.state.set_switches(Switches().updated(
            {name: self.emulator.knobs[name] for name in _SWITCH_NAMES}))


@web.middleware
async def _concurrency_gate(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Outermost: an in-flight slot per realm+app spans latency and handling alike; a
    request over the limit is marked here and answered 429 by the gateway step."""
    path = request.path
    if not path.startswith("/v3/company/"):
        return await handler(request)
    state = request.app[QB_STATE]
    token = state.tokens.peek(request.headers.get("Authorization"))
    if token is None:
        return await handler(request)
    key = (path.split("/", 4)[3], token.grant.client_id)
    entered = state.throttle.enter(key)
    if entered is False:
        request[OVER_CONCURRENCY] = True
    try:
        return await handler(request)
    finally:
        if entered:
            state.throttle.leave(key)


def create_app(state: QboState | None = None, *, seed_items: int = 0, tricky: bool = False,
               rng_seed: int = 20240101, knobs: Mapping[str, Any] | None = None,
               ledger_capacity: int = 200_000) -> web.Application:
    """The QBO emulator app. ``state`` defaults to a fresh :class:`QboState` whose default
    realm is seeded with ``seed_items`` items (+ the tricky set); ``knobs`` are start values
    for core knobs (``latency_ms``, ``jitter_ms``) and switches."""
    if state is None:
        state = QboState(seed=SeedPlan(seed_items, tricky, rng_seed))
    app = build_app(QuickBooksVendor(state), knobs=knobs, seed=rng_seed,
                    ledger_capacity=ledger_capacity)
    app[QB_STATE] = state
    app.middlewares.insert(0, _concurrency_gate)
    return app


def state_of(app: web.Application) -> QboState:
    return app[QB_STATE]
