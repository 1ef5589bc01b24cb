"""The lifecycle policy `mirror`, product by product: archives, deletions and merges in
the source reach the destination (restores are `Upsert.restore`).

::

    source archived (HubSpot), inactive or deleted (QBO), or merged away (a read of its
    HubSpot id answers with another product)                         → `retire`
        no product link ties a destination product to it → skipped `not_linked`: a
        destination product that merely shares the SKU is not ours to archive
        the account is held (mass archive) → parked `mass_archive`
        merged away → `fold` (below)
        SKU lock; the linked destination product, read now; inactive already →
        unchanged; else archived (HubSpot recycle bin) / inactivated (QBO) → `archived`.
        The link stays: a restore of the source finds its destination product again.
    source active, products merged into it (HubSpot ``hs_merged_object_ids``) → `absorb`,
    then the survivor syncs as usual; each merged product with a link is folded:
        the survivor has its own destination product → the merged one's is archived
        and its link dropped (one history row for it, action `archived`)
        the survivor has none → the merged one's link moves to the survivor, whose
        upsert then updates that destination product (its history row says so)

QuickBooks names no survivor (a merged item is simply deleted): the loser's destination
product is archived like any deletion, and the survivor keeps its own link. Only the
per-product path comes here; a full-sync chunk hands these products over to it.
"""

from __future__ import annotations

from dataclasses import replace

from models import Account, ProductLink, utcnow
from models.db import session_scope
from workers.catalog.hubspot.records import merged_ids
from workers.catalog.port import Catalog, Direction, Record, destination_of
from workers.engine import jobs
from workers.engine.conflicts import label
from workers.engine.context import SyncContext
from workers.engine.guards import Skip
from workers.engine.lifecycle_policy import HELD_RECHECK, HOLD_CODE, account_event, mirrors
from workers.engine.links import link_for, linked_id, move_link, unlink
from workers.engine.locks import sku_lock
from workers.engine.outcomes import Attempt, jsonable, record_attempt
from workers.engine.upsert import LeaseLost, Written, lock_expired
from workers.errors import LockBusy, ParkedError


class Retire(Exception):
    """The source product is archived, inactive, deleted or merged away and the account
    mirrors that: the job takes `retire` instead of an upsert (raised while reading)."""

    def __init__(self, current: Record | None) -> None:
        super().__init__("source retired")
        self.current = current


def is_retired(account: Account, source_id: str, current: Record | None) -> bool:
    """Whether a job must `retire` rather than sync ``current`` (the source as read)."""
    if not mirrors(account):
        return False
    return current is None or not current.active or current.id != source_id


def needs_lifecycle(account: Account, current: Record) -> bool:
    """An active source product the per-product path must see first: one that products
    were merged into (a full-sync chunk hands it over)."""
    return mirrors(account) and current.system == "hubspot" and bool(merged_ids(current))


def check_not_held(account: Account) -> None:
    if account.lifecycle_held_at is not None:
        raise ParkedError(
            account.lifecycle_hold_reason or "Archiving is held for this account.",
            code=HOLD_CODE,
            until=utcnow() + HELD_RECHECK,
        )


def retire(
    ctx: SyncContext,
    account: Account,
    attempt: Attempt,
    owner: str,
    source: Catalog,
    current: Record | None,
) -> Written:
    """Archive the destination product linked to a retired source product (see module)."""
    job = attempt.job
    direction: Direction = account.direction  # type: ignore[assignment]
    destination = ctx.catalogs(destination_of(direction), account.id)
    with session_scope(ctx.database_url) as session:
        link = link_for(session, account.id, source.system, job.source_id)
    target_id = linked_id(link, destination.system) if link else None
    if link is None or target_id is None:
        raise Skip(
            "not_linked",
            f"{label(source.system)} product {job.source_id} is "
            f"{_state(job.source_id, current, source.system)}, "
            f"but no product link ties a {label(destination.system)} product to it: nothing was "
            f"archived (a {label(destination.system)} product with the same SKU, if any, was "
            "not created or synced from it and is left alone).",
        )
    attempt.sku = link.sku
    attempt.set_id(destination.system, target_id)
    check_not_held(account)
    if current is not None and current.id != job.source_id:
        return fold(ctx, account, attempt, owner, destination, link, current.id)
    state = _state(job.source_id, current, source.system)
    note = f"{label(source.system)} product {job.source_id} is {state}."
    written = _archive(ctx, account, attempt, owner, destination, link, note)
    # QuickBooks deletes an item only when it is merged into another: it never comes
    # back, so its link goes (a HubSpot archive may be restored: its link stays).
    deleted = current is None and source.system == "quickbooks"
    with session_scope(ctx.database_url) as session:
        if deleted:
            unlink(session, link.id)
        action = written.action
        record_attempt(session, attempt, owner=owner, job_status="succeeded", action=action)
    return written


def absorb(
    ctx: SyncContext,
    account: Account,
    attempt: Attempt,
    owner: str,
    source: Catalog,
    survivor: Record,
) -> None:
    """Fold every linked product merged into ``survivor`` (see module), before the
    survivor's own upsert; each fold is a history row of its own."""
    merged = [m for m in merged_ids(survivor) if m != survivor.id]
    if not merged:
        return
    direction: Direction = account.direction  # type: ignore[assignment]
    destination = ctx.catalogs(destination_of(direction), account.id)
    with session_scope(ctx.database_url) as session:
        links = [link_for(session, account.id, source.system, m) for m in merged]
    folding = [link for link in links if link is not None]
    if folding:
        check_not_held(account)
    for link in folding:
        loser = linked_id(link, source.system)
        side = Attempt(job=attempt.job, direction=attempt.direction, sku=link.sku)
        side.set_id(source.system, loser)
        side.set_id(destination.system, linked_id(link, destination.system))
        written = fold(ctx, account, side, owner, destination, link, survivor.id, record=False)
        attempt.notes.extend(side.notes)
        with session_scope(ctx.database_url) as session:
            account_event(
                session,
                account,
                status="succeeded",
                action=written.action,
                message=" ".join(side.notes),
                changes=side.changes,
                product={
                    "sku": side.sku,
                    "hubspot_id": side.hubspot_id,
                    "quickbooks_id": side.quickbooks_id,
                    "run_id": attempt.job.run_id,
                },
            )


def fold(
    ctx: SyncContext,
    account: Account,
    attempt: Attempt,
    owner: str,
    destination: Catalog,
    link: ProductLink,
    survivor_id: str,
    *,
    record: bool = True,
) -> Written:
    """A merged source product's link: moved to the survivor when the survivor has no
    destination product of its own, else its destination product archived and its link
    dropped. ``record``: write the job's outcome (False: the caller writes a row)."""
    source_system = attempt.job.source_system
    loser = linked_id(link, source_system)
    src, dst = label(source_system), label(destination.system)
    with session_scope(ctx.database_url) as session:
        theirs = link_for(session, account.id, source_system, survivor_id)  # type: ignore[arg-type]
        kept = linked_id(theirs, destination.system) if theirs else None
    mine = linked_id(link, destination.system)
    if kept is None:
        attempt.notes.append(
            f"{src} product {loser} was merged into {survivor_id}, which had no {dst} product: "
            f"{dst} product {mine} is now linked to {survivor_id}."
        )
        written = Written("unchanged", None)
    else:
        note = f"{src} product {loser} was merged into {survivor_id} ({dst} product {kept})."
        written = _archive(ctx, account, attempt, owner, destination, link, note, own_job=record)
    with session_scope(ctx.database_url) as session:
        if kept is None:
            move_link(session, link.id, source_system, survivor_id)  # type: ignore[arg-type]
        else:
            unlink(session, link.id)
        if record:
            record_attempt(
                session, attempt, owner=owner, job_status="succeeded", action=written.action
            )
    return written


def _archive(
    ctx: SyncContext,
    account: Account,
    attempt: Attempt,
    owner: str,
    destination: Catalog,
    link: ProductLink,
    why: str,
    *,
    own_job: bool = True,
) -> Written:
    """Archive the destination product of ``link`` under its SKU lock (read fresh: never
    on what a poll saw). Already inactive or gone: nothing to write, unless an earlier
    attempt of this job deactivated it and its answer was lost (noted before the call,
    as for creates: ``own_job``, the job is this product's own)."""
    target_id = linked_id(link, destination.system)
    assert target_id is not None
    dst = label(destination.system)
    lock = sku_lock(ctx.redis, account.id, link.sku, ttl_seconds=ctx.settings.job_lease_seconds)
    if not lock.acquire():
        raise LockBusy(
            "Another worker is syncing this SKU right now.", retry_after=1.0, waiting=True
        )
    try:
        target = destination.get(target_id)
        if target is None or not target.active or target.id != target_id:
            if own_job and attempt.job.write_started_at is not None:
                attempt.notes.append(
                    f"The answer to an earlier attempt was lost; {dst} product {target_id} "
                    "is inactive now."
                )
                return _archived(attempt, destination, target_id, why, target)
            attempt.notes.append(f"{why} Its {dst} product {target_id} is inactive already.")
            return Written("unchanged", target)
        if own_job:
            with session_scope(ctx.database_url) as session:
                if not jobs.mark_write_started(session, attempt.job.id, owner=owner):
                    raise LeaseLost()
        if not lock.still_held():
            raise lock_expired()
        done = destination.deactivate(target, request_id=attempt.job.request_id)
    finally:
        lock.release()
    return _archived(attempt, destination, target_id, why, done)


def _archived(
    attempt: Attempt, destination: Catalog, target_id: str, why: str, done: Record | None
) -> Written:
    """The history of an archive: the field that changed and a sentence why."""
    field = "Active" if destination.system == "quickbooks" else "archived"
    before, after = (True, False) if field == "Active" else (False, True)
    attempt.changes = {field: [jsonable(before), jsonable(after)]}
    attempt.notes.append(
        f"{why} Its {label(destination.system)} product {target_id} was "
        f"{'made inactive' if field == 'Active' else 'archived'} (lifecycle policy mirror)."
    )
    return Written("archived", replace(done, active=False) if done is not None else None)


def _state(source_id: str, current: Record | None, system: str = "hubspot") -> str:
    if current is None:
        return "deleted (merged into another item)" if system == "quickbooks" else "archived"
    if current.id != source_id:
        return f"merged into {current.id}"
    return "archived or inactive"
