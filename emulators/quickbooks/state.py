"""Everything one QuickBooks emulator holds: realms, OAuth apps and tokens, throttles,
meters and the current switches — and the default development identity.

Default dev identity (what ``productsync emulators`` serves out of the box):

* realm ``9130350000000001``, company offset ``-08:00``;
* OAuth app ``emulator-qbo-client`` / ``emulator-qbo-secret``;
* an initial refresh token ``AB11-emulator-dev-refresh-token`` for that realm and app
  (superseded after its first use when refresh tokens rotate on every refresh).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from emulators.quickbooks import faults
from emulators.quickbooks.oauth import TokenStore
from emulators.quickbooks.realm import Clock, Realm, utc_now
from emulators.quickbooks.seed import seed_catalog
from emulators.quickbooks.switches import Switches
from emulators.quickbooks.throttle import Meter, Throttle
from emulators.quickbooks.webhooks import QboWebhooks

__all__ = [
    "DEFAULT_CLIENT_ID",
    "DEFAULT_CLIENT_SECRET",
    "DEFAULT_OFFSET",
    "DEFAULT_REALM",
    "DEFAULT_REFRESH_TOKEN",
    "QboState",
    "SeedPlan",
]

DEFAULT_REALM = "9130350000000001"
DEFAULT_CLIENT_ID = "emulator-qbo-client"
DEFAULT_CLIENT_SECRET = "emulator-qbo-secret"
DEFAULT_OFFSET = "-08:00"
DEFAULT_REFRESH_TOKEN = "AB11-emulator-dev-refresh-token"


@dataclass(frozen=True)
class SeedPlan:
    """What the default realm is seeded with at start and after a reset."""

    items: int = 0
    tricky: bool = False
    rng_seed: int = 20240101


class QboState:
    """The emulator's data. Mutated only on the server's event loop (handlers, admin)."""

    def __init__(self, *, seed: SeedPlan | None = None, clock: Clock = utc_now,
                 wall_clock: Callable[[], float] = time.time,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self.seed_plan = seed or SeedPlan()
        self._clock = clock
        self._wall_clock = wall_clock
        self._monotonic = monotonic
        self.switches = Switches()
        self.webhooks = QboWebhooks(self.seed_plan.rng_seed)
        self._build()

    def _build(self) -> None:
        self.realms: dict[str, Realm] = {}
        self.tokens = TokenStore(clock=self._wall_clock)
        self.meter = Meter()
        self.throttle = Throttle(self._monotonic)
        self.throttle.configure(self.switches.limits)
        self.create_realm(DEFAULT_REALM, company_offset=DEFAULT_OFFSET,
                          client_id=DEFAULT_CLIENT_ID, client_secret=DEFAULT_CLIENT_SECRET,
                          refresh_value=DEFAULT_REFRESH_TOKEN)
        plan = self.seed_plan
        if plan.items or plan.tricky:
            seed_catalog(self.realms[DEFAULT_REALM], plan.items, self.switches,
                         rng_seed=plan.rng_seed, tricky=plan.tricky)

    def reset(self) -> None:
        """Back to the start: default realm (re-seeded), no other realms, fresh limiters,
        no webhook target."""
        self.webhooks.sender.stop()
        self._build()

    def set_switches(self, switches: Switches) -> None:
        self.switches = switches
        self.throttle.configure(switches.limits)

    def realm(self, realm_id: str) -> Realm:
        found = self.realms.get(realm_id)
        if found is None:
            raise faults.forbidden("Unknown company.")
        return found

    def create_realm(self, realm_id: str | None = None, *, company_offset: str = DEFAULT_OFFSET,
                     client_id: str = DEFAULT_CLIENT_ID,
                     client_secret: str = DEFAULT_CLIENT_SECRET,
                     refresh_value: str | None = None) -> dict[str, Any]:
        """A new company with seeded accounts, connected to the app; returns its identity
        and a first access/refresh token pair."""
        if realm_id is None:
            realm_id = str(int(DEFAULT_REALM) + len(self.realms))
            while realm_id in self.realms:
                realm_id = str(int(realm_id) + 1)
        if not realm_id.isdigit():
            raise ValueError("realm_id must be digits")
        if realm_id in self.realms:
            raise ValueError(f"realm {realm_id} already exists")
        realm = Realm(realm_id, company_offset=company_offset, clock=self._clock)
        realm.listener = self.webhooks.notify
        self.tokens.register_app(client_id, client_secret)
        self.realms[realm_id] = realm
        access, refresh = self.tokens.issue(client_id, realm_id, self.switches,
                                            refresh_value=refresh_value)
        return {"realm_id": realm_id, "company_offset": company_offset,
                "client_id": client_id, "client_secret": client_secret,
                "access_token": access.value, "refresh_token": refresh.value,
                "expires_in": self.switches.access_token_ttl}
