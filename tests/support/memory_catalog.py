"""A behaving in-memory `Catalog`: a real implementation of the port for engine tests.

It keeps the vendor rules the engine relies on: exact, case-sensitive SKU search;
QBO-style SyncTokens (a stale update is refused with `StaleObject`) and unique active
names (`DuplicateName`, like error 6240); creates that are idempotent by ``request_id``;
archived/inactive products that `get` hides. Every write is appended to ``writes`` (the
ledger tests count), and failures are programmable with `fail_next`. `write_many` is one
call (one ``"write_many"`` in ``calls``) that writes item by item, like a vendor batch.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from models.base import utcnow
from workers.catalog import port
from workers.catalog.port import Change, FieldSpec, Record, System
from workers.errors import DuplicateName, QuotaExhausted, StaleObject, SyncError
from workers.mapping import HUBSPOT_PRODUCT_FIELDS, QBO_ITEM_FIELDS


@dataclass(frozen=True)
class Write:
    op: str  # "create" | "update"
    id: str
    fields: dict[str, Any]
    request_id: str


class MemoryCatalog:
    def __init__(self, system: System) -> None:
        self.system: System = system
        self.sku_field = "hs_sku" if system == "hubspot" else "Sku"
        self.products: dict[str, Record] = {}
        self.writes: list[Write] = []
        self.calls: list[str] = []
        self._by_request: dict[str, str] = {}
        self._failures: dict[str, list[SyncError]] = {}
        self._late_failures: dict[str, list[SyncError]] = {}
        self._ids = itertools.count(1001)
        self._lock = threading.Lock()
        self._last_stamp = utcnow() - timedelta(days=1)
        self.wait_before_writes = 0.0
        self.merged: dict[str, str] = {}  # HubSpot merges: merged id -> survivor

    # -- test helpers (what a person does in the vendor's UI) -----------------------------

    def add(self, fields: Mapping[str, Any], *, active: bool = True) -> Record:
        """A product created directly in the vendor (not by the sync)."""
        with self._lock:
            return self._store(str(next(self._ids)), dict(fields), active=active, version=0)

    def edit(self, record_id: str, **changes: Any) -> Record:
        with self._lock:
            old = self.products[record_id]
            return self._store(
                record_id, {**old.fields, **changes}, active=old.active, version=_next(old)
            )

    def archive(self, record_id: str) -> None:
        with self._lock:
            old = self.products[record_id]
            self._store(record_id, dict(old.fields), active=False, version=_next(old))

    def restore(self, record_id: str) -> None:
        with self._lock:
            old = self.products[record_id]
            self._store(record_id, dict(old.fields), active=True, version=_next(old))

    def merge(self, record_id: str, into: str) -> None:
        """HubSpot's merge: ``record_id`` now reads as ``into``, which lists it in
        ``hs_merged_object_ids`` (and is stamped as changed)."""
        self.archive(record_id)
        self.merged[record_id] = into
        merged = self.products[into].fields.get("hs_merged_object_ids")
        self.edit(into, hs_merged_object_ids=";".join(filter(None, [merged, record_id])))

    def fail_next(
        self, method: str, error: SyncError, times: int = 1, *, after_acting: bool = False
    ) -> None:
        """The next ``times`` calls of ``method`` raise ``error``: before acting, or (for
        writes, ``after_acting``) once the write is done, like a timeout on the response."""
        queue = self._late_failures if after_acting else self._failures
        queue.setdefault(method, []).extend([error] * times)

    def by_sku(self, sku: str) -> list[Record]:
        return [r for r in self.products.values() if r.sku == sku]

    # -- the port -------------------------------------------------------------------------

    def changed_between(self, start: datetime, end: datetime) -> Iterator[Change]:
        self._enter("changed_between")
        for r in sorted(self.products.values(), key=lambda r: r.updated_at):
            if start <= r.updated_at <= end:
                yield Change(r.id, r.updated_at, retired=not r.active)

    def retired_between(self, start: datetime, end: datetime) -> Iterator[Change]:
        return iter(())  # `changed_between` shows archived products too

    def iter_all(self, *, include_inactive: bool = False) -> Iterator[Record]:
        self._enter("iter_all")
        yield from (r for r in list(self.products.values()) if include_inactive or r.active)

    def get(self, record_id: str) -> Record | None:
        self._enter("get")
        record = self.products.get(self.merged.get(record_id, record_id))
        if record is None or (self.system == "hubspot" and not record.active):
            return None
        return record

    def get_many(self, record_ids: Sequence[str]) -> dict[str, Record]:
        self._enter("get_many")  # one batch read, however many ids
        found = {i: self.products.get(i) for i in record_ids}
        return {
            i: r
            for i, r in found.items()
            if r is not None and (r.active or self.system == "quickbooks")
        }

    def find_by_sku(self, sku: str, *, include_inactive: bool = True) -> list[Record]:
        self._enter("find_by_sku")
        return self._matching(sku, include_inactive)

    def find_by_skus(
        self, skus: Sequence[str], *, include_inactive: bool = True
    ) -> dict[str, list[Record]]:
        self._enter("find_by_skus")  # one batch search, however many SKUs
        return {sku: self._matching(sku, include_inactive) for sku in skus}

    def _matching(self, sku: str, include_inactive: bool) -> list[Record]:
        return [
            r
            for r in self.products.values()
            if r.sku == sku and (r.active or (include_inactive and self.system == "quickbooks"))
        ]

    def create(self, fields: Mapping[str, Any], *, request_id: str) -> Record:
        self._enter("create")
        record = self._create(fields, request_id)
        self._leave("create")
        return record

    def update(self, current: Record, changes: Mapping[str, Any], *, request_id: str) -> Record:
        self._enter("update")
        record = self._update(current, changes, request_id)
        self._leave("update")
        return record

    def deactivate(self, current: Record, *, request_id: str) -> Record:
        self._enter("deactivate")
        with self._lock:
            old = self.products[current.id]
            record = self._store(current.id, dict(old.fields), active=False, version=_next(old))
        self._leave("deactivate")
        return record

    def write_many(self, writes: Sequence[port.Write]) -> dict[str, Record | SyncError]:
        """One call, item by item: ``fail_next("write_many")`` fails the whole call (every
        key gets the error; ``after_acting``: once every item is written, like a lost
        answer); ``fail_next("create"/"update")`` fails single items, as in `write_each`."""
        try:
            self._enter("write_many")
        except SyncError as err:
            return {w.key: err for w in writes}
        results: dict[str, Record | SyncError] = {}
        for write in writes:
            method = "create" if write.current is None else "update"
            try:
                self._fail(self._failures, method)
                if write.current is None:
                    results[write.key] = self._create(write.fields, write.request_id)
                else:
                    results[write.key] = self._update(write.current, write.fields, write.request_id)
                self._fail(self._late_failures, method)
            except SyncError as err:
                results[write.key] = err
        try:
            self._leave("write_many")
        except SyncError as err:
            return {w.key: err for w in writes}
        return results

    def _create(self, fields: Mapping[str, Any], request_id: str) -> Record:
        with self._lock:
            if request_id in self._by_request:
                return self.products[self._by_request[request_id]]
            self._check_name(fields.get("Name"), None)
            record = self._store(str(next(self._ids)), dict(fields), active=True, version=0)
            self._by_request[request_id] = record.id
            self.writes.append(Write("create", record.id, dict(fields), request_id))
        return record

    def _update(self, current: Record, changes: Mapping[str, Any], request_id: str) -> Record:
        with self._lock:
            now = self.products[current.id]
            if self.system == "quickbooks" and now.version != current.version:
                raise StaleObject("Stale Object Error", vendor_code="5010", system=self.system)
            self._check_name(changes.get("Name"), current.id)
            record = self._store(
                current.id,
                {**now.fields, **changes},
                active=bool(changes.get("Active", now.active)),
                version=_next(now),
            )
            self.writes.append(Write("update", record.id, dict(changes), request_id))
        return record

    def write_wait(self) -> float:
        """Tests set ``wait_before_writes`` to stand for a spent rate budget."""
        return self.wait_before_writes

    def writable_fields(self) -> dict[str, FieldSpec]:
        table = HUBSPOT_PRODUCT_FIELDS if self.system == "hubspot" else QBO_ITEM_FIELDS
        return {name: spec for name, spec in table.items() if not spec.read_only}

    # -- internals ------------------------------------------------------------------------

    def _enter(self, method: str) -> None:
        self.calls.append(method)
        self._fail(self._failures, method)

    def _leave(self, method: str) -> None:
        self._fail(self._late_failures, method)

    @staticmethod
    def _fail(queues: dict[str, list[SyncError]], method: str) -> None:
        pending = queues.get(method)
        if pending:
            raise pending.pop(0)

    def _check_name(self, name: Any, own_id: str | None) -> None:
        if self.system != "quickbooks" or name is None:
            return
        for r in self.products.values():
            if r.active and r.id != own_id and r.fields.get("Name") == name:
                raise DuplicateName(
                    "Duplicate Name Exists Error",
                    vendor_code="6240",
                    system=self.system,
                    clashing_ids=[r.id],
                )

    def _store(
        self, record_id: str, fields: dict[str, Any], *, active: bool, version: int
    ) -> Record:
        stamp = max(utcnow(), self._last_stamp + timedelta(microseconds=1))
        self._last_stamp = stamp
        record = Record(
            system=self.system,
            id=record_id,
            fields=fields,
            updated_at=stamp,
            active=active,
            version=str(version) if self.system == "quickbooks" else None,
            sku=fields.get(self.sku_field),
        )
        self.products[record_id] = record
        return record


def _next(record: Record) -> int:
    return int(record.version or 0) + 1


class FailingAfter(MemoryCatalog):
    """A HubSpot catalog whose listing of changes breaks after ``good`` changes (a vendor
    error mid-poll)."""

    def __init__(self, good: int) -> None:
        super().__init__("hubspot")
        self.good = good

    def changed_between(self, start: datetime, end: datetime) -> Iterator[Change]:
        for n, change in enumerate(super().changed_between(start, end)):
            if n == self.good:
                raise QuotaExhausted("daily quota")
            yield change
