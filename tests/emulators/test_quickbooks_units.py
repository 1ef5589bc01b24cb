"""Unit tests of the QBO emulator's domain pieces (no server): JSON numbers, switches,
seeding, refresh-token rotation and the CDC change log."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from emulators.quickbooks.api import classify_path
from emulators.quickbooks.jsonio import BadJson, dumps, format_datetime, loads, parse_offset
from emulators.quickbooks.oauth import OAuthError, TokenStore
from emulators.quickbooks.realm import Realm
from emulators.quickbooks.seed import TRICKY_SKUS, seed_catalog
from emulators.quickbooks.switches import Switches


def test_json_numbers_stay_decimal_both_ways() -> None:
    parsed = loads(b'{"UnitPrice": 275.10, "Qty": 3, "Big": 99999999999.99}')
    assert parsed == {"UnitPrice": Decimal("275.10"), "Qty": 3,
                      "Big": Decimal("99999999999.99")}
    assert dumps({"a": Decimal("275.00"), "b": Decimal("0.1"), "c": Decimal("1E+2"),
                  "d": Decimal("-0.00"), "e": "x\"y", "f": [True, None]}) == (
        b'{"a":275,"b":0.1,"c":100,"d":0,"e":"x\\"y","f":[true,null]}')
    with pytest.raises(BadJson):
        loads(b'{"a": NaN}')
    with pytest.raises(TypeError):
        dumps({"a": 1.5})  # floats never leave the emulator


def test_company_offset_formatting() -> None:
    moment = datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=UTC)
    assert format_datetime(moment, parse_offset("-08:00")) == "2026-01-01T19:04:05-08:00"
    assert format_datetime(moment, parse_offset("+05:30")) == "2026-01-02T08:34:05+05:30"
    for bad in ("PST", "-8:00", "+15:00"):
        with pytest.raises(ValueError):
            parse_offset(bad)


def test_switches_validate_and_scale() -> None:
    switches = Switches().updated({"throttle_preset": "legacy", "throttle_scale": 2})
    assert switches.limits.per_minute == 1000 and switches.limits.batch_per_minute == 80
    assert switches.limits.per_second == 0
    for bad in ({"nope": 1}, {"throttle_preset": "fast"}, {"retry_after": -1},
                {"name_case_insensitive": "yes"}, {"throttle_scale": 0}):
        with pytest.raises(ValueError):
            Switches().updated(bad)


def test_seed_is_deterministic_and_tricky() -> None:
    def catalog(seed: int) -> list[tuple[str, str, object]]:
        realm = Realm("1", clock=lambda: datetime(2026, 1, 1, tzinfo=UTC))
        seed_catalog(realm, 40, Switches(), rng_seed=seed, tricky=True)
        return [(e.fields["Name"], e.fields.get("Sku", ""), e.fields.get("UnitPrice"))
                for e in realm.items.values()]

    first = catalog(7)
    assert first == catalog(7) and first != catalog(8)
    skus = [sku for _, sku, _ in first]
    assert set(TRICKY_SKUS) <= set(skus) and skus.count("DUP-SKU-001") == 2
    assert any(len(name) == 100 for name, _, _ in first)


def test_refresh_rotation_every_time() -> None:
    now = [1000.0]
    store = TokenStore(clock=lambda: now[0])
    app = store.register_app("c", "s")
    switches = Switches()
    _, refresh = store.issue("c", "1", switches)
    rotated = store.grant_refresh(app, refresh.value, switches)["refresh_token"]
    with pytest.raises(OAuthError):
        store.grant_refresh(app, refresh.value, switches)
    now[0] += switches.refresh_token_ttl + 1
    with pytest.raises(OAuthError):
        store.grant_refresh(app, rotated, switches)  # expired after 100 idle days


def test_access_token_expiry_and_realm() -> None:
    now = [0.0]
    store = TokenStore(clock=lambda: now[0])
    store.register_app("c", "s")
    access, _ = store.issue("c", "1", Switches())
    assert store.check(f"Bearer {access.value}", "1") is access
    with pytest.raises(Exception) as other_realm:
        store.check(f"Bearer {access.value}", "2")
    assert getattr(other_realm.value, "status", None) == 403
    now[0] = 3600.0
    with pytest.raises(Exception) as expired:
        store.check(f"Bearer {access.value}", "1")
    assert getattr(expired.value, "status", None) == 401


def test_change_log_returns_changes_oldest_first() -> None:
    now = [datetime(2026, 1, 1, tzinfo=UTC)]
    realm = Realm("1", clock=lambda: now[0])
    switches = Switches()
    body = {"Type": "Service", "IncomeAccountRef": {"value": "1"}}
    first = realm.create_item({**body, "Name": "a"}, switches)
    now[0] += timedelta(seconds=10)
    realm.create_item({**body, "Name": "b"}, switches)
    now[0] += timedelta(seconds=10)
    realm.touch_item(first.id)
    changed = realm.changed_since("Item", datetime(2026, 1, 1, 0, 0, 5, tzinfo=UTC))
    assert [e.fields["Name"] for e in changed] == ["b", "a"]


@pytest.mark.parametrize(
    ("method", "path", "kind", "account"),
    [
        ("POST", "/v3/company/42/item", "write", "42"),
        ("GET", "/v3/company/42/item/7", "read", "42"),
        ("GET", "/v3/company/42/account/1", "read", "42"),
        ("GET", "/v3/company/42/query", "query", "42"),
        ("POST", "/v3/company/42/query", "query", "42"),
        ("GET", "/v3/company/42/cdc", "cdc", "42"),
        ("POST", "/v3/company/42/batch", "batch", "42"),
        ("POST", "/oauth2/v1/tokens/bearer", "auth", None),
        ("GET", "/connect/oauth2", "auth", None),
        ("GET", "/elsewhere", "other", None),
    ],
)
def test_ledger_kinds(method: str, path: str, kind: str, account: str | None) -> None:
    assert classify_path(method, path) == (kind, account)
