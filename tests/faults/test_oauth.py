"""OAuth: a token expiring mid-run, many tasks racing to refresh a rotating QBO token,
a lost refresh response and a revoked grant (parked as needs_reauth, resumed by a
reconnect)."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from models import Credential
from models.db import session_scope
from tests.support import oracle
from tests.support.faults import hubspot_bulk_create, job_where, polls_held, send_burst
from tests.support.stack import QBO_CLIENT, Stack, StackAccount
from workers import engine
from workers.auth import CredentialStore, TokenCipher, TokenGrant
from workers.secret import Secret

TOKEN_PATH = r"/oauth2/v1/tokens/bearer$"


def _token_calls(stack: Stack) -> list[dict]:  # type: ignore[type-arg]
    return stack.quickbooks_admin.ledger(path=TOKEN_PATH)


def _quickbooks_ledger(stack: Stack, acct: StackAccount) -> list[dict]:  # type: ignore[type-arg]
    return stack.quickbooks_admin.ledger(account=acct.realm_id)


def _refresh_token(stack: Stack, acct: StackAccount) -> str:
    return oracle.stored_secrets(stack, acct.id)[-1]  # QBO is stored second: access, refresh


def _expire_access(stack: Stack, acct: StackAccount) -> None:
    stack.quickbooks_admin.vendor(
        "POST", "quickbooks/tokens/expire", json={"realm_id": acct.realm_id}
    )


def _reconnect(stack: Stack, acct: StackAccount) -> None:
    """What `productsync connect quickbooks` stores after a person re-authorizes."""
    issued = stack.quickbooks_admin.vendor(
        "POST", f"quickbooks/realms/{acct.realm_id}/tokens", json={"client_id": QBO_CLIENT[0]}
    )
    store = CredentialStore(
        stack.database_url, TokenCipher(stack.settings().effective_encryption_key)
    )
    grant = TokenGrant(
        Secret(issued["access_token"]),
        Secret(issued["refresh_token"]),
        datetime.now(UTC) + timedelta(seconds=int(issued["expires_in"])),
        None,
    )
    store.save(acct.id, "quickbooks", "oauth", grant)


def _status(stack: Stack, acct: StackAccount) -> str:
    with session_scope(stack.database_url) as session:
        return session.scalars(
            select(Credential.status).where(
                Credential.account_id == acct.id, Credential.system == "quickbooks"
            )
        ).one()


def test_access_token_expiring_mid_run_is_refreshed_once(pipeline: Stack) -> None:
    acct = pipeline.new_account("hubspot_to_quickbooks")
    acct.hubspot_create(name="Before", hs_sku="EXP-0", price="1")
    oracle.check(pipeline, acct)
    mark = len(_token_calls(pipeline))
    _expire_access(pipeline, acct)
    for n in range(1, 6):
        acct.hubspot_create(name=f"After {n}", hs_sku=f"EXP-{n}", price="1")
    verdict = oracle.check(pipeline, acct)
    assert verdict.by_status() == {"succeeded": 6}
    assert len(_token_calls(pipeline)[mark:]) == 1


def test_twenty_tasks_race_to_refresh_a_rotating_token(pipeline: Stack) -> None:
    pipeline.start_worker("w2", concurrency=18)  # 20 pool processes with w1's two
    acct = pipeline.new_account("hubspot_to_quickbooks")
    with polls_held(pipeline, acct):
        # One message per job (a poll would announce each page as one chunk): 40 tasks
        # spread over the processes, so that every process caches the token...
        _announce_alone(pipeline, acct, hubspot_bulk_create(pipeline, acct, 40, "WARM"))
        oracle.check(pipeline, acct, timeout=60)
        before = _refresh_token(pipeline, acct)
        _expire_access(pipeline, acct)
        mark = len(_token_calls(pipeline))
        # ...then 20 tasks hit the 401 at once.
        _announce_alone(pipeline, acct, hubspot_bulk_create(pipeline, acct, 20, "RACE20"))
        verdict = oracle.check(pipeline, acct, timeout=60)
    assert verdict.by_status() == {"succeeded": 60}
    assert len([e for e in _quickbooks_ledger(pipeline, acct) if e["status"] == 401]) >= 2
    assert len(_token_calls(pipeline)[mark:]) == 1  # one token request
    after = _refresh_token(pipeline, acct)
    assert after != before  # the rotated (newest) refresh token is the one stored
    # ...and it works: the next expiry is refreshed with it, without a reconnect.
    _expire_access(pipeline, acct)
    acct.hubspot_create(name="Race after", hs_sku="RACE20-after", price="1")
    verdict = oracle.check(pipeline, acct)
    assert verdict.by_status() == {"succeeded": 61}
    assert _status(pipeline, acct) == "ok"


def _announce_alone(pipeline: Stack, acct: StackAccount, created: list[str]) -> None:
    time.sleep(pipeline.timings.settle + 0.6)  # past the poll's settle window
    dispatches = engine.poll_account(pipeline.context(), acct.id)
    assert len(dispatches) == len(created)
    send_burst(pipeline, [d.job_id for d in dispatches])


def _parked_then_reconnected(pipeline: Stack, acct: StackAccount, sku: str) -> None:
    mark = len(_token_calls(pipeline))
    acct.hubspot_create(name="Needs reauth", hs_sku=sku, price="1")
    job = pipeline.wait_for(lambda: job_where(acct, lambda j: j.status == "parked"))
    assert job.park_reason == "needs_reauth"
    assert _status(pipeline, acct) == "needs_reauth"
    acct.hubspot_create(name="Also waits", hs_sku=f"{sku}-2", price="1")
    pipeline.wait_for(lambda: len([j for j in acct.jobs() if j.status == "parked"]) == 2)
    oracle.check(pipeline, acct)  # parked with a reason is an end state
    time.sleep(3 * pipeline.timings.sweep_interval + 1)  # several sweeps: no retry storm
    assert len(_token_calls(pipeline)[mark:]) <= 2
    logs = "".join(p.output() for p in pipeline.processes if p.name == "w1")
    assert logs.count(f"quickbooks account {acct.id}: refresh refused, needs reauth") == 1
    _reconnect(pipeline, acct)
    pipeline.wait_for(lambda: all(j.status == "succeeded" for j in acct.jobs()), timeout=30)
    verdict = oracle.check(pipeline, acct)
    assert verdict.by_status() == {"succeeded": 2}


def test_a_lost_refresh_response_parks_as_needs_reauth_until_reconnect(pipeline: Stack) -> None:
    acct = pipeline.new_account("hubspot_to_quickbooks")
    # The refresh is performed (the old refresh token is superseded), its answer lost.
    pipeline.quickbooks_admin.add_fault("lose_response", TOKEN_PATH)
    _expire_access(pipeline, acct)
    _parked_then_reconnected(pipeline, acct, "LOSTREFRESH")


def test_a_revoked_grant_parks_as_needs_reauth_until_reconnect(pipeline: Stack) -> None:
    acct = pipeline.new_account("hubspot_to_quickbooks")
    pipeline.quickbooks_admin.vendor(
        "POST", "quickbooks/tokens/revoke", json={"token": _refresh_token(pipeline, acct)}
    )
    _expire_access(pipeline, acct)
    _parked_then_reconnected(pipeline, acct, "REVOKED")
