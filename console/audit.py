"""The pre-flight audit: what a full sync would meet, computed from both catalogs, no writes.

`audit_catalogs` is pure: it takes every product of both sides (QuickBooks including
inactive items), the account's mappings, direction and product links, and decides per
source product what the engine would do, with the engine's own rules (`map_product`,
exact case-sensitive SKU matching, link first, `changes_needed`). It also lists what a
person should clean up first: products without SKU, duplicate SKUs per side, SKUs that
differ only by case or surrounding spaces (they will NOT match), QuickBooks name
collisions (the engine then appends the SKU to the name), inactive QuickBooks items
that would be matched, and linked products whose lifecycle differs (archived on one side,
active on the other).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from workers.catalog.port import Direction, Record, destination_of, source_of
from workers.errors import DataError
from workers.mapping import FieldMapping, changes_needed, disambiguated_name, map_product


def audit_catalogs(
    hubspot: Iterable[Record],
    quickbooks: Iterable[Record],
    *,
    direction: Direction,
    mappings: Sequence[FieldMapping],
    links: Mapping[str, str] | None = None,
    lifecycle_policy: str = "ignore",
) -> dict[str, Any]:
    """The report. ``links`` maps a source product id to its linked destination id."""
    sides: dict[str, list[Record]] = {"hubspot": list(hubspot), "quickbooks": list(quickbooks)}
    source_system, destination_system = source_of(direction), destination_of(direction)
    # Archived HubSpot products are never listed; inactive QBO items matter as targets only.
    sources = [r for r in sides[source_system] if r.active]
    destinations = sides[destination_system]
    report: dict[str, Any] = {
        "direction": direction,
        "counts": {
            "hubspot": len(sides["hubspot"]),
            "quickbooks": len([r for r in sides["quickbooks"] if r.active]),
            "quickbooks_inactive": len([r for r in sides["quickbooks"] if not r.active]),
        },
        "missing_sku": {
            s: sorted(r.id for r in recs if not (r.sku or "").strip()) for s, recs in sides.items()
        },
        "duplicate_skus": {s: _duplicates(recs) for s, recs in sides.items()},
        "near_duplicate_skus": _near_duplicates(sides),
    }
    plan = _plan(sources, destinations, direction, mappings, links or {})
    report["plan"] = plan.pop("summary")
    report.update(plan)
    report["lifecycle"] = {
        "policy": lifecycle_policy,
        **lifecycle_differences(sources, destinations, links or {}),
    }
    return report


def lifecycle_differences(
    active_sources: Iterable[Record], destinations: Iterable[Record], links: Mapping[str, str]
) -> dict[str, list[dict[str, str]]]:
    """Linked pairs whose lifecycle differs: archived (or deleted) in the source while
    active in the destination, and active in the source while the destination product is
    inactive (QBO) or not listed at all (HubSpot lists no archived product). A full sync
    under the lifecycle policy `mirror` converges both."""
    active = {r.id for r in active_sources}
    shown = {r.id: r for r in destinations}
    retired, restored = [], []
    for source_id, destination_id in sorted(links.items()):
        target = shown.get(destination_id)
        pair = {"source_id": source_id, "destination_id": destination_id}
        if source_id not in active and target is not None and target.active:
            retired.append({**pair, "sku": target.sku or ""})
        elif source_id in active and (target is None or not target.active):
            restored.append(pair)
    return {"archived_in_source": retired, "inactive_in_destination": restored}


def _duplicates(records: Iterable[Record]) -> list[dict[str, Any]]:
    by_sku: dict[str, list[str]] = defaultdict(list)
    for r in records:
        if r.sku and r.sku.strip() and r.active:
            by_sku[r.sku].append(r.id)
    return [{"sku": sku, "ids": sorted(ids)} for sku, ids in sorted(by_sku.items()) if len(ids) > 1]


def _near_duplicates(sides: Mapping[str, list[Record]]) -> list[dict[str, Any]]:
    """Distinct SKU spellings (either side) equal once case-folded and stripped."""
    groups: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    for system, records in sides.items():
        for r in records:
            if r.sku and r.sku.strip():
                groups[r.sku.strip().casefold()][r.sku].add(f"{system}:{r.id}")
    return [
        {"skus": [{"sku": sku, "products": sorted(ids)} for sku, ids in sorted(spellings.items())]}
        for _, spellings in sorted(groups.items())
        if len(spellings) > 1
    ]


def _plan(
    sources: list[Record],
    destinations: list[Record],
    direction: Direction,
    mappings: Sequence[FieldMapping],
    links: Mapping[str, str],
) -> dict[str, Any]:
    by_id = {r.id: r for r in destinations}
    by_sku: dict[str, list[Record]] = defaultdict(list)
    for r in destinations:
        if r.sku:
            by_sku[r.sku].append(r)
    source_skus = Counter(r.sku for r in sources if r.sku)
    to_qbo = destination_of(direction) == "quickbooks"
    # QBO names are unique across all items, active or not, regardless of case (the
    # strictest reading of 6240; api-reference §7 q5).
    taken: dict[str, str] = {
        _fold(r.fields.get("Name")): f"quickbooks:{r.id}"
        for r in destinations
        if to_qbo and r.fields.get("Name")
    }
    summary = Counter({"create": 0, "update": 0, "unchanged": 0, "invalid": 0, "conflict": 0})
    invalid: Counter[str] = Counter()
    problems: list[dict[str, Any]] = []
    collisions: list[dict[str, Any]] = []
    inactive_matches: list[dict[str, Any]] = []
    for record in sources:
        try:
            mapped = map_product(record, mappings, direction)
        except DataError as err:
            summary["invalid"] += 1
            invalid[err.code] += 1
            problems.append({"id": record.id, "sku": record.sku, **err.as_record()})
            continue
        if source_skus[mapped.sku] > 1:
            summary["conflict"] += 1  # listed under duplicate_skus
            continue
        linked = by_id.get(links.get(record.id, ""))
        matches = [linked] if linked else by_sku.get(mapped.sku, [])
        if len(matches) > 1:
            summary["conflict"] += 1
            continue
        target = matches[0] if matches else None
        if target is not None and not target.active and to_qbo:
            inactive_matches.append(
                {"sku": mapped.sku, "source_id": record.id, "quickbooks_id": target.id}
            )
        name = mapped.fields.get("Name") if to_qbo else None
        if target is None:
            summary["create"] += 1
        elif changes_needed(target, mapped):
            summary["update"] += 1
        else:
            summary["unchanged"] += 1
            continue
        if isinstance(name, str) and name:
            # A planned create is named by its source product.
            own = f"quickbooks:{target.id}" if target else f"{record.system}:{record.id}"
            holder = taken.setdefault(_fold(name), own)
            if holder != own:
                collisions.append(
                    {
                        "name": name,
                        "sku": mapped.sku,
                        "source_id": record.id,
                        "clashes_with": holder,
                        "would_become": disambiguated_name(name, mapped.sku),
                    }
                )
    return {
        "summary": {**summary, "invalid_by_code": dict(sorted(invalid.items()))},
        "invalid_products": problems,
        "name_collisions": collisions,
        "inactive_matches": inactive_matches,
    }


def _fold(value: Any) -> str:
    return str(value).strip().casefold()
