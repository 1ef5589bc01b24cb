"""Links from the history to the products in the vendors' own web apps.

Only when the service talks to the real vendor: against the emulators there is no web
app to open, so ids are shown as plain text. The URL patterns are the vendors' record
pages as of 2026 (HubSpot CRM record page of object type 0-7 = products; QuickBooks
Online's item page, sandbox companies on their own host). They are not part of any API
contract, so they live here, in one place, to be corrected if a vendor moves them.
"""

from __future__ import annotations

from urllib.parse import quote

from workers.settings import HUBSPOT_PRODUCTION, QUICKBOOKS_PRODUCTION, QUICKBOOKS_SANDBOX, Settings

HUBSPOT_APP = "https://app.hubspot.com"
QUICKBOOKS_APP = "https://app.qbo.intuit.com"
QUICKBOOKS_SANDBOX_APP = "https://app.sandbox.qbo.intuit.com"


def hubspot_product_url(settings: Settings, portal_id: str | None, product_id: str) -> str | None:
    if settings.hubspot_api_base.rstrip("/") != HUBSPOT_PRODUCTION or not portal_id:
        return None
    portal, product = quote(portal_id, safe=""), quote(product_id, safe="")
    return f"{HUBSPOT_APP}/contacts/{portal}/record/0-7/{product}"


def quickbooks_item_url(settings: Settings, item_id: str) -> str | None:
    base = settings.quickbooks_api_base.rstrip("/")
    if base == QUICKBOOKS_PRODUCTION:
        app = QUICKBOOKS_APP
    elif base == QUICKBOOKS_SANDBOX:
        app = QUICKBOOKS_SANDBOX_APP
    else:
        return None
    return f"{app}/app/item?itemId={quote(item_id, safe='')}"
