"""The port the sync engine talks to. One implementation per vendor; both speak HTTP.

Field names in `Record.fields` and in `create`/`update` are the vendor's own
(HubSpot property names such as ``hs_sku``; QBO Item element names such as ``Sku``),
so that field mappings are stored and validated in the vendor's vocabulary. Values are
normalized at the edge: HubSpot's wire strings stay ``str | None``; QBO's JSON numbers
become `Decimal` (never float), references stay ``{"value": ..., "name": ...}`` dicts.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, Protocol, runtime_checkable

from workers.errors import SyncError

System = Literal["hubspot", "quickbooks"]
Direction = Literal["hubspot_to_quickbooks", "quickbooks_to_hubspot"]
DIRECTIONS: tuple[Direction, ...] = ("hubspot_to_quickbooks", "quickbooks_to_hubspot")


def source_of(direction: Direction) -> System:
    return "hubspot" if direction == "hubspot_to_quickbooks" else "quickbooks"


def destination_of(direction: Direction) -> System:
    return "quickbooks" if direction == "hubspot_to_quickbooks" else "hubspot"


@dataclass(frozen=True)
class Record:
    """One product as the vendor holds it now."""

    system: System
    id: str
    fields: Mapping[str, Any]
    updated_at: datetime  # timezone-aware UTC
    active: bool = True  # HubSpot: not archived; QBO: Active
    version: str | None = None  # QBO SyncToken; HubSpot has none (last write wins)
    sku: str | None = None  # the SKU field's value, exactly as stored (never stripped)


@dataclass(frozen=True)
class Change:
    """A product seen as changed by a poll. The worker re-fetches it before acting."""

    id: str
    updated_at: datetime  # timezone-aware UTC
    # Archived (HubSpot), inactive or deleted (QBO) when seen: what the mass-archive
    # guard counts. The worker still decides on the product as it is when it runs.
    retired: bool = False


@dataclass(frozen=True)
class Write:
    """One product write of a batch: a create when ``current`` is None, else an update of
    only ``fields`` on ``current`` (as `Catalog.update`)."""

    key: str  # the caller's correlation key, unique within one `write_many` call
    fields: Mapping[str, Any]
    request_id: str  # stable per logical write, as for `create`/`update`
    current: Record | None = None


@dataclass(frozen=True)
class FieldSpec:
    """A writable vendor field, for validating mappings when they are saved."""

    name: str
    kind: Literal["string", "number", "enumeration", "bool", "reference", "date"]
    label: str = ""
    max_length: int | None = None
    options: Sequence[str] = field(default_factory=tuple)
    read_only: bool = False


@runtime_checkable
class Catalog(Protocol):
    """A product catalog in one vendor account (one HubSpot portal or one QBO realm).

    Every method raises only `workers.errors.SyncError` subclasses for vendor failures.
    None of them retries: Celery's retry (driven by the job row) is the only retry layer.
    """

    system: System
    sku_field: str  # "hs_sku" or "Sku"

    def changed_between(self, start: datetime, end: datetime) -> Iterator[Change]:
        """Every product whose last modification lies in ``[start, end]`` (closed start).

        Complete for the window or raises: never silently truncated at a vendor cap.
        """
        ...

    def retired_between(self, start: datetime, end: datetime) -> Iterator[Change]:
        """Products archived (or inactivated, deleted) in ``[start, end]`` that
        `changed_between` does not show (HubSpot search never shows archived products;
        QBO's CDC already does, so its answer here is empty). Polled only for accounts
        whose lifecycle policy is `mirror`."""
        ...

    def iter_all(self, *, include_inactive: bool = False) -> Iterator[Record]:
        """Every product, paged; for full syncs and audits."""
        ...

    def get(self, record_id: str) -> Record | None:
        """The product as it is now, or None when it does not exist or is archived."""
        ...

    def get_many(self, record_ids: Sequence[str]) -> dict[str, Record]:
        """Several products in as few calls as the vendor allows; missing ids are absent."""
        ...

    def find_by_sku(self, sku: str, *, include_inactive: bool = True) -> list[Record]:
        """Exact, case-sensitive SKU match. Never used to confirm our own writes."""
        ...

    def find_by_skus(
        self, skus: Sequence[str], *, include_inactive: bool = True
    ) -> dict[str, list[Record]]:
        """`find_by_sku` for several SKUs in as few calls as the vendor allows: every SKU
        asked for is a key, mapped to its exact, case-sensitive matches (maybe none)."""
        ...

    def create(self, fields: Mapping[str, Any], *, request_id: str) -> Record:
        """Create a product. ``request_id`` is stable per logical create: repeating the
        call with the same id after an unknown outcome creates nothing new."""
        ...

    def update(self, current: Record, changes: Mapping[str, Any], *, request_id: str) -> Record:
        """Change only ``changes`` on ``current`` (QBO: sparse update with its SyncToken)."""
        ...

    def deactivate(self, current: Record, *, request_id: str) -> Record:
        """Archive (HubSpot: to the recycle bin) or inactivate (QBO: ``Active`` false)
        ``current``; the answer is the product as it is now. Safe to repeat."""
        ...

    def write_many(self, writes: Sequence[Write]) -> dict[str, Record | SyncError]:
        """Creates and updates in as few calls as the vendor allows (QBO ``/batch`` of 30,
        HubSpot ``batch/upsert`` and ``batch/update`` of 100).

        Never raises a vendor error: every key maps to its written `Record` or to its own
        `SyncError`; a failure of a whole call is the error of each of its items. A replay
        with the same request ids after an unknown outcome creates nothing new.
        """
        ...

    def write_wait(self) -> float:
        """Seconds until `write_many`'s next call could be sent: the account's open
        circuit, or the shared rate budget (0: now). A hint that reserves nothing: a
        full-sync chunk asks before it reads, so that it waits without having read for
        nothing."""
        ...

    def writable_fields(self) -> dict[str, FieldSpec]:
        """The fields a mapping may write, by vendor name."""
        ...


def write_each(catalog: Catalog, writes: Sequence[Write]) -> dict[str, Record | SyncError]:
    """`Catalog.write_many` one call per product: for vendors or cases without a batch."""
    results: dict[str, Record | SyncError] = {}
    for write in writes:
        try:
            if write.current is None:
                results[write.key] = catalog.create(write.fields, request_id=write.request_id)
            else:
                results[write.key] = catalog.update(
                    write.current, write.fields, request_id=write.request_id
                )
        except SyncError as err:
            results[write.key] = err
    return results


def exact_matches(skus: Sequence[str], candidates: Iterable[Record]) -> dict[str, list[Record]]:
    """`Catalog.find_by_skus`'s answer from what a vendor returned for ``skus``: every SKU
    a key, each candidate under its SKU only on an exact, case-sensitive match (a vendor's
    IN, EQ or idProperty read may ignore case), each record once."""
    found: dict[str, list[Record]] = {sku: [] for sku in skus}
    seen: set[str] = set()
    for record in candidates:
        if record.sku in found and record.id not in seen:
            seen.add(record.id)
            found[record.sku].append(record)
    return found
