"""Build the `Catalog` of one account in one system, from what Postgres says about it.

The sync engine calls `catalog_for` per job; what is worth keeping between jobs (pooled
HTTP sessions, the cached access token, what a HubSpot portal's properties allow) is kept
per process and dropped by `close_all` (call it after fork and at shutdown).
"""

from __future__ import annotations

import logging
import os
import threading
from datetime import UTC, tzinfo
from functools import partial
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import redis
from sqlalchemy import select

from models.account import Account
from models.credential import Credential
from models.db import session_scope
from models.field_mapping import FieldMappingRow
from workers.auth import CredentialStore, TokenCipher, TokenSource, oauth
from workers.catalog.hubspot import HubSpotCatalog
from workers.catalog.hubspot import schema as hubspot_schema
from workers.catalog.port import Catalog, System
from workers.catalog.quickbooks import QuickBooksCatalog
from workers.errors import DataError, NotFound, ReauthRequired
from workers.http import Timeouts, hubspot_error, hubspot_pause, quickbooks_error
from workers.http import close_all as close_sessions
from workers.http.caller import VendorCaller
from workers.http.circuit import Circuit
from workers.ratelimit import RateBudget, limits_for
from workers.settings import Settings

log = logging.getLogger(__name__)

_sources: dict[tuple[int, str, int, str], TokenSource] = {}
_lock = threading.Lock()


def catalog_for(
    system: System,
    account_id: int,
    *,
    settings: Settings,
    database_url: str,
    redis_client: redis.Redis,
) -> Catalog:
    """The account's catalog in ``system``. Raises `NotFound` for an unknown account and
    `ReauthRequired` when the account is not connected to ``system`` yet."""
    with session_scope(database_url) as session:
        account = session.get(Account, account_id)
        if account is None:
            raise NotFound(f"account {account_id} does not exist", code="unknown_account")
        credential = session.execute(
            select(Credential).where(
                Credential.account_id == account_id, Credential.system == system
            )
        ).scalar_one_or_none()
        overrides: dict[str, Any] = dict(credential.rate_limits or {}) if credential else {}
        kind = credential.kind if credential else None
        zone = _zone(credential.time_zone if credential else None)
        vendor_id = (
            account.hubspot_portal_id if system == "hubspot" else account.quickbooks_realm_id
        )
        defaults = _qbo_defaults(account)
        # Custom HubSpot properties an account maps are read too; HubSpot only returns the
        # properties a request names, and an unread one would look empty.
        mapped = session.scalars(
            select(FieldMappingRow.hubspot_field).where(FieldMappingRow.account_id == account_id)
        ).all()
    if not vendor_id:
        raise ReauthRequired(
            f"account {account.name!r} is not connected to {system}; run "
            f"`productsync connect {system} --account {account.name}`",
            system=system,
        )
    timeouts = Timeouts(settings.http_connect_timeout, settings.http_read_timeout)
    # A lease outlives the slowest legitimate call, so only a dead worker's slot expires.
    overrides.setdefault("lease_seconds", timeouts.connect + timeouts.read + 5.0)
    try:
        limits = limits_for(system, overrides, kind=kind)
    except ValueError as exc:
        raise DataError(f"account {account.name!r}: {exc}", system=system) from None
    budget = RateBudget(redis_client, system, vendor_id, limits, local_zone=zone)
    circuit = Circuit(
        redis_client,
        system,
        vendor_id,
        threshold=settings.circuit_failure_threshold,
        cooldown_seconds=settings.circuit_cooldown_seconds,
    )
    tokens = _token_source(system, account_id, settings, database_url)
    if system == "hubspot":
        caller = VendorCaller(
            "hubspot",
            settings.hubspot_api_base,
            tokens=tokens,
            budget=budget,
            timeouts=timeouts,
            classify=partial(hubspot_error, portal_timezone=zone),
            # HubSpot: "401s are not a valid indicator that a new token must be retrieved";
            # OAuth tokens are refreshed ahead of expires_in instead.
            replay_on_401=False,
            pause_hint=hubspot_pause,
            circuit=circuit,
        )
        return HubSpotCatalog(caller, vendor_id, properties=mapped)
    caller = VendorCaller(
        "quickbooks",
        settings.quickbooks_api_base,
        tokens=tokens,
        budget=budget,
        timeouts=timeouts,
        classify=quickbooks_error,
        replay_on_401=True,
        circuit=circuit,
    )
    return QuickBooksCatalog(
        caller,
        vendor_id,
        minor_version=settings.quickbooks_minor_version,
        create_defaults=defaults,
    )


def close_all() -> None:
    """Drop this process's pooled sessions, cached tokens and portal facts."""
    with _lock:
        _sources.clear()
    hubspot_schema.forget_all()
    close_sessions()


def _token_source(
    system: str, account_id: int, settings: Settings, database_url: str
) -> TokenSource:
    key = (os.getpid(), database_url, account_id, system)
    with _lock:
        source = _sources.get(key)
        if source is None:
            store = CredentialStore(database_url, TokenCipher(settings.effective_encryption_key))
            refresher = partial(oauth.refresh, system, settings=settings)
            source = _sources[key] = TokenSource(store, account_id, system, refresher)
        return source


def _zone(name: str | None) -> tzinfo:
    if not name:
        return UTC
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        log.warning(
            "unknown time zone %r (is tzdata installed?); daily limits reset at UTC "
            "midnight instead",
            name,
        )
        return UTC


def _qbo_defaults(account: Account) -> dict[str, Any]:
    """What QBO requires on create that a product mapping does not carry."""
    defaults: dict[str, Any] = {"Type": account.qbo_default_item_type}
    refs = {
        "IncomeAccountRef": account.qbo_income_account_id,
        "ExpenseAccountRef": account.qbo_expense_account_id,
        "AssetAccountRef": account.qbo_asset_account_id,
    }
    defaults.update({name: {"value": value} for name, value in refs.items() if value})
    return defaults
