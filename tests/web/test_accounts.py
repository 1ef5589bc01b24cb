"""Account settings: mappings validated on save (nothing saved when refused), reset,
direction switch; credentials shown by status and expiry only, never a token."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from flask.testing import FlaskClient

from models import Account, Credential, Job
from models.db import session_scope
from tests.web.conftest import PASSWORD, SECRET_KEY
from tests.web.seed import DEFAULT_ROWS, mapping_form, saved_mappings
from workers.auth import TokenCipher
from workers.engine.accounts import create_account
from workers.mapping import DEFAULT_MAPPINGS, FieldMapping
from workers.secret import Secret
from workers.settings import Settings


def _account(database_url: str) -> Account:
    with session_scope(database_url) as session:
        return create_account(
            session,
            name=f"Settings {uuid.uuid4().hex[:8]}",
            hubspot_portal_id="12345678",
            quickbooks_realm_id="9130350000000001",
        )


def test_settings_page_shows_direction_mappings_and_explains_the_switch(
    client: FlaskClient, user: str, web_database: str
) -> None:
    account = _account(web_database)
    html = client.get(f"/accounts/{account.id}").get_data(as_text=True)
    assert "What happens when you switch" in html
    for hubspot_field, quickbooks_field, _ in DEFAULT_ROWS:
        assert f'value="{hubspot_field}"' in html and f'value="{quickbooks_field}"' in html
    assert "not connected" in html


def test_an_unknown_field_is_refused_with_a_message_and_nothing_is_saved(
    client: FlaskClient, user: str, web_database: str
) -> None:
    account = _account(web_database)
    form = mapping_form(
        user,
        list(DEFAULT_MAPPINGS),
        **{"new-hubspot": "no_such_property", "new-quickbooks": "PurchaseCost"},
        **{"new-converter": "money"},
    )
    response = client.post(f"/accounts/{account.id}/mappings", data=form)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "Nothing was saved" in html
    assert "HubSpot has no field &#34;no_such_property&#34;" in html
    # Not connected to HubSpot: the page says validation used the standard properties.
    assert "standard product properties" in html
    # The table is shown as submitted so the user can fix it.
    assert 'value="no_such_property"' in html
    assert saved_mappings(web_database, account.id) == DEFAULT_ROWS


def test_an_impossible_conversion_is_refused(
    client: FlaskClient, user: str, web_database: str
) -> None:
    account = _account(web_database)
    broken = [*DEFAULT_MAPPINGS[:3], FieldMapping("price", "UnitPrice", "product_type")]
    response = client.post(f"/accounts/{account.id}/mappings", data=mapping_form(user, broken))
    assert response.status_code == 422
    assert "the product_type converter needs an enumeration field" in response.get_data(
        as_text=True
    )
    assert saved_mappings(web_database, account.id) == DEFAULT_ROWS


def test_removing_the_sku_mapping_is_refused(
    client: FlaskClient, user: str, web_database: str
) -> None:
    account = _account(web_database)
    form = mapping_form(user, list(DEFAULT_MAPPINGS), **{"remove-1": "1"})
    response = client.post(f"/accounts/{account.id}/mappings", data=form)
    assert response.status_code == 422
    assert "the SKU mapping is missing" in response.get_data(as_text=True)
    assert saved_mappings(web_database, account.id) == DEFAULT_ROWS


def test_add_remove_and_reset_mappings(client: FlaskClient, user: str, web_database: str) -> None:
    account = _account(web_database)
    add = mapping_form(
        user,
        list(DEFAULT_MAPPINGS),
        **{"new-hubspot": "hs_cost_of_goods_sold", "new-quickbooks": "PurchaseCost"},
        **{"new-converter": "money", "remove-2": "1"},
    )
    response = client.post(f"/accounts/{account.id}/mappings", data=add)
    assert response.status_code == 302
    expected = [
        DEFAULT_ROWS[0],
        DEFAULT_ROWS[1],
        DEFAULT_ROWS[3],
        ("hs_cost_of_goods_sold", "PurchaseCost", "money"),
    ]
    assert saved_mappings(web_database, account.id) == expected
    page = client.get(f"/accounts/{account.id}").get_data(as_text=True)
    assert "Saved 4 field mappings." in page
    assert 'value="hs_cost_of_goods_sold"' in page

    reset = client.post(f"/accounts/{account.id}/mappings/reset", data={"csrf_token": user})
    assert reset.status_code == 302
    assert saved_mappings(web_database, account.id) == DEFAULT_ROWS


def test_direction_switch_skips_waiting_jobs_of_the_old_direction(
    client: FlaskClient, user: str, web_database: str
) -> None:
    account = _account(web_database)
    with session_scope(web_database) as session:
        job = Job(
            account_id=account.id,
            source_system="hubspot",
            source_id="1",
            reason="poll",
            request_id="r1",
        )
        session.add(job)
        session.flush()
        job_id = job.id
    response = client.post(
        f"/accounts/{account.id}/direction",
        data={"csrf_token": user, "direction": "quickbooks_to_hubspot"},
    )
    assert response.status_code == 302
    with session_scope(web_database) as session:
        assert session.get(Account, account.id).direction == "quickbooks_to_hubspot"  # type: ignore[union-attr]
        assert session.get(Job, job_id).status == "skipped"  # type: ignore[union-attr]
    page = client.get(f"/accounts/{account.id}").get_data(as_text=True)
    assert "Direction switched to QuickBooks → HubSpot. 1 waiting sync(s)" in page

    bad = client.post(
        f"/accounts/{account.id}/direction", data={"csrf_token": user, "direction": "both"}
    )
    assert bad.status_code == 400


def test_no_token_or_configured_secret_appears_on_any_page(
    client: FlaskClient, user: str, web_database: str, settings: Settings
) -> None:
    account = _account(web_database)
    cipher = TokenCipher(settings.effective_encryption_key)
    access, refresh = "at-VERY-SECRET-ACCESS-123", "rt-VERY-SECRET-REFRESH-456"
    with session_scope(web_database) as session:
        session.add(
            Credential(
                account_id=account.id,
                system="quickbooks",
                kind="oauth",
                access_token_enc=cipher.encrypt(Secret(access)),
                refresh_token_enc=cipher.encrypt(Secret(refresh)),
                access_expires_at=datetime(2026, 12, 1, tzinfo=UTC),
                refresh_expires_at=datetime(2027, 3, 1, tzinfo=UTC),
            )
        )
    pages = [
        "/products",
        "/accounts",
        f"/accounts/{account.id}",
        f"/products?account={account.id}",
    ]
    for url in pages:
        html = client.get(url).get_data(as_text=True)
        for secret in (access, refresh, PASSWORD, SECRET_KEY, "gAAAAA"):
            assert secret not in html, (url, secret)
    detail = client.get(f"/accounts/{account.id}").get_data(as_text=True)
    assert "2026-12-01 00:00:00 UTC" in detail and "2027-03-01 00:00:00 UTC" in detail
    assert "connected" in detail


def test_accounts_page_shows_waiting_polls_and_each_workers_liveness(
    client: FlaskClient, user: str, web_database: str, settings: Settings
) -> None:
    import time

    import redis

    from models import SyncRun
    from workers import liveness

    account = _account(web_database)
    with session_scope(web_database) as session:
        session.add(
            SyncRun(
                account_id=account.id,
                kind="poll",
                direction=account.direction,
                status="waiting",
                wait_reason="[quota] daily limit reached",
            )
        )
    store = redis.Redis.from_url(settings.redis_url)
    now = time.time()
    liveness.record(store, "web-ok@a", deadline=10, seen={"sync": now - 4}, starved={}, now=now)
    liveness.record(store, "web-deaf@b", deadline=10, seen={}, starved={"bulk": now - 60}, now=now)
    try:
        page = client.get("/accounts").get_data(as_text=True)
    finally:
        store.delete(liveness.PREFIX + "web-ok@a", liveness.PREFIX + "web-deaf@b")
    assert "polls: [quota] daily limit reached" in page
    assert "<code>web-ok@a</code>" in page and "sync: 4s ago" in page
    assert "overdue: messages have waited in &#39;bulk&#39; for 60s while it took none" in page


def test_lifecycle_policy_and_a_mass_archive_hold_on_the_account_page(
    client: FlaskClient, user: str, web_database: str
) -> None:
    account = _account(web_database)
    page = client.get(f"/accounts/{account.id}").get_data(as_text=True)
    assert 'name="policy" value="ignore" checked' in page and "lifecycle-held" not in page
    response = client.post(
        f"/accounts/{account.id}/lifecycle", data={"csrf_token": user, "policy": "mirror"}
    )
    assert response.status_code == 302
    with session_scope(web_database) as session:
        stored = session.get(Account, account.id)
        assert stored is not None and stored.lifecycle_policy == "mirror"
        stored.lifecycle_held_at = datetime.now(UTC)
        stored.lifecycle_hold_reason = "A poll saw 12 of the 20 linked products archived"
        held = Job(
            account_id=account.id,
            source_system="hubspot",
            source_id="7",
            reason="poll",
            request_id="r7",
            status="parked",
            park_reason="mass_archive",
        )
        session.add(held)
        session.flush()
        job_id = held.id
    page = client.get(f"/accounts/{account.id}").get_data(as_text=True)
    assert "Archiving is held" in page and "12 of the 20" in page and "1 jobs waiting" in page
    assert "archiving held (mass archive)" in client.get("/accounts").get_data(as_text=True)

    released = client.post(
        f"/accounts/{account.id}/lifecycle", data={"csrf_token": user, "release": "1"}
    )
    assert released.status_code == 302
    with session_scope(web_database) as session:
        assert session.get(Job, job_id).status == "pending"  # type: ignore[union-attr]
        assert session.get(Account, account.id).lifecycle_held_at is None  # type: ignore[union-attr]
    page = client.get(f"/accounts/{account.id}").get_data(as_text=True)
    assert "Hold released: 1 held archive jobs run now." in page
    bad = client.post(
        f"/accounts/{account.id}/lifecycle", data={"csrf_token": user, "policy": "delete"}
    )
    assert bad.status_code == 400
