"""Shared plumbing of the vendor emulators (HubSpot, QuickBooks Online).

A vendor app is a `Vendor` subclass: it registers its routes, says what kind of request
each one is and which account it touches (``classify``), declares and validates its own
knobs, and may add fault actions. `build_app` wraps it in an aiohttp application whose
middleware, for every vendor request, in order:

1. reads the body and calls ``vendor.classify(request)`` → (kind, account), stored on the
   request under `KIND` / `ACCOUNT` (a handler may overwrite them);
2. sleeps the latency knobs (``latency_ms`` + uniform ``jitter_ms``);
3. applies the first pending scripted fault that matches (see `emulators.core.faults`),
   else runs the handler;
4. appends a `LedgerEntry` to the `Ledger` (after ``vendor.redact`` blanked any secrets).

Admin requests (prefix `ADMIN_PREFIX` = ``/__emulator__/``, documented in
`emulators.core.admin`) skip all of that. Vendor admin routes live under
``/__emulator__/<vendor.name>/`` and are wrapped with `admin_handler`.

Serving: `start_in_thread(app, port=0)` → `EmulatorHandle` (``.url``, ``.port``,
``.stop()``, ``.admin()``, ``.emulator``; a context manager) for tests and benchmarks;
`serve_forever([(app, host, port), …])` for the CLI. Python client of the admin API:
`emulators.client.EmulatorAdmin`.

Rate limits: `RollingWindow` (N hits per rolling window per key) and `ConcurrencyGate`
(N in flight per key), both deterministic with an injectable clock.

Minimal vendor::

    class Echo(Vendor):
        name = "echo"

        def add_routes(self, app):
            app.router.add_get("/v1/echo", self.echo)

        def classify(self, request):
            return "read", request.query.get("account")

        async def echo(self, request):
            return json_response({"ok": True})

    with start_in_thread(build_app(Echo())) as handle:
        requests.get(handle.url + "/v1/echo")
"""

from emulators.core.admin import (
    ADMIN_PREFIX,
    AdminRequestError,
    admin_error,
    admin_handler,
    read_object,
)
from emulators.core.app import EMULATOR, build_app, drop_connection, emulator_of, fault_response
from emulators.core.faults import CORE_ACTIONS, FaultBook, FaultError, FaultRule
from emulators.core.http import BadJson, json_response, read_json
from emulators.core.knobs import KnobError, Knobs
from emulators.core.ledger import BODY_LIMIT, Ledger, LedgerEntry
from emulators.core.ratelimit import ConcurrencyGate, RollingWindow, Verdict
from emulators.core.runner import EmulatorHandle, serve_forever, start_in_thread
from emulators.core.vendor import ACCOUNT, KIND, REFUSED, Emulator, Handler, Vendor

__all__ = [
    "ACCOUNT",
    "ADMIN_PREFIX",
    "BODY_LIMIT",
    "CORE_ACTIONS",
    "EMULATOR",
    "KIND",
    "REFUSED",
    "AdminRequestError",
    "BadJson",
    "ConcurrencyGate",
    "Emulator",
    "EmulatorHandle",
    "FaultBook",
    "FaultError",
    "FaultRule",
    "Handler",
    "KnobError",
    "Knobs",
    "Ledger",
    "LedgerEntry",
    "RollingWindow",
    "Vendor",
    "Verdict",
    "admin_error",
    "admin_handler",
    "build_app",
    "drop_connection",
    "emulator_of",
    "fault_response",
    "json_response",
    "read_json",
    "read_object",
    "serve_forever",
    "start_in_thread",
]
