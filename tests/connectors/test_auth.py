"""Tokens: encryption at rest, single-flight refresh across threads and processes,
rotation, invalid_grant → needs_reauth, and no token in any log line or error."""

from __future__ import annotations

import logging
import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from models.credential import Credential
from models.db import session_scope
from tests.connectors.conftest import QboWorld, spawn_find_skus
from tests.connectors.procs import find_skus
from workers.auth import CredentialStore, TokenCipher, oauth
from workers.catalog.factory import catalog_for
from workers.errors import ReauthRequired
from workers.secret import Secret


def _expire_everywhere(qbo: QboWorld) -> None:
    """Expired at the vendor and in our store: nobody may call with it."""
    qbo.admin.vendor("POST", "quickbooks/tokens/expire", json={"realm_id": qbo.realm})
    with session_scope(qbo.database_url) as session:
        row = session.execute(
            select(Credential).where(Credential.account_id == qbo.account_id)
        ).scalar_one()
        row.access_expires_at = datetime.now(UTC) - timedelta(seconds=5)


def _credential(qbo: QboWorld) -> Credential:
    with session_scope(qbo.database_url) as session:
        return session.execute(
            select(Credential).where(Credential.account_id == qbo.account_id)
        ).scalar_one()


def test_tokens_are_encrypted_at_rest(qbo: QboWorld) -> None:
    row = _credential(qbo)
    assert row.access_token_enc and qbo.access_token.encode() not in row.access_token_enc
    assert row.refresh_token_enc and qbo.refresh_token.encode() not in row.refresh_token_enc
    cipher = TokenCipher(qbo.settings.effective_encryption_key)
    assert cipher.decrypt(row.access_token_enc).reveal() == qbo.access_token


def test_wrong_encryption_key_asks_for_reauth_not_a_crash(qbo: QboWorld) -> None:
    from cryptography.fernet import Fernet

    other = TokenCipher(Secret(Fernet.generate_key().decode()))
    with pytest.raises(ReauthRequired) as caught:
        CredentialStore(qbo.database_url, other).load(qbo.account_id, "quickbooks")
    assert caught.value.code == "undecryptable_token"


def test_30_twenty_threads_with_an_expired_token_make_one_token_request(qbo: QboWorld) -> None:
    _expire_everywhere(qbo)
    since = qbo.admin.last_seq()
    barrier = threading.Barrier(20)
    failures: list[BaseException] = []

    def caller() -> None:
        # Separate stores per thread: only the database row lock serializes them.
        store = CredentialStore(
            qbo.database_url, TokenCipher(qbo.settings.effective_encryption_key)
        )
        seen = store.load(qbo.account_id, "quickbooks")
        barrier.wait()
        try:
            store.refresh(
                qbo.account_id,
                "quickbooks",
                seen_version=seen.version,
                refresher=lambda rt: oauth.refresh("quickbooks", rt, qbo.settings),
            )
        except BaseException as exc:  # pragma: no cover - reported below
            failures.append(exc)

    threads = [threading.Thread(target=caller) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failures == []
    auth = [e for e in qbo.admin.ledger(since=since) if e["kind"] == "auth"]
    assert len(auth) == 1 and auth[0]["status"] == 200
    # The catalogs now all use the one new token.
    assert qbo.catalog().find_by_sku("after") == []


def test_30_twenty_catalog_threads_with_an_expired_token_make_one_token_request(
    qbo: QboWorld, redis_url: str
) -> None:
    _expire_everywhere(qbo)
    since = qbo.admin.last_seq()
    values = {
        "quickbooks_api_base": qbo.server.url,
        "quickbooks_client_id": qbo.settings.quickbooks_client_id,
        "quickbooks_client_secret": qbo.settings.quickbooks_client_secret.reveal(),
    }
    errors = find_skus(values, qbo.database_url, redis_url, qbo.account_id, 20, 1)
    entries = qbo.admin.ledger(since=since)
    assert errors == []
    assert [e["kind"] for e in entries].count("auth") == 1
    assert sorted(e["status"] for e in entries if e["kind"] == "query") == [200] * 20


def test_30_twenty_callers_in_two_processes_make_one_token_request(
    qbo: QboWorld, redis_url: str
) -> None:
    _expire_everywhere(qbo)
    since = qbo.admin.last_seq()
    errors = spawn_find_skus(qbo, redis_url, processes=2, threads=10, calls=1)
    entries = qbo.admin.ledger(since=since)
    assert errors == [], [(e["kind"], e["status"], e["time"]) for e in entries]
    assert [e["kind"] for e in entries].count("auth") == 1
    queries = [e for e in entries if e["kind"] == "query"]
    assert len(queries) == 20 and {e["status"] for e in queries} == {200}


def test_30_rotated_refresh_token_is_persisted_and_used_next_time(qbo: QboWorld) -> None:
    store = CredentialStore(qbo.database_url, TokenCipher(qbo.settings.effective_encryption_key))
    refresher = lambda rt: oauth.refresh("quickbooks", rt, qbo.settings)  # noqa: E731
    first = store.refresh(qbo.account_id, "quickbooks", seen_version=1, refresher=refresher)
    stored = TokenCipher(qbo.settings.effective_encryption_key).decrypt(
        _credential(qbo).refresh_token_enc or b""
    )
    assert stored.reveal() != qbo.refresh_token  # rotated ("every" is the emulator default)
    second = store.refresh(
        qbo.account_id, "quickbooks", seen_version=first.version, refresher=refresher
    )  # would be invalid_grant with the old one
    assert second.version == first.version + 1


def test_30_invalid_grant_marks_needs_reauth_and_stops_calls(qbo: QboWorld) -> None:
    qbo.admin.vendor("POST", "quickbooks/tokens/revoke", json={"token": qbo.refresh_token})
    _expire_everywhere(qbo)
    with pytest.raises(ReauthRequired) as caught:
        qbo.catalog().find_by_sku("X")
    assert caught.value.vendor_code == "invalid_grant"
    row = _credential(qbo)
    assert row.status == "needs_reauth" and "invalid_grant" in (row.status_reason or "")
    since = qbo.admin.last_seq()
    with pytest.raises(ReauthRequired):
        qbo.catalog().find_by_sku("X")
    assert qbo.admin.ledger(since=since) == []  # parked without touching the vendor


def test_second_401_after_refresh_parks_with_reauth(qbo: QboWorld) -> None:
    path = f"/v3/company/{qbo.realm}/query"
    qbo.admin.add_fault("expire_token", path=path, times=2)
    since = qbo.admin.last_seq()
    with pytest.raises(ReauthRequired) as caught:
        qbo.catalog().find_by_sku("Y")
    assert caught.value.status == 401 and caught.value.until is not None
    kinds = [(e["kind"], e["status"]) for e in qbo.admin.ledger(since=since)]
    assert kinds == [("query", 401), ("auth", 200), ("query", 401)]


def test_no_token_or_secret_in_logs_or_errors(
    qbo: QboWorld, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    qbo.admin.add_fault("expire_token", path=f"/v3/company/{qbo.realm}/query", times=2)
    errors = []
    try:
        qbo.catalog().find_by_sku("Z")
    except ReauthRequired as exc:
        errors.append(exc)
    qbo.admin.vendor("POST", "quickbooks/tokens/revoke", json={"token": qbo.refresh_token})
    _expire_everywhere(qbo)
    try:
        catalog_for(
            "quickbooks",
            qbo.account_id,
            settings=qbo.settings,
            database_url=qbo.database_url,
            redis_client=qbo.redis,
        ).find_by_sku("Z")
    except ReauthRequired as exc:
        errors.append(exc)
    assert len(errors) == 2
    secrets = [qbo.access_token, qbo.refresh_token, qbo.settings.quickbooks_client_secret.reveal()]
    store = CredentialStore(qbo.database_url, TokenCipher(qbo.settings.effective_encryption_key))
    row = _credential(qbo)
    if row.access_token_enc:
        secrets.append(store.cipher.decrypt(row.access_token_enc).reveal())
    text = caplog.text + " ".join(repr(e) + str(e.as_record()) for e in errors)
    for secret in secrets:
        assert secret not in text


def test_reconnect_keeps_a_known_time_zone_and_resets_status(qbo: QboWorld) -> None:
    store = CredentialStore(qbo.database_url, TokenCipher(qbo.settings.effective_encryption_key))
    grant = oauth.TokenGrant(Secret("a"), Secret("r"), None, None)
    store.save(qbo.account_id, "quickbooks", "oauth", grant, time_zone="Europe/Berlin")
    store.mark_needs_reauth(qbo.account_id, "quickbooks", "test")
    store.save(qbo.account_id, "quickbooks", "oauth", grant)
    row = _credential(qbo)
    assert (row.time_zone, row.status, row.version) == ("Europe/Berlin", "ok", 3)
