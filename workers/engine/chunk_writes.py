"""A full-sync chunk's writes, batched: the per-product attempt (`sync`) for a whole chunk.

::

    per product, no lock yet: direction check, the CURRENT source (the chunk's batch
    read), skip archived, map (refusals are recorded per product)
    every SKU lock of the chunk in two Redis round trips (busy → that product retries)
    the chunk's product links, read under the locks, in one query
    resolve: link, else the run's SKU index or the chunk's SKU search (0 → create,
    1 → update only what differs, nothing differs → zero writes, ≥ 2 → refused as a
    duplicate)
    last checks: direction, leases (creates note `write_started_at` in one UPDATE), locks
    ONE `Catalog.write_many` (QBO /batch of 30, HubSpot batch upsert/update of 100);
    writes refused as a whole (rate limit, 429, open circuit) wait: sat out when short,
    else given back to wait as a chunk (`BatchOutcome.waiting`, `chunk_waits`)
    ONE transaction: links + job outcomes + history rows + run progress
    release the locks

What is not plain goes the per-product way (`sync.run_claimed`) after the batch, with the
chunk's reads: a retry after an unknown write outcome, a link made since the chunk's read,
a link to a destination product that is gone while the run's index is (its SKU was not
searched), a destination product linked to another source product, a SKU twice in one
chunk, a name QuickBooks refuses as a duplicate (the per-product path renames it), and
under the lifecycle policy `mirror` the lifecycle cases (a source archived, deleted or
merged into; a destination product to make active again). A
per-product error never touches its neighbours: each is settled as the per-product path
settles it.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from models import Account, ProductLink
from models.db import session_scope
from workers.catalog.port import Catalog, Direction, Record, System, Write, destination_of
from workers.engine import jobs, lifecycle
from workers.engine.chunk_reads import ChunkLookup
from workers.engine.chunk_waits import Wait, longest, wait_for
from workers.engine.conflicts import duplicate_sku, label
from workers.engine.context import SyncContext
from workers.engine.guards import Skip, check_still_current
from workers.engine.lifecycle_policy import mirrors
from workers.engine.links import NewLink, linked_id, links_by_id, links_by_sku, save_links
from workers.engine.locks import RedisLock, acquire_all, release_all, sku_lock, still_held_all
from workers.engine.outcomes import Action, Attempt, jsonable, record_successes
from workers.engine.sync import (
    Claimed,
    SyncResult,
    check_unique_in_source,
    new_attempt,
    read_and_map,
    settle,
    sku_busy,
)
from workers.engine.upsert import (
    LeaseLost,
    create_body,
    created_changes,
    linked_elsewhere,
    lock_expired,
    note_recovered,
    renamed_fields,
    update_body,
    updated_changes,
)
from workers.errors import DuplicateName, SyncError, TransientError
from workers.mapping import Mapped, changes_needed, fingerprint


@dataclass
class _Item:
    claimed: Claimed
    attempt: Attempt
    current: Record
    mapped: Mapped
    lock: RedisLock
    target: Record | None = None
    write: Write | None = None
    # An earlier attempt's create may have happened (its answer was lost): searched again.
    maybe_written: bool = False
    recovered: bool = False  # ... and it had: the product it created was found

    @property
    def job_id(self) -> int:
        return self.claimed.job.id


@dataclass
class BatchOutcome:
    """The results of the jobs the batch settled, the jobs left to the per-product path,
    and the jobs whose writes were refused as a whole and must wait (both still claimed
    by this owner, their attempt not yet recorded)."""

    results: list[tuple[int, SyncResult]] = field(default_factory=list)
    rest: list[Claimed] = field(default_factory=list)
    waiting: list[tuple[Wait, list[Claimed]]] = field(default_factory=list)


def write_chunk(
    ctx: SyncContext,
    claimed: Sequence[Claimed],
    owner: str,
    lookup: ChunkLookup,
    *,
    deadline: float,
) -> BatchOutcome:
    """Sync a plain full-sync chunk (one account, one run, one mapping) in batches."""
    out = BatchOutcome()
    account = claimed[0].account
    direction: Direction = account.direction  # type: ignore[assignment]
    destination = ctx.catalogs(destination_of(direction), account.id)
    items = _prepared(ctx, claimed, owner, lookup, out, destination.system)
    taken = acquire_all(ctx.redis, [item.lock for item in items])
    locked = [item for item, ok in zip(items, taken, strict=True) if ok]
    for item in (item for item, ok in zip(items, taken, strict=True) if not ok):
        _settle(ctx, item, owner, sku_busy(), out)
    try:
        resolved = _resolved(ctx, locked, owner, lookup, destination, out)
        done = _written(ctx, resolved, owner, account, destination, out, deadline)
        _record(ctx, done, owner, account, out)
    finally:
        release_all(ctx.redis, [item.lock for item in locked])
    return out


def _prepared(
    ctx: SyncContext,
    claimed: Sequence[Claimed],
    owner: str,
    lookup: ChunkLookup,
    out: BatchOutcome,
    destination: System,
) -> list[_Item]:
    """Each product read and mapped; refusals settled; the odd ones left to the rest."""
    items: list[_Item] = []
    skus: set[str] = set()
    for c in claimed:
        maybe_written = c.job.write_started_at is not None
        if maybe_written and destination != "quickbooks":
            # HubSpot's search lags behind its writes: the per-product path waits for it.
            out.rest.append(c)
            continue
        attempt = new_attempt(c)
        try:
            item = _prepare(ctx, c, attempt, lookup)
        except lifecycle.Retire:
            out.rest.append(c)  # archived in the source under `mirror`: one at a time
            continue
        except Exception as exc:
            out.results.append((c.job.id, settle(ctx, attempt, owner, exc)))
            continue
        if lifecycle.needs_lifecycle(c.account, item.current):
            out.rest.append(c)  # products were merged into it
            continue
        if item.mapped.sku in skus:
            out.rest.append(c)  # two products, one SKU: one at a time, under the lock
            continue
        skus.add(item.mapped.sku)
        item.maybe_written = maybe_written
        items.append(item)
    return items


def _prepare(ctx: SyncContext, claimed: Claimed, attempt: Attempt, lookup: ChunkLookup) -> _Item:
    source, current, mapped = read_and_map(ctx, claimed, attempt, lookup)
    check_unique_in_source(source, current, mapped.sku, lookup)
    ttl = ctx.settings.job_lease_seconds
    lock = sku_lock(ctx.redis, claimed.account.id, mapped.sku, ttl_seconds=ttl)
    return _Item(claimed, attempt, current, mapped, lock)


def _resolved(
    ctx: SyncContext,
    locked: list[_Item],
    owner: str,
    lookup: ChunkLookup,
    destination: Catalog,
    out: BatchOutcome,
) -> list[_Item]:
    """Each product's destination (None: create) and write (None: nothing differs)."""
    if not locked:
        return []
    account = locked[0].claimed.account
    source_system: System = locked[0].claimed.job.source_system  # type: ignore[assignment]
    links = _links_of(ctx, source_system, [item.current.id for item in locked], account.id)
    mirror = mirrors(account)
    resolved: list[_Item] = []
    by_sku: list[_Item] = []
    again = _searched_again(ctx, locked, owner, destination, out)
    for item in (i for i in locked if not i.maybe_written or i.mapped.sku in again):
        link = links.get(item.current.id)
        target_id = linked_id(link, destination.system) if link else None
        if target_id is not None and target_id not in lookup.read:
            out.rest.append(item.claimed)  # linked since the chunk's read (another job)
            continue
        item.target = lookup.targets.get(target_id) if target_id else None
        if mirror and target_id is not None and (item.target is None or not item.target.active):
            out.rest.append(item.claimed)  # to restore (`Upsert.restore`), one at a time
            continue
        if item.target is not None:
            resolved.append(item)
            continue
        try:
            candidates = (
                again[item.mapped.sku] if item.maybe_written else lookup.candidates(item.mapped.sku)
            )
            if candidates is None:  # not searched: its link went stale (the attempt settles)
                out.rest.append(item.claimed)
                continue
            found = [r for r in candidates if r.sku == item.mapped.sku]
            if len(found) >= 2:
                ids = (r.id for r in found)
                raise duplicate_sku(destination.system, item.mapped.sku, ids, source=False)
        except SyncError as err:
            _settle(ctx, item, owner, err, out)
            continue
        item.target = found[0] if found else None
        if mirror and item.target is not None and not item.target.active:
            out.rest.append(item.claimed)
            continue
        item.recovered = item.maybe_written and bool(found)
        (by_sku if found else resolved).append(item)
    resolved += _unclaimed(ctx, by_sku, destination, out)
    resolved = _sku_not_linked(ctx, resolved, lookup, out)
    for item in resolved:
        item.write = _write_for(item, account, destination)
    return resolved


def _searched_again(
    ctx: SyncContext, locked: list[_Item], owner: str, destination: Catalog, out: BatchOutcome
) -> dict[str, list[Record]]:
    """The destination's products now, by SKU, for the products an earlier attempt may
    have created (the run's index predates that create), in one search. QBO's queries
    see a create at once, so "none" means the create did not happen."""
    unsure = [item for item in locked if item.maybe_written]
    if not unsure:
        return {}
    try:
        return destination.find_by_skus([item.mapped.sku for item in unsure])
    except SyncError as err:
        for item in unsure:
            _settle(ctx, item, owner, err, out)
        return {}


def _links_of(
    ctx: SyncContext, system: System, ids: list[str], account_id: int
) -> dict[str, ProductLink]:
    with session_scope(ctx.database_url) as session:
        return links_by_id(session, account_id, system, ids)


def _unclaimed(
    ctx: SyncContext, items: list[_Item], destination: Catalog, out: BatchOutcome
) -> list[_Item]:
    """The products matched by SKU whose destination product no other source product is
    linked to; the others go the per-product way (it settles a stale link or refuses)."""
    if not items:
        return []
    account = items[0].claimed.account
    direction: Direction = account.direction  # type: ignore[assignment]
    targets = [item.target.id for item in items if item.target]
    links = _links_of(ctx, destination.system, targets, account.id)
    plain: list[_Item] = []
    for item in items:
        assert item.target is not None
        link = links.get(item.target.id)
        if linked_elsewhere(link, direction, item.current.id) is not None:
            out.rest.append(item.claimed)
        else:
            plain.append(item)
    return plain


def _sku_not_linked(
    ctx: SyncContext, resolved: list[_Item], lookup: ChunkLookup, out: BatchOutcome
) -> list[_Item]:
    """The creates whose SKU no other source product's link carries. One that does was
    written by this service since the run's index was made (for another source product:
    the source's search did not show it yet, or its SKU changed): its SKU is searched
    again, one product at a time, so the destination never gets it twice."""
    creates = [item for item in resolved if item.target is None]
    if not creates:
        return resolved
    account_id = creates[0].claimed.account.id
    with session_scope(ctx.database_url) as session:
        links = links_by_sku(session, account_id, [item.mapped.sku for item in creates])
    source_system = creates[0].claimed.job.source_system
    kept: list[_Item] = []
    for item in resolved:
        held = links.get(item.mapped.sku, []) if item.target is None else []
        if any(linked_id(link, source_system) != item.current.id for link in held):
            lookup.forget(item.mapped.sku)
            out.rest.append(item.claimed)
        else:
            kept.append(item)
    return kept


def _write_for(item: _Item, account: Account, destination: Catalog) -> Write | None:
    job = item.claimed.job
    if item.target is None:
        fields = create_body(account, destination.system, item.mapped)
        item.attempt.changes = created_changes(fields)
        return Write(key=str(job.id), fields=fields, request_id=job.request_id)
    diff = changes_needed(item.target, item.mapped)
    if not diff:
        return None
    body = update_body(diff)
    item.attempt.changes = updated_changes(diff, body)
    return Write(key=str(job.id), fields=body, request_id=job.request_id, current=item.target)


def _written(
    ctx: SyncContext,
    resolved: list[_Item],
    owner: str,
    account: Account,
    destination: Catalog,
    out: BatchOutcome,
    deadline: float,
) -> list[tuple[_Item, Action]]:
    """The batch write, and a second one for the names QuickBooks refused as duplicates,
    made unique by the SKU (as the per-product path does); returns each product that
    ended well with what it did."""
    done: list[tuple[_Item, Action]] = [(i, "unchanged") for i in resolved if i.write is None]
    writing = [item for item in resolved if item.write is not None]
    writing = _cleared_to_write(ctx, writing, owner, account, out)
    refused = _write_round(ctx, writing, owner, destination, out, deadline, done)
    renamed = _renamed(ctx, refused, owner, destination, out)
    # Refused again: the per-product path settles it (with the clashing item's id).
    again = _write_round(ctx, renamed, owner, destination, out, deadline, done)
    out.rest += [item.claimed for item in again]
    return done


def _write_round(
    ctx: SyncContext,
    writing: list[_Item],
    owner: str,
    destination: Catalog,
    out: BatchOutcome,
    deadline: float,
    done: list[tuple[_Item, Action]],
) -> list[_Item]:
    """One `write_many` (with its waits); returns the items refused as duplicate names."""
    answers = _answers(ctx, writing, owner, destination, out, deadline)
    refused: list[_Item] = []
    for item in writing:
        assert item.write is not None
        if item.write.key not in answers:
            continue  # waiting in `out.waiting`, or settled while it waited
        answer = answers[item.write.key]
        if isinstance(answer, Record):
            item.target = answer
            done.append((item, "created" if item.write.current is None else "updated"))
        elif isinstance(answer, DuplicateName):
            refused.append(item)
        else:
            error = answer or TransientError(
                f"{label(destination.system)} did not answer for this product; retrying.",
                system=destination.system,
                details={"outcome_unknown": True},
            )
            _settle(ctx, item, owner, error, out)
    return refused


def _renamed(
    ctx: SyncContext, refused: list[_Item], owner: str, destination: Catalog, out: BatchOutcome
) -> list[_Item]:
    """The refused items with their names made unique and a fresh request id each (the
    refused write's outcome is known); those a new name cannot help go the per-product
    way."""
    renamable: list[tuple[_Item, dict[str, Any], str]] = []
    for item in refused:
        assert item.write is not None
        renamed = renamed_fields(destination.system, item.write.fields, item.mapped)
        if renamed is None:
            out.rest.append(item.claimed)
        else:
            renamable.append((item, *renamed))
    if not renamable:
        return []
    with session_scope(ctx.database_url) as session:
        fresh = {
            item.job_id: jobs.rotate_request_id(session, item.job_id, owner=owner)
            for item, _, _ in renamable
        }
    ready: list[_Item] = []
    for item, fields, note in renamable:
        request_id = fresh[item.job_id]
        if request_id is None:
            _settle(ctx, item, owner, LeaseLost(), out)
            continue
        assert item.write is not None
        changes = dict(item.attempt.changes or {})
        for name, value in fields.items():
            if item.write.fields.get(name) != value:  # the name: before stays, after is new
                changes[name] = [changes.get(name, [None])[0], jsonable(value)]
        item.attempt.changes = changes
        item.attempt.notes.append(note)
        item.claimed.job.request_id = request_id
        item.write = dataclasses.replace(item.write, fields=fields, request_id=request_id)
        ready.append(item)
    return ready


def _answers(
    ctx: SyncContext,
    writing: list[_Item],
    owner: str,
    destination: Catalog,
    out: BatchOutcome,
    deadline: float,
) -> dict[str, Record | SyncError | None]:
    """Each write's answer. Writes refused as a whole (nothing written) are sent again
    after a short wait, while the locks last; after a longer one they are left out of the
    answers and wait in `out.waiting`, as a chunk."""
    answers: dict[str, Record | SyncError | None] = {}
    pending = writing
    while pending:
        sent = destination.write_many([item.write for item in pending if item.write])
        waits: list[tuple[_Item, Wait]] = []
        for item in pending:
            assert item.write is not None
            answer = sent.get(item.write.key)
            wait = wait_for(answer, cap=ctx.settings.retry_cap_seconds)
            if wait is None:
                answers[item.write.key] = answer
            else:
                waits.append((item, wait))
        if not waits:
            break
        wait = longest(w for _, w in waits)
        pending = [item for item, _ in waits]
        if not wait.short or time.monotonic() + wait.seconds > deadline:
            out.waiting.append((wait, [item.claimed for item in pending]))
            break
        time.sleep(wait.seconds)
        held = still_held_all(ctx.redis, [item.lock for item in pending])
        for item in (item for item, ok in zip(pending, held, strict=True) if not ok):
            _settle(ctx, item, owner, lock_expired(), out)
        pending = [item for item, ok in zip(pending, held, strict=True) if ok]
    return answers


def _cleared_to_write(
    ctx: SyncContext, writing: list[_Item], owner: str, account: Account, out: BatchOutcome
) -> list[_Item]:
    """Last checks before touching the destination (as `Upsert._before_write`): the
    direction, the leases (a create notes that a write may happen), the locks."""
    if not writing:
        return []
    creates = [item.job_id for item in writing if item.target is None]
    with session_scope(ctx.database_url) as session:
        now = session.get(Account, account.id)
        try:
            check_still_current(now, writing[0].claimed.job)
        except Skip as skip:
            for item in writing:
                _settle(ctx, item, owner, skip, out)
            return []
        ours = jobs.mark_writes_started(session, creates, owner=owner) if creates else set()
    held = still_held_all(ctx.redis, [item.lock for item in writing])
    cleared: list[_Item] = []
    for item, lock_held in zip(writing, held, strict=True):
        if item.target is None and item.job_id not in ours:
            _settle(ctx, item, owner, LeaseLost(), out)
        elif not lock_held:
            _settle(ctx, item, owner, lock_expired(), out)
        else:
            cleared.append(item)
    return cleared


def _record(
    ctx: SyncContext,
    done: list[tuple[_Item, Action]],
    owner: str,
    account: Account,
    out: BatchOutcome,
) -> None:
    """Links, outcomes, history and progress of every product that ended well, in one
    transaction, still under the locks (the next holder must find the links)."""
    if not done:
        return
    destination_system = destination_of(account.direction)  # type: ignore[arg-type]
    done = [_told(item, action, account) for item, action in done]
    links: list[NewLink] = []
    for item, action in done:
        assert item.target is not None
        item.attempt.set_id(destination_system, item.target.id)
        links.append(
            NewLink(
                source_id=item.current.id,
                destination_id=item.target.id,
                sku=item.mapped.sku,
                fingerprint=fingerprint(item.mapped),
                written=action != "unchanged",
            )
        )
    with session_scope(ctx.database_url) as session:
        save_links(
            session,
            account_id=account.id,
            source_system=done[0][0].claimed.job.source_system,  # type: ignore[arg-type]
            links=links,
        )
        record_successes(session, [(item.attempt, action) for item, action in done], owner=owner)
    out.results += [(item.job_id, SyncResult(action)) for item, action in done]


def _told(item: _Item, action: Action, account: Account) -> tuple[_Item, Action]:
    """What the history says: a product an earlier attempt created, whose answer was
    lost, is recorded as created (with the fields it was created with), not unchanged."""
    if not item.recovered:
        return item, action
    assert item.target is not None
    note_recovered(item.attempt, account, item.target, item.mapped)
    return item, "created"


def _settle(ctx: SyncContext, item: _Item, owner: str, exc: Exception, out: BatchOutcome) -> None:
    out.results.append((item.job_id, settle(ctx, item.attempt, owner, exc)))
