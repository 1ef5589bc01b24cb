"""The lifecycle policy `mirror` through the real pipeline (beat → poll → worker →
emulators), both directions: archive → inactive, restore → active, merge → one survivor
with its link, deletion after a merge, and the mass-archive guard."""

from __future__ import annotations

from typing import Any

import pytest
import redis
import requests
from sqlalchemy import select

from console.commands.status import status_report
from models import Account, ProductLink
from models.db import session_scope
from tests.support.stack import Stack, StackAccount
from workers.engine.accounts import set_direction
from workers.engine.lifecycle_policy import release, set_policy

pytestmark = pytest.mark.e2e


def _mirror(acct: StackAccount) -> None:
    with session_scope(acct.stack.database_url) as session:
        account = session.get(Account, acct.id)
        assert account is not None
        set_policy(session, account, "mirror", by="test")


def _settled(acct: StackAccount, action: str, count: int = 1) -> bool:
    return acct.quiet() and sum(e.action == action for e in acct.history()) >= count


def _synced(acct: StackAccount, count: int) -> bool:
    return acct.quiet() and sum(e.action == "created" for e in acct.history()) >= count


def _item(acct: StackAccount, sku: str) -> dict[str, Any]:
    [found] = [i for i in acct.quickbooks_items() if i.get("Sku") == sku]
    return found


def _products(acct: StackAccount, sku: str) -> list[dict[str, Any]]:
    return [p for p in acct.hubspot_products() if p["properties"].get("hs_sku") == sku]


def _links(acct: StackAccount) -> list[tuple[str | None, str | None]]:
    with session_scope(acct.stack.database_url) as session:
        rows = session.scalars(
            select(ProductLink).where(ProductLink.account_id == acct.id).order_by(ProductLink.sku)
        ).all()
        return [(link.hubspot_id, link.quickbooks_id) for link in rows]


def _hubspot(acct: StackAccount, action: str, product_id: str, **body: Any) -> None:
    acct.stack.hubspot_admin.vendor(
        "POST", f"hubspot/portals/{acct.portal_id}/products/{product_id}/{action}", json=body
    )


def test_hubspot_to_quickbooks_archive_restore_merge_and_delete_after_merge(
    pipeline: Stack,
) -> None:
    acct = pipeline.new_account("hubspot_to_quickbooks")
    _mirror(acct)
    a = acct.hubspot_create(name="Alpha", hs_sku="A-1", price="1")
    b = acct.hubspot_create(name="Beta", hs_sku="B-1", price="2")
    c = acct.hubspot_create(name="Gamma", hs_sku="C-1", price="3")
    pipeline.wait_for(lambda: _synced(acct, 3))

    acct.stack.hubspot_admin.vendor("DELETE", f"hubspot/portals/{acct.portal_id}/products/{a}")
    pipeline.wait_for(lambda: _settled(acct, "archived"))
    assert _item(acct, "A-1")["Active"] is False
    assert _item(acct, "B-1")["Active"] is True

    _hubspot(acct, "restore", a)
    pipeline.wait_for(lambda: _settled(acct, "restored"))
    alpha = _item(acct, "A-1")
    assert alpha["Active"] is True and alpha["Name"] == "Alpha"  # not "Alpha (deleted)"

    _hubspot(acct, "merge", b, into=c)
    pipeline.wait_for(lambda: _item(acct, "B-1")["Active"] is False and acct.quiet())
    assert _item(acct, "C-1")["Active"] is True
    c_item = _item(acct, "C-1")["Id"]
    assert (c, c_item) in _links(acct) and not any(h == b for h, _ in _links(acct))

    acct.stack.hubspot_admin.vendor("DELETE", f"hubspot/portals/{acct.portal_id}/products/{c}")
    pipeline.wait_for(lambda: _item(acct, "C-1")["Active"] is False and acct.quiet())
    assert [i["Sku"] for i in acct.quickbooks_items() if i["Active"]] == ["A-1"]
    assert acct.writes("hubspot") == []  # the source is never written


def test_quickbooks_to_hubspot_inactive_active_again_and_merge(pipeline: Stack) -> None:
    acct = pipeline.new_account("hubspot_to_quickbooks")
    with session_scope(pipeline.database_url) as session:
        set_direction(session, acct.id, "quickbooks_to_hubspot")
    _mirror(acct)
    x = acct.quickbooks_create(Name="Xylo", Sku="X-1", UnitPrice=1)
    y = acct.quickbooks_create(Name="Yarn", Sku="Y-1", UnitPrice=2)
    z = acct.quickbooks_create(Name="Zinc", Sku="Z-1", UnitPrice=3)
    pipeline.wait_for(lambda: _synced(acct, 3))
    [first] = _products(acct, "X-1")

    acct.quickbooks_update(x, Active=False)
    pipeline.wait_for(lambda: _settled(acct, "archived"))
    assert [p["archived"] for p in _products(acct, "X-1")] == [True]

    acct.quickbooks_update(x, Active=True)
    pipeline.wait_for(lambda: _settled(acct, "restored"))
    live = [p for p in _products(acct, "X-1") if not p["archived"]]
    assert len(live) == 1 and live[0]["id"] != first["id"]  # HubSpot: restored as new

    acct.stack.quickbooks_admin.vendor(
        "POST", f"quickbooks/realms/{acct.realm_id}/items/{y}/merge", json={"into": z}
    )
    pipeline.wait_for(lambda: _settled(acct, "archived", 2))
    assert [p["archived"] for p in _products(acct, "Y-1")] == [True]
    assert [p["archived"] for p in _products(acct, "Z-1")] == [False]
    assert [q for _, q in _links(acct)] == [x, z]  # the merged item's link is gone
    assert acct.writes("quickbooks") == []


def test_a_mass_archive_is_held_and_shown_until_released(pipeline: Stack) -> None:
    acct = pipeline.new_account("hubspot_to_quickbooks")
    _mirror(acct)
    ids = [acct.hubspot_create(name=f"Item {n}", hs_sku=f"M-{n}", price="1") for n in range(12)]
    pipeline.wait_for(lambda: _synced(acct, 12), timeout=60)

    # A script archives ten of the twelve in one call (more than 20 %, at least 10).
    token = acct.secrets[0]
    answer = requests.post(
        f"{pipeline.hubspot.url}/crm/v3/objects/products/batch/archive",
        json={"inputs": [{"id": i} for i in ids[:10]]},
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )
    assert answer.status_code == 204

    client = redis.Redis.from_url(pipeline.redis.url)

    def held() -> dict[str, Any] | None:
        """What `productsync status` shows, once all ten wait."""
        with session_scope(pipeline.database_url) as session:
            report = status_report(session, client, session.get(Account, acct.id))
        lifecycle: dict[str, Any] = report["accounts"][0]["lifecycle"]
        return lifecycle if lifecycle["held_jobs"] == 10 else None

    lifecycle = pipeline.wait_for(held)
    assert "10 of the 12" in lifecycle["reason"]
    assert all(i["Active"] for i in acct.quickbooks_items())  # nothing deactivated
    assert [e.error_code for e in acct.history() if e.sku is None][-1] == "mass_archive"

    with session_scope(pipeline.database_url) as session:
        account = session.get(Account, acct.id)
        assert account is not None
        released = release(session, account, by="test")
    for dispatch in released:
        pipeline.send("productsync.sync_product", dispatch.job_id, queue=dispatch.queue)
    pipeline.wait_for(lambda: _settled(acct, "archived", 10))
    assert sorted(i["Sku"] for i in acct.quickbooks_items() if i["Active"]) == ["M-10", "M-11"]
