"""The HubSpot CRM v3 products emulator: the `HubSpot` vendor and `create_app`.

Default development identity (see README "Emulators"): portal ``12345678`` with the
private-app token ``pat-na1-emulator-dev-token``, and the OAuth app
``emulator-hubspot-client`` / ``emulator-hubspot-secret``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any, ClassVar
from urllib.parse import parse_qsl, urlencode

from aiohttp import web

from emulators.core import ACCOUNT, FaultRule, Handler, Vendor, build_app
from emulators.core.webhooks import add_admin_routes as add_webhook_routes
from emulators.core.webhooks import attach
from emulators.hubspot import knobs as knob_rules
from emulators.hubspot.auth import (
    DEV_CLIENT_ID,
    DEV_CLIENT_SECRET,
    DEV_PORTAL,
    DEV_TOKEN,
    Credentials,
)
from emulators.hubspot.errors import (
    CORRELATION_HEADER,
    HubSpotError,
    NotFound,
    correlation_id,
)
from emulators.hubspot.limits import Limiter, Policy
from emulators.hubspot.oauth import SECRET_FIELDS
from emulators.hubspot.seed import seed_portal
from emulators.hubspot.store import Portal
from emulators.hubspot.webhooks import HubSpotWebhooks, parse_subscription

OBJECT_PREFIXES = ("/crm/v3/objects/products", "/crm/objects/2026-03/products")
PROPERTY_PREFIXES = ("/crm/v3/properties/products", "/crm/properties/2026-03/products")

ApiFn = Callable[[web.Request, Portal], Awaitable[web.StreamResponse]]


class HubSpot(Vendor):
    name: ClassVar[str] = "hubspot"
    extra_fault_actions: ClassVar[tuple[str, ...]] = ("expire_token",)

    def __init__(self, *, seed: int = 0, products: int = 0, tricky: bool = False) -> None:
        self.start = {"seed": seed, "products": products, "tricky": tricky}
        self.limiter = Limiter()
        self.webhooks = HubSpotWebhooks(seed)
        self._build()

    def _build(self) -> None:
        self.portals: dict[str, Portal] = {}
        self.credentials = Credentials()
        self.credentials.add_app(DEV_CLIENT_ID, DEV_CLIENT_SECRET)
        self.limiter.reset()
        self.add_portal(DEV_PORTAL, token=DEV_TOKEN)
        if self.start["products"]:
            seed_portal(
                self.portals[DEV_PORTAL],
                int(self.start["products"]),
                seed=int(self.start["seed"]),
                tricky=bool(self.start["tricky"]),
            )

    def add_portal(self, portal_id: str, *, token: str | None = None) -> tuple[Portal, str]:
        """A new portal and its private-app token (``token`` or a generated one)."""
        if portal_id in self.portals:
            raise ValueError(f"portal {portal_id} already exists")
        portal = Portal(portal_id, hs_sku_unique=bool(self.knob("hs_sku_unique")))
        portal.listener = self.webhooks.notify
        self.portals[portal_id] = portal
        return portal, self.credentials.private_token(portal_id, token).value

    def knob(self, name: str) -> Any:
        """A knob's current value; its default while the emulator is still being built
        (portals are made before the core has created the knobs)."""
        emulator = getattr(self, "emulator", None)
        if emulator is None or not hasattr(emulator, "knobs"):
            return knob_rules.DEFAULTS[name]
        return emulator.knobs[name]

    # -- core hooks -------------------------------------------------------------------

    def knob_defaults(self) -> dict[str, Any]:
        return dict(knob_rules.DEFAULTS)

    def check_knobs(
        self, changes: Mapping[str, Any], current: Mapping[str, Any]
    ) -> Mapping[str, Any]:
        checked = knob_rules.check(changes)
        self._apply({**current, **checked})  # validation passed: nothing can fail now
        return checked

    def _apply(self, values: Mapping[str, Any]) -> None:
        self.limiter.configure(
            Policy(
                preset=values["rate_limit_preset"],
                scale=float(values["rate_limit_scale"]),
                search_per_second=int(values["search_per_second"]),
                retry_after=bool(values["rate_limit_retry_after"]),
            )
        )
        for portal in self.portals.values():
            portal.properties["hs_sku"].has_unique_value = bool(values["hs_sku_unique"])

    def reset(self) -> None:
        self.webhooks.sender.stop()
        self._build()
        self._apply(self.emulator.knobs.as_dict())

    def classify(self, request: web.Request) -> tuple[str, str | None]:
        path = request.path
        if path.startswith("/oauth"):
            return "auth", None
        token = self.credentials.lookup(request.headers.get("Authorization"))
        account = token.portal_id if token is not None else None
        if path.endswith("/search"):
            return "search", account
        if "/batch/" in path:
            return "batch", account
        return ("read" if request.method == "GET" else "write"), account

    def redact(
        self, request: web.Request, query: dict[str, Any], body: bytes
    ) -> tuple[dict[str, Any], bytes]:
        # OAuth requests carry the client secret, codes and refresh tokens.
        if not request.path.startswith("/oauth"):
            return query, body
        return redact_form(query), redact_form_body(body)

    async def run_fault(
        self, rule: FaultRule, request: web.Request, handler: Handler
    ) -> web.StreamResponse:
        # expire_token: the caller's token dies just before this request is served.
        token = self.credentials.lookup(request.headers.get("Authorization"))
        if token is not None:
            self.credentials.expire(token.value)
        return await handler(request)

    def add_routes(self, app: web.Application) -> None:
        from emulators.hubspot import batch, catalog, oauth, objects

        for prefix in OBJECT_PREFIXES:
            objects.add_routes(app.router, prefix, self)
            batch.add_routes(app.router, prefix, self)
        for prefix in PROPERTY_PREFIXES:
            catalog.add_routes(app.router, prefix, self)
        oauth.add_routes(app.router, self)
        attach(app, self.webhooks.sender, parse_subscription)

    def add_admin_routes(self, router: web.UrlDispatcher, prefix: str) -> None:
        from emulators.hubspot import admin

        admin.add_routes(router, prefix, self)
        add_webhook_routes(router, prefix, self.webhooks.sender, parse_subscription)

    # -- the API wrapper --------------------------------------------------------------

    def api(self, scopes: tuple[str, ...], *, search: bool = False) -> Callable[[ApiFn], Handler]:
        """Wrap a handler with authentication, rate limiting and the vendor's error
        rendering; the handler gets the caller's portal."""

        def wrap(fn: ApiFn) -> Handler:
            async def handle(request: web.Request) -> web.StreamResponse:
                correlation = correlation_id()
                limit_headers: dict[str, str] = {}
                try:
                    token = self.credentials.check(
                        request.headers.get("Authorization"),
                        scopes,
                        self.knob("expired_token_category"),
                    )
                    request[ACCOUNT] = token.portal_id
                    limit_headers = self.limiter.check(token, search=search)
                    response = await fn(request, self.portals[token.portal_id])
                except HubSpotError as exc:
                    if isinstance(exc, NotFound):
                        exc.style = self.knob("not_found_body")
                    response = exc.response(correlation)
                response.headers[CORRELATION_HEADER] = correlation
                for name, value in limit_headers.items():
                    response.headers.setdefault(name, value)
                return response

            return handle

        return wrap


REDACTED = "[redacted]"


def redact_form(fields: Mapping[str, Any]) -> dict[str, Any]:
    return {k: (REDACTED if k in SECRET_FIELDS else v) for k, v in fields.items()}


def redact_form_body(body: bytes) -> bytes:
    if not body:
        return body
    pairs = parse_qsl(body.decode("utf-8", errors="replace"), keep_blank_values=True)
    return urlencode([(k, REDACTED if k in SECRET_FIELDS else v) for k, v in pairs]).encode()


def create_app(
    *,
    seed: int = 0,
    products: int = 0,
    tricky: bool = False,
    knobs: Mapping[str, Any] | None = None,
) -> web.Application:
    """The HubSpot emulator app: portal 12345678 (token ``pat-na1-emulator-dev-token``)
    seeded with ``products`` deterministic products (RNG ``seed``; ``tricky`` adds the
    awkward ones), with ``knobs`` as start values (see `emulators.hubspot.knobs`)."""
    vendor = HubSpot(seed=seed, products=products, tricky=tricky)
    app = build_app(vendor, knobs=knobs, seed=seed)
    vendor._apply(vendor.emulator.knobs.as_dict())
    return app
