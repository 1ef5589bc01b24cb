"""The QuickBooks Online emulator: Accounting API v3, Item slice (api-reference §2).

Serve it with ``start_in_thread(create_app(...))`` (tests, benchmarks) or ``productsync
emulators`` (demo). ``create_app(state=None, *, seed_items=0, tricky=False,
rng_seed=20240101, knobs=None, ledger_capacity=200_000)`` returns the aiohttp app;
``state_of(app)`` its :class:`QboState`.

Vendor routes: ``/v3/company/{realm}/item`` (POST create/update), ``…/item/{id}``,
``…/account/{id}``, ``…/query`` (GET/POST), ``…/cdc``, ``…/batch``; OAuth
``/oauth2/v1/tokens/bearer``, ``/v2/oauth2/tokens/revoke``, ``/connect/oauth2``. Admin
routes: :mod:`emulators.quickbooks.admin`; switches (uncertain vendor behaviours and
limits, set as knobs): :mod:`emulators.quickbooks.switches`.

Modules: ``jsonio`` (Decimal JSON, company-offset times), ``faults`` (both error
envelopes), ``entities`` (stored Items/Accounts and their JSON), ``item_rules``
(validation), ``realm`` (one company: writes, indexes, change log, requestid replay),
``query_parser``/``query_exec`` (the query language), ``operations`` (CDC, batch),
``oauth``, ``throttle`` (limits and metering), ``seed``, ``state``, ``api``, ``admin``,
``app``.
"""

from emulators.quickbooks.app import QuickBooksVendor, create_app, state_of
from emulators.quickbooks.state import (
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    DEFAULT_OFFSET,
    DEFAULT_REALM,
    DEFAULT_REFRESH_TOKEN,
    QboState,
    SeedPlan,
)
from emulators.quickbooks.switches import Switches

__all__ = [
    "DEFAULT_CLIENT_ID",
    "DEFAULT_CLIENT_SECRET",
    "DEFAULT_OFFSET",
    "DEFAULT_REALM",
    "DEFAULT_REFRESH_TOKEN",
    "QboState",
    "QuickBooksVendor",
    "SeedPlan",
    "Switches",
    "create_app",
    "state_of",
]
