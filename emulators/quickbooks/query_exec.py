"""Running a parsed query against a realm: field checks, filtering, order and paging.

Filterable Item fields are those the vendor documents (Id, Name, Sku, Type, Active,
FullyQualifiedName, MetaData.CreateTime, MetaData.LastUpdatedTime, Description); any other
property in WHERE is 4001 "not queryable". Inactive records are left out unless the WHERE
clause mentions ``Active``. Equality on Id, on Sku (when Sku compares exactly) and on Name
uses the realm's indexes instead of a scan.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from datetime import datetime
from decimal import Decimal
from typing import Any

from emulators.quickbooks import faults
from emulators.quickbooks.entities import ITEM_FIELDS, Entity, item_json, render_account
from emulators.quickbooks.jsonio import parse_datetime
from emulators.quickbooks.query_parser import Condition, Query, Value, parse_query
from emulators.quickbooks.realm import Realm
from emulators.quickbooks.switches import Switches

__all__ = ["ENTITIES", "run_query", "run_query_text"]

_META = {"MetaData.CreateTime": "datetime", "MetaData.LastUpdatedTime": "datetime"}
_ITEM_FILTER = {"Id": "id", "Name": "str", "Sku": "str", "Type": "str", "Active": "bool",
                "FullyQualifiedName": "str", "Description": "str", **_META}
_ITEM_SORT = {**_ITEM_FILTER, "UnitPrice": "decimal", "PurchaseCost": "decimal",
              "QtyOnHand": "decimal"}
_ACCOUNT_FILTER = {"Id": "id", "Name": "str", "Active": "bool", "FullyQualifiedName": "str",
                   "AccountType": "str", "Classification": "str", "AccountSubType": "str",
                   **_META}
_ACCOUNT_SORT = {**_ACCOUNT_FILTER, "CurrentBalance": "decimal"}
_ITEM_KNOWN = frozenset({*ITEM_FIELDS, *_ITEM_SORT, "SyncToken", "MetaData"})

# entity name (case-sensitive, as the vendor) -> (filterable, sortable, renderer)
ENTITIES: dict[str, tuple[dict[str, str], dict[str, str], Callable[[Entity, Any], Any]]] = {
    "Item": (_ITEM_FILTER, _ITEM_SORT, item_json),
    "Account": (_ACCOUNT_FILTER, _ACCOUNT_SORT, render_account),
}


def _canonical(name: str, table: dict[str, str]) -> str | None:
    lowered = name.lower()
    for candidate in table:
        if candidate.lower() == lowered:
            return candidate
    return None


def _not_queryable(name: str) -> faults.QboFault:
    return faults.query_not_queryable(f"property '{name}' is not queryable")


def _id_key(value: Any) -> tuple[int, Any]:
    text = str(value)
    return (0, int(text)) if text.isdigit() else (1, text)


class _Predicate:
    """One WHERE condition compiled for one field kind."""

    def __init__(self, cond: Condition, field: str, kind: str, ci: bool, realm: Realm) -> None:
        self.field, self.kind, self.op, self.ci = field, kind, cond.op, ci
        if cond.op == "LIKE" and kind != "str":
            raise faults.query_not_queryable(f"LIKE is not supported on property '{field}'")
        self.values = [self._coerce(v, realm) for v in cond.values]
        self.pattern: re.Pattern[str] | None = None
        if cond.op == "LIKE":
            parts = [re.escape(part) for part in str(cond.values[0]).split("%")]
            self.pattern = re.compile(".*".join(parts), re.S | (re.I if ci else 0))

    def _coerce(self, value: Value, realm: Realm) -> Any:
        kind = self.kind
        if kind == "bool":
            if isinstance(value, bool):
                return value
            if isinstance(value, str) and value.lower() in ("true", "false"):
                return value.lower() == "true"
        elif kind == "id":
            if not isinstance(value, bool):
                return _id_key(value)
        elif kind == "datetime":
            if isinstance(value, str):
                try:
                    return parse_datetime(value, realm.tz)
                except ValueError:
                    pass
        elif kind == "str":
            if isinstance(value, str):
                return value.lower() if self.ci else value
            if isinstance(value, Decimal):
                return str(value)
        raise faults.query_not_queryable(f"invalid value {value!r} for property '{self.field}'")

    def key(self, entity: Entity) -> Any:
        value = entity.value(self.field)
        if value is None:
            return None
        if self.kind == "id":
            return _id_key(value)
        if self.kind == "str" and self.ci:
            return str(value).lower()
        return value

    def __call__(self, entity: Entity) -> bool:
        if self.pattern is not None:
            value = entity.value(self.field)
            return value is not None and self.pattern.fullmatch(value) is not None
        actual = self.key(entity)
        if actual is None:
            return False
        op, first = self.op, self.values[0]
        if op == "=":
            return bool(actual == first)
        if op == "IN":
            return actual in self.values
        if op == "<":
            return bool(actual < first)
        if op == ">":
            return bool(actual > first)
        if op == "<=":
            return bool(actual <= first)
        return bool(actual >= first)


def _candidates(query: Query, preds: list[_Predicate], realm: Realm) -> Iterable[Entity]:
    store = realm.items if query.entity == "Item" else realm.accounts
    for pred in preds:
        if pred.op not in ("=", "IN"):
            continue
        if pred.field == "Id":
            ids = {str(v[1]) for v in pred.values}
            return [store[i] for i in sorted(ids, key=_id_key) if i in store]
        if query.entity == "Item" and pred.field == "Sku" and not pred.ci:
            found = {e.id: e for v in pred.values for e in realm.items_by_sku(v)}
            return [found[i] for i in sorted(found, key=int)]
        if query.entity == "Item" and pred.field == "Name":
            found = {e.id: e for v in pred.values for e in realm.items_by_name(v)}
            return [found[i] for i in sorted(found, key=int)]
    return store.values()


def run_query(query: Query, realm: Realm, switches: Switches) -> dict[str, Any]:
    """The ``QueryResponse`` object for a parsed query (4001 faults on bad fields)."""
    if query.entity not in ENTITIES:
        raise faults.query_not_queryable(f"entity '{query.entity}' is not supported")
    filterable, sortable, render = ENTITIES[query.entity]
    for extra in query.extra_fields:
        if query.entity != "Item" or _canonical(extra, {k: "" for k in _ITEM_KNOWN}) is None:
            raise _not_queryable(extra)
    preds: list[_Predicate] = []
    for cond in query.conditions:
        field = _canonical(cond.field, filterable)
        if field is None:
            raise _not_queryable(cond.field)
        ci = field in switches.query_ci_fields
        preds.append(_Predicate(cond, field, filterable[field], ci, realm))
    order: list[tuple[str, str, bool]] = []
    for name, descending in query.order:
        field = _canonical(name, sortable)
        if field is None:
            raise faults.query_not_queryable(f"property '{name}' is not sortable")
        order.append((field, sortable[field], descending))
    limit = 100 if query.max_results is None else query.max_results
    if limit > switches.max_results:
        if switches.maxresults_over_limit == "error":
            raise faults.query_not_queryable(
                f"MAXRESULTS must not exceed {switches.max_results}")
        limit = switches.max_results
    mentions_active = any(p.field == "Active" for p in preds)
    matches = [
        e for e in _candidates(query, preds, realm)
        if (mentions_active or e.active) and all(p(e) for p in preds)
    ]
    if query.count:
        return {"totalCount": len(matches)}
    for field, kind, descending in reversed(order):
        matches.sort(key=_sort_key(field, kind), reverse=descending)
    start = max(query.start_position or 1, 1)
    page = matches[start - 1: start - 1 + limit]
    if not page:
        return {}
    return {query.entity: [render(e, realm.tz) for e in page], "startPosition": start,
            "maxResults": len(page)}


def _sort_key(field: str, kind: str) -> Callable[[Entity], tuple[bool, Any]]:
    def key(entity: Entity) -> tuple[bool, Any]:
        value = entity.value(field)
        if value is None:
            return (False, "")
        if kind == "id":
            return (True, _id_key(value))
        if kind == "datetime" and isinstance(value, datetime):
            return (True, value.timestamp())
        if kind == "str":
            return (True, str(value).lower())
        return (True, value)

    return key


def run_query_text(text: str, realm: Realm, switches: Switches) -> dict[str, Any]:
    return run_query(parse_query(text), realm, switches)
