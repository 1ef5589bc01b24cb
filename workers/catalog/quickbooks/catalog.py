"""`Catalog` over QuickBooks Online Items (api-reference §2)."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import quote

from workers.catalog.parallel import each_at_once
from workers.catalog.port import (
    Change,
    FieldSpec,
    Record,
    System,
    Write,
    exact_matches,
    write_each,
)
from workers.catalog.quickbooks import batch
from workers.catalog.quickbooks import query as q
from workers.catalog.quickbooks.records import READ_ONLY, cdc_items, items_of, record_from
from workers.errors import DuplicateName, NotFound, SyncError, TransientError, ValidationFailed
from workers.http.caller import VendorCaller
from workers.http.common import json_or_transient
from workers.mapping.fields import QBO_ITEM_FIELDS

log = logging.getLogger(__name__)

CDC_MAX_AGE = timedelta(days=30)
CDC_CAP = 1000
# Stay clear of the 30-day edge: our clock and Intuit's may differ a little.
CDC_MARGIN = timedelta(hours=1)
# Fewer writes than this go as one call each: QBO allows 500 calls a minute but only 120
# batches, so a batch of one or two would spend the scarcer budget (a full sync of 10,000
# renamed 77 duplicate names in 60 batches of one to three: 30 s more at the limit).
SINGLE_CALLS_BELOW = 4


class QuickBooksCatalog:
    """Items of one QBO company (realm). Field names are QBO Item element names."""

    system: System = "quickbooks"
    sku_field = "Sku"

    def __init__(
        self,
        caller: VendorCaller,
        realm_id: str,
        *,
        minor_version: int = 75,
        create_defaults: Mapping[str, Any] | None = None,
    ) -> None:
        self.caller = caller
        self.realm_id = realm_id
        self.minor_version = minor_version
        self.create_defaults = dict(create_defaults or {})
        self.cdc_cap = CDC_CAP
        self._prefix = f"/v3/company/{quote(realm_id, safe='')}"

    # -- reads -----------------------------------------------------------------------

    def changed_between(self, start: datetime, end: datetime) -> Iterator[Change]:
        items: list[dict[str, Any]] | None = None
        if start > datetime.now(UTC) - CDC_MAX_AGE + CDC_MARGIN:
            items = self._cdc(start)
        # In time order (the poller moves its cursor per page of changes): the paged query
        # is, and streams; CDC's answer (at most its cap) is sorted here.
        records: Iterable[Record] = (
            map(record_from, self._changed_by_query(start, end))
            if items is None
            else sorted(map(record_from, items), key=lambda r: r.updated_at)
        )
        seen: set[str] = set()
        for record in records:
            if start <= record.updated_at <= end and record.id not in seen:
                seen.add(record.id)
                yield Change(id=record.id, updated_at=record.updated_at, retired=not record.active)

    def retired_between(self, start: datetime, end: datetime) -> Iterator[Change]:
        return iter(())  # CDC and the paged query show inactive (and deleted) items already

    def _cdc(self, start: datetime) -> list[dict[str, Any]] | None:
        """CDC's changes since ``start``, or None when it hit its 1,000-object cap."""
        since = start.astimezone(UTC).replace(microsecond=0)  # closed start: round down
        params = {"entities": "Item", "changedSince": since.isoformat()}
        try:
            items = cdc_items(self._get_json("/cdc", params))
        except ValidationFailed as exc:
            # Whether an over-full or too-old window is truncated or refused is [U]; a
            # refusal (4002) is handled like the cap: the paged query is always complete.
            log.info(
                "QBO CDC refused the window (%s); falling back to a paged query", exc.vendor_code
            )
            return None
        if len(items) >= self.cdc_cap:
            log.info("QBO CDC hit its %s-object cap; falling back to a paged query", self.cdc_cap)
            return None
        return items

    def _changed_by_query(self, start: datetime, end: datetime) -> Iterator[dict[str, Any]]:
        # Keyset on LastUpdatedTime: each page restarts at the newest time seen, so items
        # edited while we page cannot shift others out of view. Only a page made entirely of
        # one second's changes advances by offset.
        lower, position = start.replace(microsecond=0), 1
        upper = q.timestamp(end + timedelta(seconds=1))
        while True:
            text = q.select_items(
                [
                    f"MetaData.LastUpdatedTime >= {q.timestamp(lower)}",
                    f"MetaData.LastUpdatedTime <= {upper}",
                    q.INCLUDE_INACTIVE,
                ],
                order="MetaData.LastUpdatedTime",
                start=position,
            )
            page = self._query(text)
            yield from page
            if len(page) < q.PAGE:
                return
            newest = record_from(page[-1]).updated_at
            if newest > lower:
                lower, position = newest, 1
            else:
                position += q.PAGE

    def iter_all(self, *, include_inactive: bool = False) -> Iterator[Record]:
        conditions = [q.INCLUDE_INACTIVE] if include_inactive else []
        position = 1
        while True:
            page = self._query(q.select_items(conditions, order="Id", start=position))
            for item in page:
                yield record_from(item)
            if len(page) < q.PAGE:
                return
            position += q.PAGE

    def get(self, record_id: str) -> Record | None:
        try:
            body = self._get_json(f"/item/{quote(record_id, safe='')}")
        except NotFound:
            return None
        item = body.get("Item") if isinstance(body, dict) else None
        if not isinstance(item, dict):
            raise TransientError(
                "QuickBooks answered a read without an Item; retrying", system="quickbooks"
            )
        return record_from(item)

    def get_many(self, record_ids: Sequence[str]) -> dict[str, Record]:
        # Each id matches at most one item, so a group of `q.PAGE` ids is one page.
        parts = q.in_groups(list(dict.fromkeys(record_ids)))
        pages = each_at_once(lambda ids: self._query(q.by_ids(ids)), parts)
        records = (record_from(item) for page in pages for item in page)
        return {record.id: record for record in records}

    def find_by_sku(self, sku: str, *, include_inactive: bool = True) -> list[Record]:
        records = [
            record_from(i) for i in self._query(q.by_sku(sku, include_inactive=include_inactive))
        ]
        return [r for r in _with_skus(records) if r.sku == sku]

    def find_by_skus(
        self, skus: Sequence[str], *, include_inactive: bool = True
    ) -> dict[str, list[Record]]:
        unique = list(dict.fromkeys(skus))
        groups = q.in_groups(unique)
        found = each_at_once(lambda group: self._items_by_skus(group, include_inactive), groups)
        candidates = [record for records in found for record in _with_skus(records)]
        return exact_matches(unique, candidates)

    def _items_by_skus(self, skus: Sequence[str], include_inactive: bool) -> list[Record]:
        records: list[Record] = []
        position = 1
        while True:
            text = q.by_skus(skus, include_inactive=include_inactive, start=position)
            page = self._query(text)
            records += map(record_from, page)
            if len(page) < q.PAGE:
                return records
            position += q.PAGE

    # -- writes ----------------------------------------------------------------------

    def create(self, fields: Mapping[str, Any], *, request_id: str) -> Record:
        body = self._create_body(fields)
        return self._write(body, request_id, name=body.get("Name"))

    def update(self, current: Record, changes: Mapping[str, Any], *, request_id: str) -> Record:
        body = _update_body(current, changes)
        return self._write(body, request_id, name=changes.get("Name"))

    def deactivate(self, current: Record, *, request_id: str) -> Record:
        # QBO never deletes items: inactive is its "deleted" (it may rename the item
        # "<name> (deleted)"; a restore writes the mapped name back).
        if not current.active:
            return current
        return self.update(current, {"Active": False}, request_id=request_id)

    def write_many(self, writes: Sequence[Write]) -> dict[str, Record | SyncError]:
        # Canonical order, so the same writes always make the same batches (and so the
        # same batch requestids), whatever order the caller lists them in.
        ordered = sorted(writes, key=lambda w: (w.request_id, w.key))
        if len(ordered) < SINGLE_CALLS_BELOW:
            refused = {w.key: batch.unsendable(self._operation(w)[1]) for w in ordered}
            sendable = [w for w in ordered if refused[w.key] is None]
            return {**{k: e for k, e in refused.items() if e}, **write_each(self, sendable)}
        parts = [ordered[i : i + batch.MAX_ITEMS] for i in range(0, len(ordered), batch.MAX_ITEMS)]
        results: dict[str, Record | SyncError] = {}
        for answers in each_at_once(self._write_batch, parts):
            results.update(answers)
        return results

    def _write_batch(self, writes: Sequence[Write]) -> dict[str, Record | SyncError]:
        results: dict[str, Record | SyncError] = {}
        entries: list[dict[str, Any]] = []
        sent: dict[str, tuple[Write, Any]] = {}  # bId -> (write, the name it writes)
        for n, write in enumerate(writes):
            operation, body = self._operation(write)
            refused = batch.unsendable(body)
            if refused is not None:
                results[write.key] = refused
                continue
            bid = str(n)
            entries.append({"bId": bid, "operation": operation, "Item": body})
            sent[bid] = (write, body.get("Name"))
        if not entries:
            return results
        params = {
            "minorversion": self.minor_version,
            "requestid": batch.request_id(self.realm_id, [w.request_id for w, _ in sent.values()]),
        }
        try:
            response = self.caller.call(
                "POST",
                f"{self._prefix}/batch",
                op="batch",
                params=params,
                json_body={"BatchItemRequest": entries},
            )
            answers = batch.item_results(json_or_transient(response, "quickbooks"), sent)
        except SyncError as exc:
            return {**results, **{w.key: exc for w, _ in sent.values()}}
        for bid, (write, name) in sent.items():
            answer = answers[bid]
            results[write.key] = (
                self._with_clash(answer, name) if isinstance(answer, DuplicateName) else answer
            )
        return results

    def _operation(self, write: Write) -> tuple[str, dict[str, Any]]:
        """The batch operation and the Item body of one write."""
        if write.current is None:
            return "create", self._create_body(write.fields)
        return "update", _update_body(write.current, write.fields)

    def _create_body(self, fields: Mapping[str, Any]) -> dict[str, Any]:
        body = {**self.create_defaults, **fields}
        if body.get("Type") != "Inventory":
            body.pop("AssetAccountRef", None)  # only inventory items carry an asset account
        else:
            # QBO refuses an Inventory create without these (code 2020).
            body.setdefault("TrackQtyOnHand", True)
            body.setdefault("QtyOnHand", Decimal(0))
            body.setdefault("InvStartDate", date.today().isoformat())
        return body

    def _write(self, body: dict[str, Any], request_id: str, *, name: Any) -> Record:
        params = {"minorversion": self.minor_version, "requestid": request_id}
        try:
            response = self.caller.call(
                "POST", f"{self._prefix}/item", params=params, json_body=body
            )
        except DuplicateName as exc:
            raise self._with_clash(exc, name) from None
        item = json_or_transient(response, "quickbooks").get("Item")
        if not isinstance(item, dict):
            raise TransientError(
                "QuickBooks answered a write without an Item; retrying with the same requestid",
                system="quickbooks",
                details={"outcome_unknown": True},
            )
        return record_from(item)

    def _with_clash(self, exc: DuplicateName, name: Any) -> SyncError:
        """The 6240 error with the id(s) of the item(s) already using the name."""
        if not isinstance(name, str) or not name:
            return exc
        try:
            clashing = [str(i["Id"]) for i in self._query(q.by_name(name)) if "Id" in i]
        except SyncError:
            return exc  # the lookup is a courtesy; the duplicate-name error is what counts
        message = exc.message + (f" (clashing item id {', '.join(clashing)})" if clashing else "")
        return DuplicateName(
            message,
            clashing_ids=clashing,
            system=exc.system,
            vendor_code=exc.vendor_code,
            status=exc.status,
        )

    def write_wait(self) -> float:
        return self.caller.wait_for("batch")

    def writable_fields(self) -> dict[str, FieldSpec]:
        return dict(QBO_ITEM_FIELDS)

    # -- transport -------------------------------------------------------------------

    def _get_json(self, path: str, params: Mapping[str, Any] | None = None) -> Any:
        all_params = {**(params or {}), "minorversion": self.minor_version}
        response = self.caller.call("GET", self._prefix + path, params=all_params)
        return json_or_transient(response, "quickbooks")

    def _query(self, text: str) -> list[dict[str, Any]]:
        response = self.caller.call(
            "POST",
            f"{self._prefix}/query",
            params={"minorversion": self.minor_version},
            text_body=text,
        )
        return items_of(json_or_transient(response, "quickbooks"))


def _with_skus(records: list[Record]) -> list[Record]:
    """``records``, unless one of them, matched on Sku, came back without it."""
    if any(r.sku is None for r in records):
        # Matched on Sku yet answered without it (a minor version below 4 hides Sku): an
        # exact match cannot be confirmed, and guessing "none" would create a duplicate.
        raise ValidationFailed(
            "QuickBooks answered a SKU query with items that carry no Sku; check "
            "PRODUCTSYNC_QUICKBOOKS_MINOR_VERSION (75 is current)",
            code="sku_not_returned",
            system="quickbooks",
        )
    return records


def _update_body(current: Record, changes: Mapping[str, Any]) -> dict[str, Any]:
    """A sparse update of only ``changes``, against the SyncToken ``current`` was read at."""
    body = {k: v for k, v in changes.items() if k not in READ_ONLY}
    body.update({"Id": current.id, "SyncToken": current.version, "sparse": True})
    return body
