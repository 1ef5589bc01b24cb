"""The lifecycle policy under faults: archives whose answer is lost, vendors failing
mid-archive, a restore racing them. The oracle counts a destination product deactivated
while its source is active as data loss: it must stay at 0."""

from __future__ import annotations

from models import Account
from models.db import session_scope
from tests.support import oracle
from tests.support.stack import Stack, StackAccount
from workers.engine.lifecycle_policy import set_policy


def _synced(pipeline: Stack, acct: StackAccount, count: int) -> None:
    pipeline.wait_for(
        lambda: acct.quiet() and sum(e.action == "created" for e in acct.history()) >= count,
        timeout=45,
    )


def _mirror(acct: StackAccount) -> None:
    with session_scope(acct.stack.database_url) as session:
        account = session.get(Account, acct.id)
        assert account is not None
        set_policy(session, account, "mirror", by="test")


def test_archives_with_lost_answers_and_5xx_then_a_restore(pipeline: Stack) -> None:
    acct = pipeline.new_account("hubspot_to_quickbooks")
    _mirror(acct)
    ids = [acct.hubspot_create(name=f"Life {n}", hs_sku=f"LIFE-{n}", price="2") for n in range(6)]
    _synced(pipeline, acct, 6)
    qbo = pipeline.quickbooks_admin
    # The first deactivation happens but its answer is lost; the next two meet 503s.
    qbo.add_fault("lose_response", "/item$", method="POST", account=acct.realm_id, times=1)
    qbo.add_fault("status", "/item$", method="POST", account=acct.realm_id, status=503, times=2)
    hub = pipeline.hubspot_admin
    for product_id in ids[:3]:
        hub.vendor("DELETE", f"hubspot/portals/{acct.portal_id}/products/{product_id}")
    # The retry after the lost answer finds its item inactive: still `archived` (the
    # attempt noted the write before sending it), so the history names every archive.
    pipeline.wait_for(
        lambda: acct.quiet() and sum(e.action == "archived" for e in acct.history()) == 3,
        timeout=60,
    )
    assert sum(not i["Active"] for i in acct.quickbooks_items()) == 3
    hub.vendor("POST", f"hubspot/portals/{acct.portal_id}/products/{ids[0]}/restore")
    pipeline.wait_for(
        lambda: acct.quiet() and any(e.action == "restored" for e in acct.history()),
        timeout=60,
    )
    verdict = oracle.check(pipeline, acct, timeout=60)
    assert verdict.lost == 0
    active = sorted(i["Sku"] for i in acct.quickbooks_items() if i["Active"])
    assert active == ["LIFE-0", "LIFE-3", "LIFE-4", "LIFE-5"]


def test_under_ignore_nothing_is_ever_deactivated(pipeline: Stack) -> None:
    acct = pipeline.new_account("quickbooks_to_hubspot")
    items = [acct.quickbooks_create(Name=f"Keep {n}", Sku=f"KEEP-{n}") for n in range(3)]
    _synced(pipeline, acct, 3)
    acct.quickbooks_update(items[0], Active=False)
    pipeline.wait_for(
        lambda: acct.quiet() and any(e.error_code == "source_archived" for e in acct.history())
    )
    verdict = oracle.check(pipeline, acct)
    assert verdict.lost == 0
    assert not any(p["archived"] for p in acct.hubspot_products())
