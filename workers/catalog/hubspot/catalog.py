"""`Catalog` over HubSpot CRM v3 products (api-reference §1)."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any
from urllib.parse import quote

from workers.catalog.hubspot import batch, search, sku_lookup
from workers.catalog.hubspot import schema as portal_schema
from workers.catalog.hubspot.records import (
    DEFAULT_PROPERTIES,
    MODIFIED,
    SKU,
    WRITE_ID,
    epoch_ms,
    parse_time,
    record_from,
    wire_properties,
)
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
from workers.errors import NotFound, SyncError, TransientError, ValidationFailed
from workers.http.caller import VendorCaller
from workers.http.common import json_or_transient

log = logging.getLogger(__name__)

OBJECTS = "/crm/v3/objects/products"
LIST_PAGE = 100
BATCH = 100


class HubSpotCatalog:
    """Products of one HubSpot portal. Field names are HubSpot property names."""

    system: System = "hubspot"
    sku_field = SKU

    def __init__(
        self, caller: VendorCaller, portal_id: str, *, properties: Sequence[str] = ()
    ) -> None:
        self.caller = caller
        self.portal_id = portal_id
        self.properties = list(dict.fromkeys([*DEFAULT_PROPERTIES, *properties]))
        self._schema = portal_schema.schema_for(caller.base_url, portal_id)

    def changed_between(self, start: datetime, end: datetime) -> Iterator[Change]:
        yield from search.changes(self.caller, int(epoch_ms(start)), int(epoch_ms(end)))

    def retired_between(self, start: datetime, end: datetime) -> Iterator[Change]:
        # Search never shows archived products, and the archived listing has no time
        # filter: the recycle bin (90 days of archives) is read whole, 100 a page, and
        # filtered by `archivedAt` here.
        for obj in self._pages(archived=True, properties=[MODIFIED]):
            stamp = obj.get("archivedAt")
            if not stamp:
                continue
            archived_at = parse_time(stamp)
            if start <= archived_at <= end:
                yield Change(id=str(obj["id"]), updated_at=archived_at, retired=True)

    def iter_all(self, *, include_inactive: bool = False) -> Iterator[Record]:
        yield from self._list(archived=False)
        if include_inactive:
            yield from self._list(archived=True)

    def _list(self, *, archived: bool) -> Iterator[Record]:
        for obj in self._pages(archived=archived, properties=self.properties):
            yield record_from(obj)

    def _pages(self, *, archived: bool, properties: Sequence[str]) -> Iterator[dict[str, Any]]:
        params: dict[str, Any] = {
            "limit": LIST_PAGE,
            "properties": ",".join(properties),
            "archived": "true" if archived else "false",
        }
        seen: set[str] = set()
        while True:
            body = json_or_transient(self.caller.call("GET", OBJECTS, params=params), "hubspot")
            yield from body.get("results", [])
            after = (body.get("paging") or {}).get("next", {}).get("after")
            if not after:
                return
            if after in seen:
                raise TransientError(
                    "HubSpot list repeated a page cursor; retrying", system="hubspot"
                )
            seen.add(after)
            params["after"] = after

    def get(self, record_id: str) -> Record | None:
        try:
            response = self.caller.call(
                "GET",
                f"{OBJECTS}/{quote(record_id, safe='')}",
                params={"properties": ",".join(self.properties)},
            )
        except NotFound:
            return None
        return record_from(json_or_transient(response, "hubspot"))

    def get_many(self, record_ids: Sequence[str]) -> dict[str, Record]:
        unique = list(dict.fromkeys(record_ids))
        parts = [unique[i : i + BATCH] for i in range(0, len(unique), BATCH)]
        records = (record_from(obj) for page in each_at_once(self._read, parts) for obj in page)
        return {record.id: record for record in records}

    def _read(self, ids: Sequence[str]) -> list[dict[str, Any]]:
        request = {"inputs": [{"id": rid} for rid in ids], "properties": self.properties}
        response = self.caller.call("POST", f"{OBJECTS}/batch/read", json_body=request)
        return list(json_or_transient(response, "hubspot").get("results", []))

    def find_by_sku(self, sku: str, *, include_inactive: bool = True) -> list[Record]:
        # Archived products are in the recycle bin and never in search or idProperty reads;
        # HubSpot has no other "inactive" state, so include_inactive changes nothing here.
        if portal_schema.sku_is_unique(self.caller, self._schema):
            candidates = self._by_unique_sku(sku)
        else:
            candidates = self._search_sku(sku)
        # Exact and case-sensitive: the vendor's EQ may ignore case.
        return [r for r in _with_skus(candidates) if r.sku == sku]

    def find_by_skus(
        self, skus: Sequence[str], *, include_inactive: bool = True
    ) -> dict[str, list[Record]]:
        # As in find_by_sku, include_inactive changes nothing: archived products are never
        # in search or idProperty reads.
        unique = list(dict.fromkeys(skus))
        if not unique:
            return {}
        if portal_schema.sku_is_unique(self.caller, self._schema):
            candidates = sku_lookup.by_unique_skus(self.caller, unique, self.properties)
        else:
            candidates = sku_lookup.by_search(self.caller, unique, self.properties)
        return exact_matches(unique, _with_skus(candidates))

    def _by_unique_sku(self, sku: str) -> list[Record]:
        try:
            response = self.caller.call(
                "GET",
                f"{OBJECTS}/{quote(sku, safe='')}",
                params={"idProperty": SKU, "properties": ",".join(self.properties)},
            )
        except NotFound:
            return []
        return [record_from(json_or_transient(response, "hubspot"))]

    def _search_sku(self, sku: str) -> list[Record]:
        request: dict[str, Any] = {
            "filterGroups": [{"filters": [{"propertyName": SKU, "operator": "EQ", "value": sku}]}],
            "properties": self.properties,
            "limit": search.PAGE,
        }
        records: list[Record] = []
        while True:
            body = search.search_page(self.caller, request)
            records += [record_from(obj) for obj in body.get("results", [])]
            after = (body.get("paging") or {}).get("next", {}).get("after")
            if not after or after == request.get("after") or int(after) >= search.CAP:
                return records
            request = {**request, "after": after}

    def create(self, fields: Mapping[str, Any], *, request_id: str) -> Record:
        properties = wire_properties(fields)
        if portal_schema.ensure_write_id(self.caller, self._schema):
            request = {
                "inputs": [{"idProperty": WRITE_ID, "id": request_id, "properties": properties}]
            }
            response = self.caller.call("POST", f"{OBJECTS}/batch/upsert", json_body=request)
            results = json_or_transient(response, "hubspot").get("results", [])
            if len(results) != 1:
                raise TransientError(
                    f"HubSpot upsert answered {len(results)} results for one input; retrying "
                    "with the same request id",
                    system="hubspot",
                    details={"outcome_unknown": True},
                )
            _note_replay(results[0], request_id)
            return _merged(record_from(results[0]), self._blank(), properties)
        response = self.caller.call("POST", OBJECTS, json_body={"properties": properties})
        record = record_from(json_or_transient(response, "hubspot"))
        return _merged(record, self._blank(), properties)

    def update(self, current: Record, changes: Mapping[str, Any], *, request_id: str) -> Record:
        # HubSpot PATCH is last-write-wins and naturally idempotent: no request id to send.
        properties = wire_properties(changes)
        response = self.caller.call(
            "PATCH",
            f"{OBJECTS}/{quote(current.id, safe='')}",
            json_body={"properties": properties},
        )
        record = record_from(json_or_transient(response, "hubspot"))
        return _merged(record, current.fields, properties)

    def deactivate(self, current: Record, *, request_id: str) -> Record:
        # DELETE moves it to the recycle bin (restorable there for 90 days); 204 also for
        # one already archived, and a 404 means it is gone already: the same outcome.
        with contextlib.suppress(NotFound):
            self.caller.call("DELETE", f"{OBJECTS}/{quote(current.id, safe='')}")
        return replace(current, active=False)

    def write_many(self, writes: Sequence[Write]) -> dict[str, Record | SyncError]:
        creates = [w for w in writes if w.current is None]
        updates = [w for w in writes if w.current is not None]
        results: dict[str, Record | SyncError] = {}
        if creates:
            try:
                keyed = portal_schema.ensure_write_id(self.caller, self._schema)
            except SyncError as exc:
                results.update({w.key: exc for w in creates})
            else:
                # Without our unique write id a batch create could not be replayed safely
                # after a lost answer; one plain create per product is what `create` does.
                results.update(self._batched(creates) if keyed else write_each(self, creates))
        if updates:
            results.update(self._batched(updates))
        return results

    def _batched(self, writes: Sequence[Write]) -> dict[str, Record | SyncError]:
        """Writes of one kind (all creates or all updates) in calls of up to 100."""
        results: dict[str, Record | SyncError] = {}
        ready: list[tuple[Write, dict[str, str]]] = []
        for write in writes:
            try:
                ready.append((write, wire_properties(write.fields)))
            except SyncError as exc:  # a float or NaN: this product alone is refused
                results[write.key] = exc
        parts = [ready[i : i + batch.MAX_INPUTS] for i in range(0, len(ready), batch.MAX_INPUTS)]
        for answers in each_at_once(self._write_call, parts):
            results.update(answers)
        return results

    def _write_call(
        self, chunk: Sequence[tuple[Write, dict[str, str]]]
    ) -> dict[str, Record | SyncError]:
        upsert = chunk[0][0].current is None
        if upsert:
            inputs = [batch.upsert_input(w.key, w.request_id, p) for w, p in chunk]
            matches = {w.request_id: w.key for w, _ in chunk}
        else:
            inputs = [batch.update_input(w.key, w.current.id, p) for w, p in chunk if w.current]
            matches = {w.current.id: w.key for w, _ in chunk if w.current}
        path = f"{OBJECTS}/batch/{'upsert' if upsert else 'update'}"
        try:
            response = self.caller.call("POST", path, json_body={"inputs": inputs})
            body = json_or_transient(response, "hubspot")
        except ValidationFailed as exc:
            if exc.status == 400 and len(chunk) > 1:
                # Refused as a whole: a HubSpot that ignores trace ids is all-or-nothing,
                # and the 400 names one bad input at most. One call each finds which.
                log.info(
                    "HubSpot refused a batch of %s as a whole (400); writing one by one", len(chunk)
                )
                return write_each(self, [w for w, _ in chunk])
            return {w.key: exc for w, _ in chunk}
        except SyncError as exc:
            return {w.key: exc for w, _ in chunk}
        match = batch.by_write_id if upsert else batch.by_record_id
        outcomes = batch.correlate(body, [w.key for w, _ in chunk], matches, match)
        results: dict[str, Record | SyncError] = {}
        for write, properties in chunk:
            outcome = outcomes[write.key]
            if isinstance(outcome, SyncError):
                results[write.key] = outcome
                continue
            try:
                record = record_from(outcome)
            except TransientError as exc:
                exc.details["outcome_unknown"] = True
                results[write.key] = exc
                continue
            if upsert:
                _note_replay(outcome, write.request_id)
            before = write.current.fields if write.current else self._blank()
            results[write.key] = _merged(record, before, properties)
        return results

    def _blank(self) -> dict[str, Any]:
        return {n: None for n in self.properties}

    def write_wait(self) -> float:
        return self.caller.wait_for("default")  # batch writes are plain calls

    def writable_fields(self) -> dict[str, FieldSpec]:
        return portal_schema.writable_fields(self.caller, self._schema)


def _with_skus(candidates: list[Record]) -> list[Record]:
    """``candidates``, unless one of them, matched on hs_sku, came back without it."""
    if any(r.sku is None for r in candidates):
        # Matched on hs_sku yet answered without it: an exact match cannot be confirmed,
        # and guessing "none" would create a duplicate.
        raise ValidationFailed(
            "HubSpot answered a SKU search with products that carry no hs_sku",
            code="sku_not_returned",
            system="hubspot",
        )
    return candidates


def _merged(record: Record, before: Mapping[str, Any], written: Mapping[str, str]) -> Record:
    """A write's answer may carry only some properties: complete it with what we know
    (the values before, then what we wrote, then what HubSpot says now)."""
    fields = {**before, **written, **record.fields}
    return replace(record, fields=fields, sku=fields.get(SKU))


def _note_replay(result: Mapping[str, Any], request_id: str) -> None:
    if not result.get("new", True):
        log.info("HubSpot create replay: request %s found product %s", request_id, result.get("id"))
