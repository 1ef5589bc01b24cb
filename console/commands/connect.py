"""`productsync connect hubspot|quickbooks --account NAME`: store an account's vendor
credentials, encrypted.

HubSpot: a private-app token read from stdin (``--token-stdin``) or from the environment
variable ``PRODUCTSYNC_HUBSPOT_TOKEN`` (never from argv, which other users can see), or
``--oauth`` for the authorization-code flow. QuickBooks: always the authorization-code
flow; the company (realm) id comes back with the code. Tokens are never printed.
"""

from __future__ import annotations

import os
import sys
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import click

from console.output import account_named, account_option, session, settings
from workers.auth import CredentialStore, TokenCipher, TokenGrant, exchange_code
from workers.auth.authorize import CallbackServer, authorization_url, new_state
from workers.errors import SyncError
from workers.http import Timeouts, bearer, hubspot_error, parse_body, send
from workers.secret import Secret
from workers.settings import Settings

TOKEN_ENV = "PRODUCTSYNC_HUBSPOT_TOKEN"
VENDOR = {"hubspot": "HubSpot", "quickbooks": "QuickBooks"}


@click.group("connect")
def command() -> None:
    """Connect an account to HubSpot or QuickBooks (tokens are stored encrypted)."""


def _timeout_option(func: click.decorators.FC) -> click.decorators.FC:
    return click.option(
        "--timeout",
        type=click.FloatRange(min=1),
        default=300,
        show_default=True,
        help="Seconds to wait for the browser to come back.",
    )(func)


@command.command("hubspot")
@account_option()
@click.option("--token-stdin", is_flag=True, help="Read a private-app token from stdin.")
@click.option("--oauth", is_flag=True, help="Connect through HubSpot's OAuth consent page.")
@_timeout_option
def hubspot(account_name: str, token_stdin: bool, oauth: bool, timeout: float) -> None:
    """Connect ACCOUNT to its HubSpot portal (private-app token or OAuth)."""
    if token_stdin and oauth:
        raise click.UsageError("choose one of --token-stdin and --oauth")
    config = settings()
    portal: str | None = None
    if oauth:
        grant, _ = _authorize("hubspot", config, timeout)
        portal, kind = grant.portal_id, "oauth"
    else:
        grant, kind = TokenGrant(_private_token(token_stdin), None, None, None), "private_app"
        _check_private_token(grant.access_token, config)
    details = portal_details(grant.access_token, config)
    account_id, portal = _remember(account_name, "hubspot", portal or details.get("portalId"))
    time_zone = details.get("timeZone")
    _store(config).save(account_id, "hubspot", kind, grant, time_zone=time_zone)
    if not time_zone:
        click.echo(
            "note: the portal's time zone is unknown; its daily API limit is assumed to "
            "reset at midnight UTC"
        )
    how = "OAuth" if oauth else "private-app token"
    click.echo(
        f"connected account {account_name!r} to HubSpot portal {portal} ({how}); "
        "the token is stored encrypted"
    )


@command.command("quickbooks")
@account_option()
@_timeout_option
def quickbooks(account_name: str, timeout: float) -> None:
    """Connect ACCOUNT to its QuickBooks Online company (OAuth)."""
    config = settings()
    with session() as db:
        account_named(db, account_name)  # fail before the browser dance, not after
    grant, realm = _authorize("quickbooks", config, timeout)
    if not realm:
        raise click.ClickException("QuickBooks did not say which company was connected")
    account_id, realm = _remember(account_name, "quickbooks", realm)
    _store(config).save(account_id, "quickbooks", "oauth", grant)
    click.echo(
        f"connected account {account_name!r} to QuickBooks company {realm}; "
        "the tokens are stored encrypted"
    )


def _authorize(system: str, config: Settings, timeout: float) -> tuple[TokenGrant, str | None]:
    state = new_state()
    url = authorization_url(system, config, state)
    try:
        server = CallbackServer(config.oauth_redirect_uri, state)
    except OSError as exc:
        raise click.ClickException(
            f"cannot listen on {config.oauth_redirect_uri} ({exc.strerror}); free the port or "
            "set PRODUCTSYNC_OAUTH_REDIRECT_URI (it must match the app's registered redirect)"
        ) from None
    with server:
        click.echo(f"Open this URL in a browser and approve access to {VENDOR[system]}:")
        click.echo(url)
        callback = server.wait(timeout, system)
    grant = exchange_code(system, callback.code, config)
    return grant, callback.realm_id or grant.portal_id


def _private_token(from_stdin: bool) -> Secret:
    raw = sys.stdin.readline() if from_stdin else os.environ.get(TOKEN_ENV, "")
    token = raw.strip()
    if not token:
        raise click.ClickException(
            "no private-app token given: pipe it in with --token-stdin or set "
            f"{TOKEN_ENV} (it is never accepted as an argument)"
        )
    return Secret(token)


def _check_private_token(token: Secret, config: Settings) -> None:
    """One cheap read with the token, so a typo fails here and not in the first sync."""
    url = f"{config.hubspot_api_base.rstrip('/')}/crm/v3/objects/products"
    timeouts = Timeouts(config.http_connect_timeout, config.http_read_timeout)
    answer = send("hubspot", "GET", url, timeouts=timeouts, auth=bearer(token), params={"limit": 1})
    error = hubspot_error(answer)
    if error is not None:
        raise click.ClickException(f"HubSpot did not accept the token: {error.message}")


def portal_details(token: Secret, config: Settings) -> dict[str, str]:
    """``portalId`` and ``timeZone`` from HubSpot's account-info API; empty when the
    portal does not answer it (older apps lack the scope; the emulators lack the API).
    The time zone decides when the portal's daily limit resets."""
    url = f"{config.hubspot_api_base.rstrip('/')}/account-info/v3/details"
    timeouts = Timeouts(config.http_connect_timeout, config.http_read_timeout)
    try:
        answer = send("hubspot", "GET", url, timeouts=timeouts, auth=bearer(token))
    except SyncError:
        return {}
    body = parse_body(answer) if answer.status_code == 200 else None
    if not isinstance(body, dict):
        return {}
    found = {key: str(body[key]) for key in ("portalId", "timeZone") if body.get(key)}
    if "timeZone" in found:
        try:
            ZoneInfo(found["timeZone"])
        except (ZoneInfoNotFoundError, ValueError):
            del found["timeZone"]
    return found


def _remember(account_name: str, system: str, vendor_id: str | None) -> tuple[int, str]:
    """The account id and vendor account id; records the vendor id the flow revealed."""
    with session() as db:
        account = account_named(db, account_name)
        column = "hubspot_portal_id" if system == "hubspot" else "quickbooks_realm_id"
        known = getattr(account, column)
        if vendor_id and vendor_id != known:
            if known:
                click.echo(
                    f"note: the account's {VENDOR[system]} id changes from {known} "
                    f"to {vendor_id} (the one just authorized)"
                )
            setattr(account, column, vendor_id)
            known = vendor_id
        if not known:
            raise click.ClickException(
                f"account {account_name!r} has no {VENDOR[system]} id; set it with "
                "`productsync accounts set`"
            )
        return account.id, known


def _store(config: Settings) -> CredentialStore:
    return CredentialStore(config.database_url, TokenCipher(config.effective_encryption_key))
