"""Connectors against the emulators over real sockets, real Postgres and a throwaway Redis.

Each test gets its own vendor account (a fresh QBO realm / HubSpot portal) and its own
account row, so tests never see each other's products, tokens or rate budgets.
"""

from __future__ import annotations

import itertools
import multiprocessing
import uuid
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import redis

from emulators.client import EmulatorAdmin
from emulators.core import EmulatorHandle, start_in_thread
from models.account import Account
from models.db import session_scope
from models.migrate import upgrade
from workers.auth import CredentialStore, TokenCipher, TokenGrant
from workers.catalog.factory import catalog_for, close_all
from workers.secret import Secret
from workers.settings import Settings

QBO_CLIENT = ("emulator-qbo-client", "emulator-qbo-secret")
HUBSPOT_CLIENT = ("emulator-hubspot-client", "emulator-hubspot-secret")
_names = itertools.count(1)


@pytest.fixture(scope="session")
def migrated_db(database_url: str) -> str:
    upgrade(database_url)
    return database_url


@pytest.fixture(scope="session")
def qbo_server() -> Iterator[EmulatorHandle]:
    from emulators.quickbooks.app import create_app

    with start_in_thread(create_app()) as handle:
        yield handle


@pytest.fixture(scope="session")
def hubspot_server() -> Iterator[EmulatorHandle]:
    from emulators.hubspot.app import create_app

    with start_in_thread(create_app()) as handle:
        yield handle


@pytest.fixture
def rclient(redis_url: str) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(redis_url)
    yield client
    client.close()


@pytest.fixture(autouse=True)
def _fresh_process_caches() -> Iterator[None]:
    close_all()
    yield
    close_all()


def make_settings(
    qbo: EmulatorHandle | None = None, hub: EmulatorHandle | None = None, **extra: Any
) -> Settings:
    values: dict[str, Any] = {
        "quickbooks_client_id": QBO_CLIENT[0],
        "quickbooks_client_secret": Secret(QBO_CLIENT[1]),
        "hubspot_client_id": HUBSPOT_CLIENT[0],
        "hubspot_client_secret": Secret(HUBSPOT_CLIENT[1]),
        "http_connect_timeout": 2.0,
        "http_read_timeout": 2.0,
    }
    if qbo is not None:
        values["quickbooks_api_base"] = qbo.url
    if hub is not None:
        values["hubspot_api_base"] = hub.url
    values.update(extra)
    return Settings(**values)


def new_account(database_url: str, **columns: Any) -> int:
    with session_scope(database_url) as session:
        account = Account(name=f"conn-{uuid.uuid4().hex[:8]}-{next(_names)}", **columns)
        session.add(account)
        session.flush()
        return account.id


def store_tokens(
    database_url: str,
    settings: Settings,
    account_id: int,
    system: str,
    kind: str,
    access: str,
    refresh: str | None,
    expires_in: int | None,
) -> None:
    store = CredentialStore(database_url, TokenCipher(settings.effective_encryption_key))
    now = datetime.now(UTC)
    grant = TokenGrant(
        access_token=Secret(access),
        refresh_token=Secret(refresh) if refresh else None,
        access_expires_at=now + timedelta(seconds=expires_in) if expires_in else None,
        refresh_expires_at=None,
    )
    store.save(account_id, system, kind, grant)


class QboWorld:
    """One fresh realm, its account row and stored tokens, plus the admin client."""

    def __init__(
        self, server: EmulatorHandle, database_url: str, rclient: redis.Redis, **settings: Any
    ) -> None:
        self.server = server
        self.admin = EmulatorAdmin(server.url)
        self.database_url = database_url
        self.redis = rclient
        self.settings = make_settings(qbo=server, **settings)
        made = self.admin.vendor("POST", "quickbooks/realms", json={})
        self.realm = made["realm_id"]
        self.access_token = made["access_token"]
        self.refresh_token = made["refresh_token"]
        self.account_id = new_account(
            database_url,
            quickbooks_realm_id=self.realm,
            qbo_income_account_id="1",
            qbo_expense_account_id="3",
            qbo_asset_account_id="5",
            qbo_default_item_type="NonInventory",
        )
        store_tokens(
            database_url,
            self.settings,
            self.account_id,
            "quickbooks",
            "oauth",
            made["access_token"],
            made["refresh_token"],
            int(made["expires_in"]),
        )

    def catalog(self) -> Any:
        return catalog_for(
            "quickbooks",
            self.account_id,
            settings=self.settings,
            database_url=self.database_url,
            redis_client=self.redis,
        )

    def ledger(self, since: int = 0, **filters: Any) -> list[dict[str, Any]]:
        return self.admin.ledger(since=since, account=self.realm, **filters)

    def add_item(self, **fields: Any) -> dict[str, Any]:
        body = {
            "Type": "NonInventory",
            "IncomeAccountRef": {"value": "1"},
            "ExpenseAccountRef": {"value": "3"},
            **fields,
        }
        made = self.admin.vendor("POST", f"quickbooks/realms/{self.realm}/items", json=body)
        return made["Item"]


def spawn_find_skus(
    world: QboWorld, redis_url: str, *, processes: int, threads: int, calls: int
) -> list[str]:
    """Run `procs.find_skus` in ``processes`` spawned worker processes; their errors."""
    from tests.connectors.procs import find_skus

    values = {
        "quickbooks_api_base": world.server.url,
        "quickbooks_client_id": world.settings.quickbooks_client_id,
        "quickbooks_client_secret": world.settings.quickbooks_client_secret.reveal(),
        "http_connect_timeout": 2.0,
        "http_read_timeout": 5.0,
    }
    args = (values, world.database_url, redis_url, world.account_id, threads, calls)
    with ProcessPoolExecutor(processes, mp_context=multiprocessing.get_context("spawn")) as pool:
        futures = [pool.submit(find_skus, *args) for _ in range(processes)]
        return [e for f in futures for e in f.result(timeout=60)]


@pytest.fixture
def qbo(qbo_server: EmulatorHandle, migrated_db: str, rclient: redis.Redis) -> QboWorld:
    return QboWorld(qbo_server, migrated_db, rclient)


class HubWorld:
    """One fresh HubSpot portal with a private-app (or OAuth) token, and its account row."""

    def __init__(
        self,
        server: EmulatorHandle,
        database_url: str,
        rclient: redis.Redis,
        *,
        oauth: bool = False,
    ) -> None:
        self.server = server
        self.admin = EmulatorAdmin(server.url)
        self.database_url = database_url
        self.redis = rclient
        self.settings = make_settings(hub=server)
        made = self.admin.vendor("POST", "hubspot/portals", json={})
        self.portal = str(made["portal_id"])
        self.token = made["token"]
        self.refresh_token: str | None = None
        self.account_id = new_account(database_url, hubspot_portal_id=self.portal)
        if oauth:
            issued = self.admin.vendor(
                "POST", f"hubspot/portals/{self.portal}/tokens", json={"kind": "oauth"}
            )
            self.token, self.refresh_token = issued["token"], issued["refresh_token"]
            store_tokens(
                database_url,
                self.settings,
                self.account_id,
                "hubspot",
                "oauth",
                self.token,
                self.refresh_token,
                int(issued["expires_in"]),
            )
        else:
            store_tokens(
                database_url,
                self.settings,
                self.account_id,
                "hubspot",
                "private_app",
                self.token,
                None,
                None,
            )

    def catalog(self) -> Any:
        return catalog_for(
            "hubspot",
            self.account_id,
            settings=self.settings,
            database_url=self.database_url,
            redis_client=self.redis,
        )

    def ledger(self, since: int = 0, **filters: Any) -> list[dict[str, Any]]:
        return self.admin.ledger(since=since, account=self.portal, **filters)

    def add_product(self, **properties: str) -> dict[str, Any]:
        return self.admin.vendor(
            "POST", f"hubspot/portals/{self.portal}/products", json={"properties": properties}
        )


@pytest.fixture
def hub(
    hubspot_server: EmulatorHandle, migrated_db: str, rclient: redis.Redis
) -> Iterator[HubWorld]:
    admin = EmulatorAdmin(hubspot_server.url)
    admin.set_knobs(search_lag_create_ms=0, search_lag_update_ms=0)
    yield HubWorld(hubspot_server, migrated_db, rclient)
    admin.clear_faults()
    admin.set_knobs(
        search_lag_create_ms=0,
        search_lag_update_ms=0,
        hs_sku_unique=False,
        search_eq_case_insensitive=True,
        not_found_body="empty",
    )
