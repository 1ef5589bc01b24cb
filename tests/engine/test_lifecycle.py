"""The lifecycle policy against in-memory catalogs: archive, restore, delete and merge
reach the destination only under `mirror`, only through the product link, never onto a
SKU someone else holds, and never as a mass archive nobody approved."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from decimal import Decimal

import pytest
from sqlalchemy import select

from console.views import lifecycle as lifecycle_view
from models import Account, Job, ProductLink
from models.db import session_scope
from tests.engine.helpers import history, run_jobs
from tests.engine.test_bulk import full_sync, run_chunks
from tests.support.memory_catalog import MemoryCatalog
from workers.engine import SyncContext, poll_account
from workers.engine.accounts import set_direction
from workers.engine.context import Dispatch
from workers.engine.lifecycle_policy import release, set_policy
from workers.errors import TransientError
from workers.settings import Settings


def widget(sku: str, price: str = "19.99") -> dict[str, str | None]:
    return {"name": f"Widget {sku}", "hs_sku": sku, "description": "A widget", "price": price}


def set_lifecycle(ctx: SyncContext, account_id: int, policy: str) -> list[Dispatch]:
    with session_scope(ctx.database_url) as session:
        account = session.get(Account, account_id)
        assert account is not None
        return set_policy(session, account, policy, by="test")


def poll(ctx: SyncContext, account_id: int) -> None:
    run_jobs(ctx, poll_account(ctx, account_id))


def synced(
    ctx: SyncContext, account_id: int, hubspot: MemoryCatalog, skus: Sequence[str]
) -> list[str]:
    ids = [hubspot.add(widget(sku)).id for sku in skus]
    poll(ctx, account_id)
    return ids


def item(quickbooks: MemoryCatalog, sku: str) -> list:  # type: ignore[type-arg]
    return [r for r in quickbooks.products.values() if r.fields.get("Sku") == sku]


def links(ctx: SyncContext) -> list[ProductLink]:
    with session_scope(ctx.database_url) as session:
        return list(session.scalars(select(ProductLink).order_by(ProductLink.id)).all())


def test_new_accounts_ignore_archives_and_the_destination_stays(
    ctx: SyncContext, account_id: int, hubspot: MemoryCatalog, quickbooks: MemoryCatalog
) -> None:
    [source] = synced(ctx, account_id, hubspot, ["W-1"])
    hubspot.archive(source)
    poll(ctx, account_id)
    [qbo] = item(quickbooks, "W-1")
    assert qbo.active
    last = history(ctx)[-1]
    assert (last.action, last.error_code) == ("skipped", "source_archived")
    assert "lifecycle policy is ignore" in (last.error_message or "")


def test_mirror_archives_then_restores_the_linked_item(
    ctx: SyncContext, account_id: int, hubspot: MemoryCatalog, quickbooks: MemoryCatalog
) -> None:
    set_lifecycle(ctx, account_id, "mirror")
    [source] = synced(ctx, account_id, hubspot, ["W-1"])
    hubspot.archive(source)
    poll(ctx, account_id)
    [qbo] = item(quickbooks, "W-1")
    assert not qbo.active
    archived = history(ctx)[-1]
    assert (archived.status, archived.action) == ("succeeded", "archived")
    assert archived.changes == {"Active": [True, False]}
    assert (archived.hubspot_id, archived.quickbooks_id, archived.sku) == (source, qbo.id, "W-1")
    assert len(links(ctx)) == 1  # kept: a restore finds the item again

    hubspot.restore(source)
    hubspot.edit(source, price="21")
    poll(ctx, account_id)
    [qbo] = item(quickbooks, "W-1")
    assert qbo.active and qbo.fields["UnitPrice"] == Decimal("21")
    restored = history(ctx)[-1]
    assert restored.action == "restored"
    assert restored.changes["Active"] == [False, True]
    assert restored.changes["UnitPrice"] == ["19.99", "21"]
    configured = [e for e in history(ctx) if e.action == "configured"]
    assert configured[0].changes == {"lifecycle_policy": ["ignore", "mirror"]}


def test_an_unlinked_item_with_the_same_sku_is_left_alone(
    ctx: SyncContext, account_id: int, hubspot: MemoryCatalog, quickbooks: MemoryCatalog
) -> None:
    set_lifecycle(ctx, account_id, "mirror")
    theirs = quickbooks.add({"Name": "Someone's", "Sku": "W-9"})
    source = hubspot.add(widget("W-9"), active=False)  # archived before it was ever synced
    poll(ctx, account_id)
    assert quickbooks.products[theirs.id].active
    assert [w for w in quickbooks.writes] == []
    last = history(ctx)[-1]
    assert (last.status, last.action, last.error_code) == ("skipped", "skipped", "not_linked")
    assert source.id in (last.error_message or "")


def test_a_restore_whose_sku_is_taken_is_a_terminal_conflict(
    ctx: SyncContext, account_id: int, hubspot: MemoryCatalog, quickbooks: MemoryCatalog
) -> None:
    set_lifecycle(ctx, account_id, "mirror")
    [source] = synced(ctx, account_id, hubspot, ["W-1"])
    hubspot.archive(source)
    poll(ctx, account_id)
    [ours] = item(quickbooks, "W-1")
    other = quickbooks.add({"Name": "New widget", "Sku": "W-1"})  # the SKU is reused
    hubspot.restore(source)
    poll(ctx, account_id)
    assert not quickbooks.products[ours.id].active  # no guess: nothing restored
    last = history(ctx)[-1]
    assert (last.status, last.error_code) == ("failed", "sku_taken")
    assert other.id in (last.error_message or "")


def test_quickbooks_to_hubspot_inactive_archives_and_active_again_creates_anew(
    ctx: SyncContext, account_id: int, hubspot: MemoryCatalog, quickbooks: MemoryCatalog
) -> None:
    with session_scope(ctx.database_url) as session:
        set_direction(session, account_id, "quickbooks_to_hubspot")
    set_lifecycle(ctx, account_id, "mirror")
    source = quickbooks.add({"Name": "Cable", "Sku": "C-1", "UnitPrice": Decimal("4")})
    poll(ctx, account_id)
    [first] = hubspot.products.values()
    quickbooks.archive(source.id)
    poll(ctx, account_id)
    assert not hubspot.products[first.id].active
    assert history(ctx)[-1].changes == {"archived": [False, True]}

    quickbooks.restore(source.id)
    poll(ctx, account_id)
    live = [p for p in hubspot.products.values() if p.active]
    assert len(live) == 1 and live[0].id != first.id  # HubSpot cannot un-archive via API
    last = history(ctx)[-1]
    assert last.action == "restored" and last.hubspot_id == live[0].id
    assert [link.hubspot_id for link in links(ctx)] == [live[0].id]


def test_a_merge_archives_the_merged_products_item_and_keeps_one_link(
    ctx: SyncContext, account_id: int, hubspot: MemoryCatalog, quickbooks: MemoryCatalog
) -> None:
    set_lifecycle(ctx, account_id, "mirror")
    keep, lose = synced(ctx, account_id, hubspot, ["K-1", "L-1"])
    hubspot.merge(lose, into=keep)
    poll(ctx, account_id)
    assert item(quickbooks, "K-1")[0].active
    assert not item(quickbooks, "L-1")[0].active
    assert [link.hubspot_id for link in links(ctx)] == [keep]
    assert any(e.action == "archived" and e.sku == "L-1" for e in history(ctx))

    hubspot.archive(keep)  # and the survivor is deleted after the merge
    poll(ctx, account_id)
    assert not any(r.active for r in quickbooks.products.values())


def test_a_merge_into_an_unsynced_product_moves_the_link_to_it(
    ctx: SyncContext, account_id: int, hubspot: MemoryCatalog, quickbooks: MemoryCatalog
) -> None:
    set_lifecycle(ctx, account_id, "mirror")
    [lose] = synced(ctx, account_id, hubspot, ["L-1"])
    [target] = item(quickbooks, "L-1")
    fresh = hubspot.add(widget("N-1", price="7"))
    hubspot.merge(lose, into=fresh.id)
    poll(ctx, account_id)
    assert [(link.hubspot_id, link.quickbooks_id) for link in links(ctx)] == [(fresh.id, target.id)]
    [only] = quickbooks.products.values()  # no second item: the merged one's became its
    assert only.active and only.fields["Sku"] == "N-1" and only.fields["UnitPrice"] == Decimal("7")


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The engine tests' settings, with a mass-archive minimum small catalogs reach."""
    return settings.replace(mass_archive_minimum=3)


def test_a_mass_archive_is_held_until_released(
    ctx: SyncContext, account_id: int, hubspot: MemoryCatalog, quickbooks: MemoryCatalog
) -> None:
    set_lifecycle(ctx, account_id, "mirror")
    ids = synced(ctx, account_id, hubspot, [f"M-{n}" for n in range(10)])
    for source in ids[:3]:  # 30 % of the linked catalog, at least the minimum of 3
        hubspot.archive(source)
    poll(ctx, account_id)
    assert all(r.active for r in quickbooks.products.values())
    with session_scope(ctx.database_url) as session:
        account = session.get(Account, account_id)
        assert account is not None and account.lifecycle_held_at is not None
        view = lifecycle_view(session, account)
        parked = session.scalars(select(Job).where(Job.status == "parked")).all()
    assert view["held_jobs"] == 3 and "3 of the 10" in view["reason"]
    assert {j.park_reason for j in parked} == {"mass_archive"}
    assert [e.error_code for e in history(ctx) if e.sku is None and e.action == "skipped"] == [
        "mass_archive"
    ]
    hubspot.edit(ids[5], price="30")  # other changes keep syncing meanwhile
    poll(ctx, account_id)
    assert item(quickbooks, "M-5")[0].fields["UnitPrice"] == Decimal("30")

    with session_scope(ctx.database_url) as session:
        account = session.get(Account, account_id)
        assert account is not None
        released = release(session, account, by="test")
    run_jobs(ctx, released)
    assert sorted(r.fields["Sku"] for r in quickbooks.products.values() if not r.active) == [
        "M-0",
        "M-1",
        "M-2",
    ]


def test_refusing_a_held_mass_archive_leaves_the_destination(
    ctx: SyncContext, account_id: int, hubspot: MemoryCatalog, quickbooks: MemoryCatalog
) -> None:
    set_lifecycle(ctx, account_id, "mirror")
    ids = synced(ctx, account_id, hubspot, [f"M-{n}" for n in range(5)])
    for source in ids[:3]:
        hubspot.archive(source)
    poll(ctx, account_id)
    run_jobs(ctx, set_lifecycle(ctx, account_id, "ignore"))
    assert all(r.active for r in quickbooks.products.values())
    assert [e.error_code for e in history(ctx)[-3:]] == ["source_archived"] * 3


def test_a_full_sync_under_mirror_converges_both_kinds_of_difference(
    ctx: SyncContext, account_id: int, hubspot: MemoryCatalog, quickbooks: MemoryCatalog
) -> None:
    ids = synced(ctx, account_id, hubspot, [f"F-{n}" for n in range(8)])
    hubspot.archive(ids[0])  # under ignore: skipped, the item stays active
    poll(ctx, account_id)
    [inactive] = item(quickbooks, "F-1")
    quickbooks.archive(inactive.id)  # someone made it inactive in QuickBooks
    set_lifecycle(ctx, account_id, "mirror")

    mark = len(quickbooks.writes)
    _, dispatches = full_sync(ctx, account_id)
    results = dict(run_chunks(ctx, dispatches))
    assert Counter(r.outcome for r in results.values()) == {
        "archived": 1,
        "restored": 1,
        "unchanged": 6,
    }
    assert not item(quickbooks, "F-0")[0].active and item(quickbooks, "F-1")[0].active
    [restore] = quickbooks.writes[mark:]  # the six alike cost no write
    assert restore.fields["Active"] is True


def test_a_restore_whose_create_answer_was_lost_finds_its_own_create(
    ctx: SyncContext, account_id: int, hubspot: MemoryCatalog, quickbooks: MemoryCatalog
) -> None:
    set_lifecycle(ctx, account_id, "mirror")
    [source] = synced(ctx, account_id, hubspot, ["W-1"])
    [gone] = item(quickbooks, "W-1")
    del quickbooks.products[gone.id]  # merged away in QuickBooks: the linked item is gone
    hubspot.archive(source)
    poll(ctx, account_id)
    hubspot.restore(source)
    quickbooks.fail_next("create", TransientError("read timed out"), after_acting=True)
    poll(ctx, account_id)
    [made] = item(quickbooks, "W-1")
    assert made.active and [w.op for w in quickbooks.writes].count("create") == 2
    last = history(ctx)[-1]
    # Its own create, not someone else's SKU: no `sku_taken`.
    assert (last.status, last.action, last.quickbooks_id) == ("succeeded", "created", made.id)
