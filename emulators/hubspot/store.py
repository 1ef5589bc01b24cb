"""One portal's products: storage, property validation, unique values, and the lagging
search index view.

Ids are large numeric strings that grow with creation order (lists are ordered by id).
Every write stamps ``hs_lastmodifieddate``/``updatedAt`` (ms, strictly increasing per
product). Search sees a product's state only ``lag`` seconds after the write that made it,
so freshly written products appear late, as on the real index; archived products never
appear in search.
"""

from __future__ import annotations

import base64
import bisect
import random
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from emulators.hubspot.errors import (
    HubSpotError,
    PropertyProblem,
    property_error,
    validation_error,
)
from emulators.hubspot.product import Product, Version, now_ms
from emulators.hubspot.properties import PropertyDef, iso_ms, standard_properties

# (portal id, event kind, product, changed properties, merged ids): see `Portal.notify`.
Listener = Callable[[str, str, Product, Mapping[str, str], Sequence[str]], None]


def encode_after(product_id: int) -> str:
    return base64.urlsafe_b64encode(f"{product_id}\n".encode()).decode()


def decode_after(after: str) -> int:
    try:
        return int(base64.urlsafe_b64decode(after.encode()).decode().strip())
    except (ValueError, UnicodeDecodeError):
        raise validation_error(f"Invalid paging cursor: {after}") from None


class Portal:
    """A HubSpot account. Not thread-safe: only the server's event loop touches it."""

    def __init__(self, portal_id: str, *, hs_sku_unique: bool = False) -> None:
        self.portal_id = portal_id
        self.products: dict[str, Product] = {}
        self._order: list[int] = []
        self.properties: dict[str, PropertyDef] = standard_properties()
        self.properties["hs_sku"].has_unique_value = hs_sku_unique
        # lower-cased value -> ids of live products, for hs_sku and every unique-valued
        # property: unique lookups and the common "hs_sku EQ x" search avoid a full scan.
        self._index: dict[str, dict[str, set[str]]] = {"hs_sku": {}}
        # (hs_lastmodifieddate, id) of live products, sorted: polling searches by
        # modification window read a slice instead of scanning the portal.
        self._modified: list[tuple[str, str]] = []
        # id -> when search will see its latest write (only products written within the lag)
        self.unsettled: dict[str, float] = {}
        self._rng = random.Random(int(portal_id) if portal_id.isdigit() else portal_id)
        self.listener: Listener | None = None
        self._next_id = 10_000_000_000 + self._rng.randrange(1_000_000_000, 20_000_000_000)

    # -- properties -------------------------------------------------------------------

    def add_property(self, prop: PropertyDef) -> None:
        if prop.name in self.properties:
            raise HubSpotError(
                409,
                "OBJECT_ALREADY_EXISTS",
                f"A property named '{prop.name}' already exists.",
            )
        self.properties[prop.name] = prop
        if prop.has_unique_value:
            self._index.setdefault(prop.name, {})

    def is_unique(self, name: str) -> bool:
        prop = self.properties.get(name)
        return prop is not None and prop.has_unique_value

    def validate(self, raw: Any, *, coerce: bool = False) -> dict[str, str]:
        """Normalised property changes, or 400 listing every refused property."""
        if raw is None:
            return {}
        if not isinstance(raw, dict):
            raise validation_error("Invalid input JSON: properties must be an object")
        changes: dict[str, str] = {}
        problems: list[PropertyProblem] = []
        for name, value in raw.items():
            prop = self.properties.get(name)
            if prop is None:
                problems.append(
                    PropertyProblem(
                        name,
                        "PROPERTY_DOESNT_EXIST",
                        f'Property "{name}" does not exist',
                        {"portalId": int(self.portal_id)},
                    )
                )
                continue
            result = prop.normalise(value, coerce=coerce)
            if isinstance(result, PropertyProblem):
                problems.append(result)
            else:
                changes[name] = result
        if problems:
            raise property_error(problems)
        return changes

    # -- lookups ----------------------------------------------------------------------

    def get(self, product_id: str, *, archived: bool = False) -> Product | None:
        product = self.products.get(product_id)
        if product is not None and product.merged_into is not None:
            return None if archived else self.merged_primary(product_id)
        if product is None or product.archived != archived:
            return None
        return product

    def by_unique(self, name: str, value: str) -> Product | None:
        """The live product whose unique property ``name`` equals ``value``."""
        for product_id in self._index.get(name, {}).get(value.lower(), ()):
            if self.products[product_id].properties.get(name) == value:
                return self.products[product_id]
        return None

    def folded_hits(self, name: str, values: Sequence[str]) -> set[str] | None:
        """Ids of live products whose ``name`` equals one of ``values`` ignoring case; None
        when ``name`` is not indexed (the caller then scans)."""
        index = self._index.get(name)
        if index is None:
            return None
        hits: set[str] = set()
        for value in values:
            hits |= index.get(value.lower(), set())
        return hits

    def modified_between(
        self, low: str | None, low_inclusive: bool, high: str | None, high_inclusive: bool
    ) -> set[str]:
        """Ids of live products whose hs_lastmodifieddate (canonical ISO) is in range."""
        rows = self._modified
        start = 0
        if low is not None:
            start = (
                bisect.bisect_left(rows, (low, ""))
                if low_inclusive
                else (bisect.bisect_right(rows, (low, "\uffff")))
            )
        end = len(rows)
        if high is not None:
            end = (
                bisect.bisect_right(rows, (high, "\uffff"))
                if high_inclusive
                else (bisect.bisect_left(rows, (high, "")))
            )
        return {product_id for _, product_id in rows[start:end]}

    def settle(self, now: float) -> None:
        """Forget products whose latest write search already sees."""
        for product_id in [i for i, t in self.unsettled.items() if t <= now]:
            del self.unsettled[product_id]

    def live(self) -> Iterator[Product]:
        return (p for p in self.products.values() if not p.archived)

    def page(
        self, *, after: str | None, limit: int, archived: bool
    ) -> tuple[list[Product], str | None]:
        """One list page in id order and the cursor of the next page (None on the last)."""
        start = bisect.bisect_left(self._order, decode_after(after)) if after else 0
        found: list[Product] = []
        for position in range(start, len(self._order)):
            product = self.products[str(self._order[position])]
            if product.archived != archived or product.merged_into is not None:
                continue
            if len(found) == limit:
                return found, encode_after(self._order[position])
            found.append(product)
        return found, None

    # -- writes -----------------------------------------------------------------------

    def notify(
        self,
        kind: str,
        product: Product,
        changed: Mapping[str, str] | None = None,
        merged_ids: Sequence[str] = (),
    ) -> None:
        """The one hook every change point calls, for the webhook sender
        (`emulators.hubspot.webhooks`): ``kind`` is ``creation``, ``propertyChange`` (with
        the ``changed`` properties' new values), ``deletion`` (archive), ``restore`` or
        ``merge`` (``product`` is the primary, ``merged_ids`` the products folded in)."""
        if self.listener is not None:
            self.listener(self.portal_id, kind, product, changed or {}, merged_ids)

    def check_unique(self, changes: Mapping[str, str], own_id: str | None, style: str) -> None:
        """Refuse a value that another live product already holds in a unique property."""
        for name, value in changes.items():
            if not value or not self.is_unique(name):
                continue
            holders = {
                i
                for i in self._index.get(name, {}).get(value.lower(), ())
                if i != own_id and self.products[i].properties.get(name) == value
            }
            if holders:
                existing = min(holders)
                if style == "validation_400":
                    raise property_error(
                        [
                            PropertyProblem(
                                name,
                                "VALUE_NOT_UNIQUE",
                                f"{value} already has that value on object {existing}",
                            )
                        ]
                    )
                raise HubSpotError(
                    409, "CONFLICT", f"Object already exists. Existing ID: {existing}"
                )

    def create(
        self, changes: Mapping[str, str], *, lag: float, created: datetime | None = None
    ) -> Product:
        created = created or now_ms()
        product_id = str(self._next_id)
        self._next_id += self._rng.randint(1, 97)
        product = Product(product_id, {}, created, created)
        product.properties = {k: v for k, v in changes.items() if v != ""}
        product.properties.setdefault("createdate", iso_ms(created))
        product.properties["hs_object_id"] = product_id
        product.properties["hs_lastmodifieddate"] = iso_ms(created)
        self.products[product_id] = product
        self._order.append(int(product_id))
        self._reindex(product, None)
        self._remember(product, time.monotonic(), lag)
        self.notify("creation", product)
        return product

    def update(self, product: Product, changes: Mapping[str, str], *, lag: float) -> Product:
        before = dict(product.properties)
        for name, value in changes.items():
            if value == "":
                product.properties.pop(name, None)
            else:
                product.properties[name] = value
        product.updated_at = max(now_ms(), product.updated_at + timedelta(milliseconds=1))
        product.properties["hs_lastmodifieddate"] = iso_ms(product.updated_at)
        self._reindex(product, before)
        self._remember(product, time.monotonic(), lag)
        changed = {
            name: product.properties.get(name, "")
            for name in changes
            if before.get(name, "") != product.properties.get(name, "")
        }
        if changed:
            self.notify("propertyChange", product, changed)
        return product

    def _remember(self, product: Product, moment: float, lag: float) -> None:
        """Add the write to what search will see, ``lag`` seconds from now."""
        shown = [v for v in product.versions if v.visible_at <= moment][-1:]
        pending = [v for v in product.versions if v.visible_at > moment]
        product.versions = [*shown, *pending, Version(moment + lag, dict(product.properties))]
        if lag > 0:
            self.unsettled[product.id] = moment + lag
        else:
            self.unsettled.pop(product.id, None)

    def archive(self, product: Product) -> None:
        if product.archived:
            return
        product.archived = True
        product.archived_at = now_ms()
        self._reindex(product, dict(product.properties), drop=True)
        self.notify("deletion", product)

    def restore(self, product: Product, *, lag: float) -> Product:
        """Out of the recycle bin (the UI's restore): live again, its unique values checked
        as a create's would be, stamped as a write so polls see it."""
        if not product.archived or product.merged_into is not None:
            raise HubSpotError(404, "OBJECT_NOT_FOUND", "no archived product with this id")
        self.check_unique(product.properties, product.id, "conflict_409")
        product.archived = False
        product.archived_at = None
        product.updated_at = max(now_ms(), product.updated_at + timedelta(milliseconds=1))
        product.properties["hs_lastmodifieddate"] = iso_ms(product.updated_at)
        self._reindex(product, None)
        self._remember(product, time.monotonic(), lag)
        self.notify("restore", product)
        return product

    def merge(self, primary: Product, merged: Product, *, lag: float) -> Product:
        """``merged`` into ``primary`` (the UI's merge): the merged product leaves the live
        set for good (never in lists, search or the recycle bin; a read of its id answers
        with the primary, as HubSpot does for merged records), and the primary records its
        id in ``hs_merged_object_ids``, stamped as a write so polls see the merge."""
        if primary.id == merged.id or primary.archived or merged.archived:
            raise HubSpotError(400, "VALIDATION_ERROR", "merge needs two different live products")
        self.archive(merged)
        merged.merged_into = primary.id
        ids = [*primary.merged_ids(), merged.id, *merged.merged_ids()]
        primary = self.update(primary, {"hs_merged_object_ids": ";".join(ids)}, lag=lag)
        self.notify("merge", primary, merged_ids=[merged.id])
        return primary

    def merged_primary(self, product_id: str) -> Product | None:
        """The live product a merged id now answers with, following merges of merges."""
        product = self.products.get(product_id)
        seen: set[str] = set()
        while product is not None and product.merged_into is not None and product.id not in seen:
            seen.add(product.id)
            product = self.products.get(product.merged_into)
        return product if product is not None and not product.archived else None

    def _reindex(self, product: Product, before: dict[str, str] | None, drop: bool = False) -> None:
        stamp = "hs_lastmodifieddate"
        old_stamp = None if before is None else before.get(stamp)
        if old_stamp is not None:
            at = bisect.bisect_left(self._modified, (old_stamp, product.id))
            if at < len(self._modified) and self._modified[at] == (old_stamp, product.id):
                del self._modified[at]
        if not drop:
            bisect.insort(self._modified, (product.properties[stamp], product.id))
        for name, values in self._index.items():
            old = None if before is None else before.get(name)
            new = None if drop else product.properties.get(name)
            old = None if old is None else old.lower()
            new = None if new is None else new.lower()
            if old == new and not drop:
                continue
            if old is not None:
                holders = values.get(old)
                if holders is not None:
                    holders.discard(product.id)
                    if not holders:
                        del values[old]
            if new is not None:
                values.setdefault(new, set()).add(product.id)
