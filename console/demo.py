"""The demo account `productsync run` wires to the emulators' default dev identities.

HubSpot portal 12345678 with its private-app token, QuickBooks company 9130350000000001
with the emulator's dev OAuth client and initial refresh token (README, "Emulators").
The emulators keep their data in memory only, so each `run` starts them seeded afresh;
a demo account left from an earlier run would hold links and cursors pointing at
products that no longer exist, so it is recreated.
"""

from __future__ import annotations

import click
from sqlalchemy import delete, func, select

from console.actions import start_full_sync
from emulators.hubspot import DEV_CLIENT_ID, DEV_CLIENT_SECRET, DEV_PORTAL, DEV_TOKEN
from emulators.quickbooks.state import (
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    DEFAULT_REALM,
    DEFAULT_REFRESH_TOKEN,
)
from emulators.quickbooks.webhooks import DEV_VERIFIER_TOKEN
from models import Account
from models.db import session_scope
from workers.auth import CredentialStore, TokenCipher, TokenGrant, oauth
from workers.engine.accounts import create_account
from workers.errors import SyncError
from workers.secret import Secret
from workers.settings import Settings

DEMO_ACCOUNT = "demo"
# The accounts the QBO emulator seeds in every realm (Income, Cost of Goods Sold, Asset).
DEMO_QBO_ACCOUNTS = {"income": "1", "expense": "3", "asset": "5"}
DEMO_POLL_SECONDS = 10


def emulator_client_settings(settings: Settings) -> dict[str, str]:
    """PRODUCTSYNC_* values that make OAuth and webhooks work against the emulators, for
    every setting the operator left empty (what they did set always wins)."""
    values = {
        "HUBSPOT_CLIENT_ID": (settings.hubspot_client_id, DEV_CLIENT_ID),
        "HUBSPOT_CLIENT_SECRET": (settings.hubspot_client_secret, DEV_CLIENT_SECRET),
        "QUICKBOOKS_CLIENT_ID": (settings.quickbooks_client_id, DEFAULT_CLIENT_ID),
        "QUICKBOOKS_CLIENT_SECRET": (settings.quickbooks_client_secret, DEFAULT_CLIENT_SECRET),
        "QUICKBOOKS_WEBHOOK_VERIFIER_TOKEN": (
            settings.quickbooks_webhook_verifier_token,
            DEV_VERIFIER_TOKEN,
        ),
    }
    return {f"PRODUCTSYNC_{k}": dev for k, (current, dev) in values.items() if not current}


def prepare_demo(settings: Settings) -> int | None:
    """Create (or recreate) the demo account, connect it and start its full sync.

    Returns the run id, or None when the database already holds other accounts (then the
    operator's own setup is left alone).
    """
    with session_scope(settings.database_url) as db:
        others = db.scalar(select(func.count()).where(Account.name != DEMO_ACCOUNT)) or 0
        if others:
            return None
        db.execute(delete(Account).where(Account.name == DEMO_ACCOUNT))
        account = create_account(
            db,
            name=DEMO_ACCOUNT,
            direction="hubspot_to_quickbooks",
            hubspot_portal_id=DEV_PORTAL,
            quickbooks_realm_id=DEFAULT_REALM,
            poll_interval_seconds=DEMO_POLL_SECONDS,
            qbo_income_account_id=DEMO_QBO_ACCOUNTS["income"],
            qbo_expense_account_id=DEMO_QBO_ACCOUNTS["expense"],
            qbo_asset_account_id=DEMO_QBO_ACCOUNTS["asset"],
        )
        account_id = account.id
    store = CredentialStore(settings.database_url, TokenCipher(settings.effective_encryption_key))
    store.save(
        account_id, "hubspot", "private_app", TokenGrant(Secret(DEV_TOKEN), None, None, None)
    )
    try:
        # A real token exchange against the emulator, exactly as `connect` ends.
        grant = oauth.refresh("quickbooks", Secret(DEFAULT_REFRESH_TOKEN), settings)
    except SyncError as exc:
        raise click.ClickException(
            f"the QuickBooks emulator refused the demo connection: {exc.message}"
        ) from None
    store.save(account_id, "quickbooks", "oauth", grant)
    return start_full_sync(settings, account_id)
