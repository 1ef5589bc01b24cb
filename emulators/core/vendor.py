"""The contract between the core and a vendor app, and the per-app state that joins them."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any, ClassVar

from aiohttp import web

from emulators.core.faults import FaultBook, FaultRule
from emulators.core.knobs import KnobError, Knobs
from emulators.core.ledger import Ledger

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

# Keys on the aiohttp request: a handler may overwrite them once it knows better (for
# example the account, after it has resolved the bearer token).
KIND = web.RequestKey("emulator.kind", str)
ACCOUNT: web.RequestKey[str | None] = web.RequestKey("emulator.account", str)
# A batch handler lists the ids of the operations it refused (the ledger keeps no answers,
# so without this a refused batch create would look like a performed one).
REFUSED: web.RequestKey[list[str]] = web.RequestKey("emulator.refused", list)


class Vendor:
    """Subclass per vendor. The core calls these hooks; ``self.emulator`` is set when the
    app is built, so handlers reach the knobs, ledger and faults through it."""

    name: ClassVar[str] = "vendor"
    extra_fault_actions: ClassVar[tuple[str, ...]] = ()
    emulator: Emulator

    def knob_defaults(self) -> dict[str, Any]:
        """Vendor knobs and their start values (rate-limit preset, search lag, switches…)."""
        return {}

    def check_knobs(
        self, changes: Mapping[str, Any], current: Mapping[str, Any]
    ) -> Mapping[str, Any]:
        """Validate and normalise vendor knob changes; raise `KnobError` to refuse."""
        unknown = set(changes) - set(self.knob_defaults())
        if unknown:
            raise KnobError(f"unknown knobs: {', '.join(sorted(unknown))}")
        return changes

    def add_routes(self, app: web.Application) -> None:
        """Register the vendor API routes."""
        raise NotImplementedError

    def add_admin_routes(self, router: web.UrlDispatcher, prefix: str) -> None:
        """Register vendor admin routes; ``prefix`` is ``/__emulator__/<name>``."""

    def classify(self, request: web.Request) -> tuple[str, str | None]:
        """(kind, account) of a vendor request, before its handler runs. Cheap: hot path."""
        return "other", None

    async def run_fault(
        self, rule: FaultRule, request: web.Request, handler: Handler
    ) -> web.StreamResponse:
        """Carry out one of ``extra_fault_actions``."""
        raise NotImplementedError(rule.action)

    def redact(
        self, request: web.Request, query: dict[str, Any], body: bytes
    ) -> tuple[dict[str, Any], bytes]:
        """What the ledger keeps of a request's query and body; a vendor blanks secrets
        here (client secrets, refresh tokens). The default keeps everything."""
        return query, body

    def reset(self) -> None:
        """Back to the state the vendor app started with (accounts, data, limiters)."""


class Emulator:
    """Everything one running vendor app holds besides the vendor's own data."""

    def __init__(
        self,
        vendor: Vendor,
        *,
        knobs: Mapping[str, Any] | None = None,
        seed: int = 0,
        ledger_capacity: int = 200_000,
    ) -> None:
        self.vendor = vendor
        vendor.emulator = self
        self.ledger = Ledger(vendor.name, ledger_capacity)
        self.faults = FaultBook(vendor.extra_fault_actions)
        self.knobs = Knobs(vendor.knob_defaults(), vendor.check_knobs, knobs, seed)

    def reset(self) -> None:
        self.ledger.clear()
        self.faults.clear()
        self.knobs.restore()
        self.vendor.reset()
