"""`productsync accounts`: add, list, show, set, with one-line errors on bad input."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from models import Account, Credential, FieldMappingRow, HistoryEntry, ProductLink
from models.db import session_scope
from tests.cli.conftest import Invoke, add_account
from workers.auth.crypto import TokenCipher
from workers.secret import Secret
from workers.settings import get_settings


def test_add_creates_default_mappings_and_list_shows_it(
    productsync: Invoke, cli_database: str
) -> None:
    add_account(productsync, "acme", "--qbo-income-account", "1", "--qbo-expense-account", "2")
    with session_scope(cli_database) as db:
        rows = db.scalars(select(FieldMappingRow).order_by(FieldMappingRow.position)).all()
        pairs = [(r.hubspot_field, r.quickbooks_field, r.converter) for r in rows]
    assert pairs[:4] == [
        ("name", "Name", "name"),
        ("hs_sku", "Sku", "sku"),
        ("description", "Description", "description"),
        ("price", "UnitPrice", "money"),
    ]
    listed = productsync("accounts", "list", "--json")
    assert listed.exit_code == 0
    acme = next(a for a in listed.json() if a["name"] == "acme")
    assert acme["direction"] == "hubspot_to_quickbooks"
    assert acme["hubspot"] == acme["quickbooks"] == "not connected"
    text = productsync("accounts", "list")
    assert "acme" in text.stdout and "hubspot_to_quickbooks" in text.stdout


def test_add_refuses_bad_input_in_one_line(productsync: Invoke) -> None:
    add_account(productsync, "dupe")
    again = productsync(
        "accounts",
        "add",
        "dupe",
        "--hubspot-portal",
        "1",
        "--quickbooks-realm",
        "2",
        "--direction",
        "quickbooks_to_hubspot",
    )
    assert again.exit_code == 1
    assert again.stderr.strip() == "Error: an account named 'dupe' already exists"
    bad_direction = productsync(
        "accounts",
        "add",
        "x",
        "--hubspot-portal",
        "1",
        "--quickbooks-realm",
        "2",
        "--direction",
        "sideways",
    )
    assert bad_direction.exit_code == 2
    assert "sideways" in bad_direction.stderr and "Traceback" not in bad_direction.stderr
    bad_portal = productsync(
        "accounts",
        "add",
        "y",
        "--hubspot-portal",
        "12ab",
        "--quickbooks-realm",
        "2",
        "--direction",
        "hubspot_to_quickbooks",
    )
    assert bad_portal.exit_code == 2
    assert "digits only" in bad_portal.stderr


def test_show_describes_credentials_without_tokens(productsync: Invoke, cli_database: str) -> None:
    add_account(productsync, "shown")
    cipher = TokenCipher(get_settings().effective_encryption_key)
    refresh_expiry = datetime.now(UTC) + timedelta(days=3)
    with session_scope(cli_database) as db:
        account_id = productsync("accounts", "show", "shown", "--json").json()["id"]
        db.add(
            Credential(
                account_id=account_id,
                system="quickbooks",
                kind="oauth",
                access_token_enc=cipher.encrypt(Secret("access-SECRET-value")),
                refresh_token_enc=cipher.encrypt(Secret("refresh-SECRET-value")),
                access_expires_at=datetime.now(UTC) + timedelta(hours=1),
                refresh_expires_at=refresh_expiry,
            )
        )
    shown = productsync("accounts", "show", "shown", "--json")
    assert shown.exit_code == 0
    report = shown.json()
    assert report["credentials"]["quickbooks"]["health"] == "ok (reconnect within a week)"
    assert report["credentials"]["hubspot"] == {"connected": False, "health": "not connected"}
    assert report["mappings"][1] == {
        "hubspot_field": "hs_sku",
        "quickbooks_field": "Sku",
        "converter": "sku",
    }
    text = productsync("accounts", "show", "shown")
    for output in (shown.stdout, text.stdout):
        assert "SECRET" not in output and "gAAAA" not in output  # no token, no ciphertext
    assert "quickbooks [oauth]: ok (reconnect within a week)" in text.stdout


def test_set_changes_defaults_and_unknown_account_is_one_line(productsync: Invoke) -> None:
    add_account(productsync, "settable")
    result = productsync(
        "accounts",
        "set",
        "settable",
        "--qbo-income-account",
        "79",
        "--poll-interval",
        "30",
        "--disable",
    )
    assert result.exit_code == 0, result.stderr
    report = productsync("accounts", "show", "settable", "--json").json()
    assert report["qbo_defaults"]["income_account"] == "79"
    assert report["poll_interval_seconds"] == 30
    assert report["enabled"] is False
    assert productsync("accounts", "set", "settable").exit_code == 2  # nothing to change
    missing = productsync("accounts", "show", "nobody")
    assert missing.exit_code == 1
    assert missing.stderr.strip() == (
        "Error: no account named 'nobody' (`productsync accounts list` shows them)"
    )


def test_set_moves_portal_only_before_anything_synced(
    productsync: Invoke, cli_database: str
) -> None:
    account_id = add_account(productsync, "movable")
    moved = productsync("accounts", "set", "movable", "--hubspot-portal", "999")
    assert moved.exit_code == 0, moved.stderr
    assert productsync("accounts", "show", "movable", "--json").json()["hubspot_portal"] == "999"
    with session_scope(cli_database) as db:
        db.add(ProductLink(account_id=account_id, sku="A", hubspot_id="1", quickbooks_id="2"))
    refused = productsync("accounts", "set", "movable", "--quickbooks-realm", "777")
    assert refused.exit_code == 1
    assert "already synced products with its QuickBooks company" in refused.stderr
    same = productsync("accounts", "set", "movable", "--hubspot-portal", "999")
    assert same.exit_code == 0  # not a move


def test_lifecycle_policy_is_set_recorded_and_a_hold_released(
    productsync: Invoke, cli_database: str
) -> None:
    add_account(productsync, "cycle")
    shown = productsync("accounts", "show", "cycle", "--json").json()
    assert shown["lifecycle_policy"] == "ignore"  # the default: archives are not synced
    nothing = productsync("accounts", "set", "cycle", "--release-held")
    assert nothing.exit_code != 0 and "no archives held" in nothing.stderr
    assert "Traceback" not in nothing.stderr
    bad = productsync("accounts", "set", "cycle", "--lifecycle", "delete")
    assert bad.exit_code != 0 and "Traceback" not in bad.stderr

    done = productsync("accounts", "set", "cycle", "--lifecycle", "mirror")
    assert done.exit_code == 0 and "lifecycle_policy=mirror" in done.stdout
    with session_scope(cli_database) as db:
        account = db.scalars(select(Account).where(Account.name == "cycle")).one()
        [row] = db.scalars(
            select(HistoryEntry).where(
                HistoryEntry.account_id == account.id, HistoryEntry.action == "configured"
            )
        ).all()
        assert row.changes == {"lifecycle_policy": ["ignore", "mirror"]}
        assert "command line" in (row.error_message or "")
        account.lifecycle_held_at = datetime.now(UTC)
        account.lifecycle_hold_reason = "A poll saw 40 of the 50 linked products archived"
    status = productsync("status", "--account", "cycle")
    assert "lifecycle policy: mirror" in status.stdout
    assert "ARCHIVING HELD" in status.stdout and "40 of the 50" in status.stdout

    released = productsync("accounts", "set", "cycle", "--release-held")
    assert released.exit_code == 0 and "0 held archive jobs released" in released.stdout
    with session_scope(cli_database) as db:
        account = db.scalars(select(Account).where(Account.name == "cycle")).one()
        assert account.lifecycle_held_at is None
