"""Resolve the destination product and write the mapped fields to it (or nothing).

Resolution goes by product link first (so a SKU renamed in the source renames the linked
destination product instead of orphaning it), else by an exact SKU search: 0 matches →
create, 1 → update only what differs (nothing differs → zero writes), ≥ 2 → conflict.
Writes happen only while the per-(account, SKU) lock is still ours.

An inactive QBO item carrying the SKU counts as a match: it is updated, and never
duplicated by a second item with the same SKU. It is made active again only when the
account's lifecycle policy is `mirror` (`Upsert.restore`); under `ignore` that is the
user's call.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from models import Account, ProductLink, utcnow
from models.db import session_scope
from workers.catalog.port import Catalog, Direction, Record, source_of
from workers.engine import jobs
from workers.engine.account_view import item_defaults
from workers.engine.conflicts import duplicate_sku, label
from workers.engine.guards import check_still_current
from workers.engine.links import link_for, unlink
from workers.engine.locks import RedisLock
from workers.engine.outcomes import Action, Attempt, jsonable
from workers.errors import DataError, DuplicateName, LockBusy, TransientError
from workers.mapping import ItemDefaults, Mapped, changes_needed, creation_fields
from workers.mapping import disambiguated_name as disambiguate
from workers.settings import Settings

# creation_fields only reads QuickBooks defaults when QuickBooks is the destination.
_NO_QBO_DEFAULTS = ItemDefaults(income_account_id="unused", expense_account_id="unused")


class LeaseLost(Exception):
    """Another attempt owns the job now; this one must stop without recording an outcome."""


@dataclass
class Written:
    action: Action
    destination: Record | None


@dataclass
class Upsert:
    """One attempt's write to the destination, with what it needs to be safe."""

    settings: Settings
    database_url: str
    account: Account
    direction: Direction
    source: Catalog
    destination: Catalog
    attempt: Attempt
    owner: str
    lock: RedisLock

    def run(
        self, mapped: Mapped, target: Record | None, *, candidates: list[Record] | None = None
    ) -> Written:
        """``candidates``: the destination's products with this SKU when already known
        (the bulk path's index), instead of a search."""
        recovered = False
        if target is None:
            target = self._search(mapped, candidates)
            # Found after a create whose answer never came: that create made it.
            recovered = target is not None and self.attempt.job.write_started_at is not None
        if target is None:
            return Written("created", self._create(mapped))
        if not target.active and self.account.lifecycle_policy == "mirror":
            return self.restore(mapped, target)  # inactive, found by its SKU
        written = self._update(target, mapped)
        if recovered:
            return self._recovered(written, mapped)
        return written

    def restore(self, mapped: Mapped, target: Record | None) -> Written:
        """The source is active again (lifecycle policy `mirror`) while its linked
        destination product is inactive (QBO) or gone from view (HubSpot: archived). The
        SKU must still be free among the destination's active products: if another one
        holds it now, this is a conflict for a person (`sku_taken`), never a guess.
        QBO: made active, with the fields that differ. HubSpot's API cannot restore an
        archived product: a new one is created (the archived one stays in the recycle
        bin)."""
        if target is None and self.attempt.job.write_started_at is not None:
            # An earlier attempt's create may have made it (its answer was lost): the
            # plain path finds that product (after HubSpot's index caught up), and it is
            # ours, not a product that took the SKU.
            return self.run(mapped, None)
        holders = [
            r.id
            for r in self.destination.find_by_sku(mapped.sku, include_inactive=False)
            if r.sku == mapped.sku and r.active and (target is None or r.id != target.id)
        ]
        dst = label(self.destination.system)
        if holders:
            raise DataError(
                f"{label(self.source.system)} product {self.attempt.job.source_id} is active "
                f"again, but SKU {mapped.sku!r} is now used by {dst} product "
                f"{', '.join(sorted(holders))}: its own {dst} product was not restored. Give "
                "one of them another SKU, then retry.",
                code="sku_taken",
                system=self.destination.system,
                details={"sku": mapped.sku, "ids": sorted(holders)},
            )
        if target is None or self.destination.system != "quickbooks":
            self.attempt.notes.append(
                f"{dst} cannot restore an archived product through its API: a new product "
                "was created with the same values."
                if self.destination.system == "hubspot"
                else f"The linked {dst} item no longer exists: a new one was created."
            )
            return Written("restored", self._create(mapped))
        diff = changes_needed(target, mapped)
        body, record = self._write_update(target, {"Active": True, **update_body(diff)}, mapped)
        self.attempt.changes = {**updated_changes(diff, body), "Active": [False, True]}
        return Written("restored", record)

    def _recovered(self, written: Written, mapped: Mapped) -> Written:
        """The history tells what happened: created (by the attempt whose answer was
        lost), with the fields it was created with, not `unchanged`."""
        assert written.destination is not None
        note_recovered(self.attempt, self.account, written.destination, mapped)
        return Written("created", written.destination)

    # -- resolution -----------------------------------------------------------------------

    def _search(self, mapped: Mapped, candidates: list[Record] | None) -> Record | None:
        job = self.attempt.job
        if job.write_started_at is not None:
            # An earlier attempt may have created it after the candidates were listed.
            candidates = None
        if self.destination.system == "hubspot" and job.write_started_at is not None:
            # HubSpot has no idempotency key and its search lags behind writes: after a
            # create whose outcome we never saw, "not found" is only trustworthy once the
            # index has caught up. The poll overlap is our bound on that lag (the poll
            # relies on it too). QBO replays a create by its requestid instead.
            settled = job.write_started_at + timedelta(seconds=self.settings.poll_overlap_seconds)
            wait = (settled - utcnow()).total_seconds()
            if wait > 0:
                raise TransientError(
                    "Waiting for HubSpot's search index before checking for an earlier create.",
                    code="awaiting_search_index",
                    retry_after=wait,
                )
        if candidates is None:
            candidates = self.destination.find_by_sku(mapped.sku)
        found = [r for r in candidates if r.sku == mapped.sku]
        if len(found) >= 2:
            raise duplicate_sku(
                self.destination.system, mapped.sku, (r.id for r in found), source=False
            )
        if not found:
            return None
        self._claim_unlinked(found[0], mapped.sku)
        return found[0]

    def _claim_unlinked(self, target: Record, sku: str) -> None:
        """A destination product found by SKU may already be linked to another source
        product. If that one still exists, both claim the SKU: refuse. If it is gone
        (archived, inactive), the link is stale and this product takes over."""
        source_id = self.attempt.job.source_id
        with session_scope(self.database_url) as session:
            link = link_for(session, self.account.id, self.destination.system, target.id)
            other = linked_elsewhere(link, self.direction, source_id)
            if other is None or link is None:
                return
            previous = self.source.get(other)
            if previous is not None and previous.active:
                ids = sorted([source_id, other])
                raise DataError(
                    f"SKU {sku!r} in {label(self.source.system)} is claimed by products "
                    f"{', '.join(ids)}: {label(self.destination.system)} product "
                    f"{target.id} is already linked to {other}.",
                    code="duplicate_sku_in_source",
                    system=self.source.system,
                    details={"sku": sku, "ids": ids, "destination_id": target.id},
                )
            unlink(session, link.id)

    # -- writes ---------------------------------------------------------------------------

    def _create(self, mapped: Mapped) -> Record:
        fields = create_body(self.account, self.destination.system, mapped)
        job = self.attempt.job
        self._before_write(create=True)
        try:
            record = self.destination.create(fields, request_id=job.request_id)
        except DuplicateName as err:
            fields = self._renamed(fields, mapped, err)
            record = self.destination.create(fields, request_id=self._fresh_request_id())
        self.attempt.changes = created_changes(fields)
        return record

    def _update(self, target: Record, mapped: Mapped) -> Written:
        diff = changes_needed(target, mapped)
        if not diff:
            return Written("unchanged", target)
        body, record = self._write_update(target, update_body(diff), mapped)
        self.attempt.changes = updated_changes(diff, body)
        return Written("updated", record)

    def _write_update(
        self, target: Record, body: dict[str, Any], mapped: Mapped
    ) -> tuple[dict[str, Any], Record]:
        """Send ``body``; a name QuickBooks refuses as a duplicate is made unique by the
        SKU and sent once more. Returns the body sent last and the written product."""
        self._before_write(create=False)
        try:
            record = self.destination.update(target, body, request_id=self.attempt.job.request_id)
        except DuplicateName as err:
            body = self._renamed(body, mapped, err)
            record = self.destination.update(target, body, request_id=self._fresh_request_id())
        return body, record

    def _renamed(
        self, fields: dict[str, Any], mapped: Mapped, refused: DuplicateName
    ) -> dict[str, Any]:
        """After QBO 6240: one more try with the name made unique by the SKU."""
        renamed = renamed_fields(self.destination.system, fields, mapped)
        if renamed is None:
            raise refused
        fields, note = renamed
        self.attempt.notes.append(note)
        return fields

    def _fresh_request_id(self) -> str:
        # The refused write's outcome is known, so the next logical write gets a new id.
        with session_scope(self.database_url) as session:
            request_id = jobs.rotate_request_id(session, self.attempt.job.id, owner=self.owner)
        if request_id is None:
            raise LeaseLost()
        self.attempt.job.request_id = request_id
        return request_id

    def _before_write(self, *, create: bool) -> None:
        """Last checks before touching the destination, under the SKU lock: the direction
        (a switch since the claim wins), the lease, the lock; before a create, note that a
        write may happen (committed, so a retry after an unknown outcome knows)."""
        job = self.attempt.job
        with session_scope(self.database_url) as session:
            check_still_current(session.get(Account, self.account.id), job)
            if create and not jobs.mark_write_started(session, job.id, owner=self.owner):
                raise LeaseLost()
        if not self.lock.still_held():
            raise lock_expired()


def note_recovered(attempt: Attempt, account: Account, found: Record, mapped: Mapped) -> None:
    """Tell the history what happened when an attempt finds the product of an earlier
    create whose answer was lost: the fields it was created with, and a note."""
    fields = create_body(account, found.system, mapped)
    attempt.changes = {**created_changes(fields), **(attempt.changes or {})}
    attempt.notes.append(
        "The answer to an earlier create was lost; found the product it created "
        f"({label(found.system)} id {found.id})."
    )


def renamed_fields(
    system: str, fields: Mapping[str, Any], mapped: Mapped
) -> tuple[dict[str, Any], str] | None:
    """``fields`` with the name QuickBooks refused as a duplicate (6240) made unique by the
    SKU, and the history's note saying so; None when that cannot help (not QuickBooks, no
    name written, or the name already carries the SKU)."""
    name_field = next((f for f, c in mapped.converters.items() if c == "name"), None)
    if system != "quickbooks" or name_field is None or name_field not in fields:
        return None
    old = str(fields[name_field])
    new = disambiguate(old, mapped.sku)
    if new == old:
        return None
    note = f"QuickBooks already has an item named {old!r}; used {new!r} instead."
    return {**fields, name_field: new}, note


def lock_expired() -> LockBusy:
    return LockBusy("The product's lock expired before the write; trying again.")


def create_body(account: Account, system: str, mapped: Mapped) -> dict[str, Any]:
    """The fields a create sends: the mapped ones plus what the destination requires."""
    defaults = item_defaults(account) if system == "quickbooks" else _NO_QBO_DEFAULTS
    return creation_fields(mapped, account.direction, defaults)  # type: ignore[arg-type]


def update_body(diff: Mapping[str, tuple[Any, Any]]) -> dict[str, Any]:
    """The fields an update sends: only those that differ, at their new value."""
    return {name: after for name, (_, after) in diff.items()}


def created_changes(fields: Mapping[str, Any]) -> dict[str, list[Any]]:
    """The history's field diff of a create."""
    return {k: [None, jsonable(v)] for k, v in fields.items()}


def updated_changes(
    diff: Mapping[str, tuple[Any, Any]], body: Mapping[str, Any]
) -> dict[str, list[Any]]:
    """The history's field diff of an update (``body`` may hold a disambiguated name)."""
    return {
        name: [jsonable(diff[name][0]) if name in diff else None, jsonable(value)]
        for name, value in body.items()
    }


def linked_elsewhere(link: ProductLink | None, direction: Direction, source_id: str) -> str | None:
    """The other source product a destination product is linked to, if not ours."""
    if link is None:
        return None
    other = link.hubspot_id if source_of(direction) == "hubspot" else link.quickbooks_id
    return other if other and other != source_id else None
