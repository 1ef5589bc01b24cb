"""A deterministic, realistic catalog for a realm (fixed RNG seed), with optional tricky
items that trip careless clients: duplicate SKUs, SKUs with quotes, backslashes, ``%``,
``_`` and unicode, SKUs differing only by case, 100-character names, inactive items.

Items go through the same rules as API writes, so a seeded catalog is one the vendor
could hold. Names carry an index, which keeps them unique.
"""

from __future__ import annotations

import random
from datetime import date
from decimal import Decimal
from typing import Any

from emulators.quickbooks.realm import Realm
from emulators.quickbooks.switches import Switches

__all__ = ["TRICKY_SKUS", "seed_catalog"]

_ADJECTIVES = ("Heavy-Duty", "Compact", "Premium", "Eco", "Classic", "Industrial", "Smart",
               "Portable", "Deluxe", "Rugged", "Slim", "Pro")
_NOUNS = ("Widget", "Valve", "Bracket", "Sensor", "Cable", "Pump", "Filter", "Hinge",
          "Adapter", "Lamp", "Router", "Gasket")
_SERVICES = ("Installation", "Consulting Hour", "Maintenance Plan", "Training Session",
             "Support Contract", "Calibration")

# SKUs that break naive query building (quotes, backslashes, LIKE wildcards, unicode, case).
TRICKY_SKUS = ("O'REILLY-001", "BACK\\SLASH-002", "50%OFF-003", "UNDER_SCORE-004",
               "CAFÉ-ÜML-005", "case-sku-006", "CASE-SKU-006", "QUOTE\"D-007", "SP ACE-008")


def _accounts(realm: Realm) -> dict[str, str]:
    by_name = {a.fields["Name"]: a.id for a in realm.accounts.values()}
    return {"income": by_name["Sales of Product Income"],
            "service": by_name["Services"],
            "cogs": by_name["Cost of Goods Sold"],
            "asset": by_name["Inventory Asset"]}


def _money(rng: random.Random, low: int, high: int) -> Decimal:
    return Decimal(rng.randint(low * 100, high * 100)) / 100


def _item(rng: random.Random, index: int, accounts: dict[str, str]) -> dict[str, Any]:
    roll = rng.random()
    if roll < 0.3:
        name = f"{rng.choice(_SERVICES)} {index:05d}"
        return {"Name": name, "Type": "Service", "Sku": f"SVC-{index:05d}",
                "Description": f"{name}, billed per unit.",
                "UnitPrice": _money(rng, 50, 400),
                "IncomeAccountRef": {"value": accounts["service"]}}
    name = f"{rng.choice(_ADJECTIVES)} {rng.choice(_NOUNS)} {index:05d}"
    body: dict[str, Any] = {
        "Name": name, "Sku": f"PRD-{index:05d}", "Description": f"{name} — catalog item.",
        "UnitPrice": _money(rng, 5, 900), "PurchaseCost": _money(rng, 2, 400),
        "PurchaseDesc": f"Purchase of {name}", "Taxable": rng.random() < 0.7,
        "IncomeAccountRef": {"value": accounts["income"]},
        "ExpenseAccountRef": {"value": accounts["cogs"]},
    }
    if roll < 0.65:
        body.update({"Type": "Inventory", "TrackQtyOnHand": True,
                     "QtyOnHand": Decimal(rng.randint(0, 500)),
                     "InvStartDate": date(2024, 1, 1).isoformat(),
                     "AssetAccountRef": {"value": accounts["asset"]}})
    else:
        body["Type"] = "NonInventory"
    return body


def _tricky(index: int, accounts: dict[str, str]) -> list[dict[str, Any]]:
    base = {"Type": "NonInventory", "UnitPrice": Decimal("9.99"),
            "IncomeAccountRef": {"value": accounts["income"]}}
    items = [{**base, "Name": f"Tricky item {n} ({index})", "Sku": sku}
             for n, sku in enumerate(TRICKY_SKUS, 1)]
    items += [{**base, "Name": f"Duplicate SKU A {index}", "Sku": "DUP-SKU-001"},
              {**base, "Name": f"Duplicate SKU B {index}", "Sku": "DUP-SKU-001"}]
    long_name = f"Long {index} " + "x" * 100
    items.append({**base, "Name": long_name[:100], "Sku": "LONG-NAME-001"})
    items.append({**base, "Name": f"Inactive item {index}", "Sku": "INACTIVE-001",
                  "Active": False})
    items.append({**base, "Name": f"Inactive item B {index}", "Sku": "PRD-INACTIVE-DUP",
                  "Active": False})
    return items


def seed_catalog(realm: Realm, count: int, switches: Switches, *, rng_seed: int = 20240101,
                 tricky: bool = False) -> int:
    """Create ``count`` items (plus the tricky set when asked); returns how many were made."""
    rng = random.Random(rng_seed)
    accounts = _accounts(realm)
    start = len(realm.items) + 1
    bodies = [_item(rng, start + n, accounts) for n in range(count)]
    if tricky:
        bodies += _tricky(start, accounts)
    for body in bodies:
        inactive = body.pop("Active", True) is False
        item = realm.create_item(body, switches)
        if inactive:
            realm.update_item({"Id": item.id, "Active": False}, switches, check_token=False,
                              sparse=True)
    return len(bodies)
