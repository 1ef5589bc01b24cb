"""CRM search: request validation and evaluation over a portal's lagging index.

Filter groups are OR'ed, filters within a group AND'ed. Only the first *object* sort is
honoured; string-encoded sorts (what the OpenAPI wrongly declares) are ignored, as the
real API does. ``after`` is a numeric offset and paging stops at 10,000 results.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from functools import partial
from typing import Any

from emulators.hubspot.errors import validation_error
from emulators.hubspot.product import Product
from emulators.hubspot.properties import PropertyDef, iso_ms, parse_datetime
from emulators.hubspot.store import Portal

OPERATORS = frozenset(
    {
        "EQ",
        "NEQ",
        "LT",
        "LTE",
        "GT",
        "GTE",
        "BETWEEN",
        "IN",
        "NOT_IN",
        "HAS_PROPERTY",
        "NOT_HAS_PROPERTY",
        "CONTAINS_TOKEN",
        "NOT_CONTAINS_TOKEN",
    }
)
RESULT_CAP = 10_000
QUERY_MAX = 3000
QUERY_FIELDS = ("name", "description", "hs_sku")
TOKEN = re.compile(r"[^\W_]+", re.UNICODE)
ISO_MS = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")


@dataclass(frozen=True)
class Limits:
    max_groups: int = 5
    max_filters: int = 6
    max_limit: int = 200
    case_insensitive: bool = True


@dataclass(frozen=True)
class Filter:
    prop: PropertyDef
    operator: str
    value: str | None
    high: str | None
    values: tuple[str, ...]


@dataclass(frozen=True)
class SearchRequest:
    groups: tuple[tuple[Filter, ...], ...]
    sort: tuple[str, bool] | None  # (property, descending)
    query: str | None
    properties: list[str] | None
    limit: int
    offset: int


def parse(body: Any, portal: Portal, limits: Limits) -> SearchRequest:
    if body is None:
        body = {}
    if not isinstance(body, dict):
        raise validation_error("Invalid input JSON: expected an object")
    raw_groups = body.get("filterGroups") or []
    if not isinstance(raw_groups, list):
        raise validation_error("filterGroups must be a list")
    if len(raw_groups) > limits.max_groups:
        raise validation_error(
            f"Too many filter groups: {len(raw_groups)}; the maximum is {limits.max_groups}"
        )
    groups = []
    for group in raw_groups:
        filters = group.get("filters") if isinstance(group, dict) else None
        if not isinstance(filters, list):
            raise validation_error("Each filter group needs a list of filters")
        if len(filters) > limits.max_filters:
            raise validation_error(
                f"Too many filters in a group: {len(filters)}; the maximum is {limits.max_filters}"
            )
        groups.append(tuple(_filter(f, portal) for f in filters))
    limit = body.get("limit", 10)
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 0:
        raise validation_error(f"limit must be a non-negative integer, got {limit!r}")
    if limit > limits.max_limit:
        raise validation_error(f"limit must be at most {limits.max_limit}, got {limit}")
    after = body.get("after")
    offset = 0
    if after not in (None, ""):
        if not str(after).isdigit():
            raise validation_error(f"after must be a numeric offset, got {after!r}")
        offset = int(after)
    if offset >= RESULT_CAP:
        raise validation_error(
            f"Search results are limited to the first {RESULT_CAP} records "
            f"(after={offset}); narrow the filters or page by hs_object_id"
        )
    query = body.get("query")
    if query is not None and (not isinstance(query, str) or len(query) > QUERY_MAX):
        raise validation_error(f"query must be a string of at most {QUERY_MAX} characters")
    properties = body.get("properties")
    if properties is not None and not (
        isinstance(properties, list) and all(isinstance(p, str) for p in properties)
    ):
        raise validation_error("properties must be a list of property names")
    return SearchRequest(
        tuple(groups),
        _sort(body.get("sorts"), portal),
        query or None,
        properties or None,
        limit,
        offset,
    )


def _filter(raw: Any, portal: Portal) -> Filter:
    if not isinstance(raw, dict):
        raise validation_error("Each filter must be an object")
    name, operator = raw.get("propertyName"), raw.get("operator")
    if operator not in OPERATORS:
        raise validation_error(
            f"Invalid operator {operator!r}; expected one of {', '.join(sorted(OPERATORS))}"
        )
    prop = portal.properties.get(name) if isinstance(name, str) else None
    if prop is None:
        raise validation_error(f'Property "{name}" does not exist on object type PRODUCT')
    value, high, values = raw.get("value"), raw.get("highValue"), raw.get("values") or []
    needs_value = operator not in ("HAS_PROPERTY", "NOT_HAS_PROPERTY", "IN", "NOT_IN")
    if needs_value and value is None:
        raise validation_error(f"Operator {operator} needs a value")
    if operator == "BETWEEN" and high is None:
        raise validation_error("Operator BETWEEN needs a highValue")
    if operator in ("IN", "NOT_IN") and not values:
        raise validation_error(f"Operator {operator} needs values")
    return Filter(
        prop,
        operator,
        None if value is None else str(value),
        None if high is None else str(high),
        tuple(str(v) for v in values),
    )


def _sort(raw: Any, portal: Portal) -> tuple[str, bool] | None:
    if not isinstance(raw, list):
        return None
    for item in raw:
        if isinstance(item, dict) and item.get("propertyName") in portal.properties:
            return item["propertyName"], item.get("direction") == "DESCENDING"
    return None  # string-encoded sorts are silently ignored, as on the real API


def _typed(prop: PropertyDef, raw: str) -> Any:
    """A filter value or stored value in comparable form. Stored datetimes are canonical
    ISO-8601 UTC with milliseconds, so their strings order chronologically: comparing
    strings saves parsing every product's timestamp on every search."""
    if prop.type == "number":
        try:
            return Decimal(raw)
        except InvalidOperation:
            raise validation_error(f"{raw} is not a valid number for {prop.name}") from None
    if prop.type in ("datetime", "date"):
        if ISO_MS.fullmatch(raw):
            return raw
        moment = parse_datetime(raw)
        if moment is None:
            raise validation_error(f"{raw} is not a valid date for {prop.name}")
        return iso_ms(moment)
    return raw


def _stored(prop: PropertyDef, raw: str) -> Any:
    """A stored value in comparable form (stored datetimes are canonical already)."""
    return Decimal(raw) if prop.type == "number" else raw


def _tokens(text: str) -> list[str]:
    return TOKEN.findall(text.lower())


Predicate = Callable[[Mapping[str, str]], bool]
TEXTUAL = ("string", "enumeration", "bool")
RANGE = ("GT", "GTE", "LT", "LTE", "BETWEEN")
COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "LT": lambda a, b: a < b,
    "LTE": lambda a, b: a <= b,
    "GT": lambda a, b: a > b,
    "GTE": lambda a, b: a >= b,
}


def compile_filter(f: Filter, limits: Limits) -> Predicate:
    """A predicate over a product's indexed properties. Filter values are converted once,
    here, so a bad value is a 400 and the per-product check stays cheap."""
    name, op, prop = f.prop.name, f.operator, f.prop
    if op == "HAS_PROPERTY":
        return lambda props: name in props
    if op == "NOT_HAS_PROPERTY":
        return lambda props: name not in props
    if op in ("CONTAINS_TOKEN", "NOT_CONTAINS_TOKEN"):
        pattern, wanted = (f.value or "").lower(), op == "CONTAINS_TOKEN"

        def contains(props: Mapping[str, str]) -> bool:
            stored = props.get(name)
            found = stored is not None and (
                any(fnmatch.fnmatchcase(t, pattern) for t in _tokens(stored))
                or fnmatch.fnmatchcase(stored.lower(), pattern)
            )
            return found is wanted

        return contains
    if op in ("EQ", "NEQ", "IN", "NOT_IN"):
        raw = [f.value or ""] if op in ("EQ", "NEQ") else list(f.values)
        if prop.type in TEXTUAL:
            key: Callable[[str], Any] = str.lower if limits.case_insensitive else str
            wanted_set = {key(w) for w in raw}
        else:
            key = partial(_stored, prop)
            wanted_set = {_typed(prop, w) for w in raw}
        positive = op in ("EQ", "IN")

        def member(props: Mapping[str, str]) -> bool:
            stored = props.get(name)
            return (stored is not None and key(stored) in wanted_set) is positive

        return member
    convert = partial(_stored, prop)
    low = _typed(prop, f.value or "")
    if op == "BETWEEN":
        high = _typed(prop, f.high or "")
        return lambda props: name in props and low <= convert(props[name]) <= high
    compare = COMPARE[op]
    return lambda props: name in props and compare(convert(props[name]), low)


def _query_hit(query: str, props: Mapping[str, str]) -> bool:
    words = [props.get(n, "") for n in QUERY_FIELDS]
    tokens = [t for w in words for t in _tokens(w)]
    haystack = " ".join(words).lower()
    return all(
        any(t.startswith(q) for t in tokens) or q in haystack for q in _tokens(query) or [query]
    )


def _index_hits(portal: Portal, f: Filter) -> set[str] | None:
    """Ids an index can vouch for (a superset of the filter's matches), or None."""
    if f.operator in ("EQ", "IN") and f.prop.type in TEXTUAL:
        values = [f.value or ""] if f.operator == "EQ" else list(f.values)
        return portal.folded_hits(f.prop.name, values)
    if f.prop.name == "hs_lastmodifieddate" and f.operator in RANGE:
        value = _typed(f.prop, f.value or "")
        if f.operator == "BETWEEN":
            return portal.modified_between(value, True, _typed(f.prop, f.high or ""), True)
        if f.operator in ("GT", "GTE"):
            return portal.modified_between(value, f.operator == "GTE", None, True)
        return portal.modified_between(None, True, value, f.operator == "LTE")
    return None


def _candidates(portal: Portal, request: SearchRequest) -> Iterable[Product]:
    """Products worth checking. When every group pins an indexed text property with EQ/IN,
    the index narrows the scan (plus every product whose latest write search does not see
    yet, since the index holds current values); otherwise all products."""
    ids: set[str] = set()
    for group in request.groups:
        hits = None
        for f in group:
            hits = _index_hits(portal, f)
            if hits is not None:
                break
        if hits is None:
            return portal.products.values()
        ids |= hits
    if not request.groups:
        return portal.products.values()
    ids |= portal.unsettled.keys()
    return [portal.products[i] for i in sorted(ids, key=int)]


def run(
    portal: Portal, request: SearchRequest, limits: Limits, now: float
) -> tuple[int, list[tuple[Product, dict[str, str]]]]:
    """(total, the requested page of (product, indexed properties))."""
    portal.settle(now)
    groups = [[compile_filter(f, limits) for f in group] for group in request.groups]
    hits: list[tuple[Product, dict[str, str]]] = []
    for product in _candidates(portal, request):
        props = product.searchable(now)
        if props is None:
            continue
        if groups and not any(all(p(props) for p in group) for group in groups):
            continue
        if request.query and not _query_hit(request.query, props):
            continue
        hits.append((product, props))
    if request.sort is not None:
        name, descending = request.sort
        prop = portal.properties[name]
        present = [h for h in hits if name in h[1]]
        missing = [h for h in hits if name not in h[1]]
        present.sort(key=lambda h: (_stored(prop, h[1][name]), int(h[0].id)), reverse=descending)
        hits = present + missing
    # Nothing past the 10,000th result is ever served, whatever offset + limit asks for.
    return len(hits), hits[request.offset : min(request.offset + request.limit, RESULT_CAP)]
