"""A deterministic, realistic product catalog for a portal (same seed → same products).

``tricky`` adds the products that break naive syncs: duplicate SKUs, SKUs with quotes,
backslashes, ``%`` and non-ASCII characters, SKUs that differ only by case, very long
names, names with colons, a product without a SKU and one without a price.
"""

from __future__ import annotations

import random
from datetime import timedelta
from decimal import Decimal

from emulators.hubspot.product import Product, now_ms
from emulators.hubspot.store import Portal

FAMILIES = [
    ("WID", "Widget", "inventory"),
    ("GAD", "Gadget", "inventory"),
    ("BRK", "Bracket", "non_inventory"),
    ("CBL", "Cable", "non_inventory"),
    ("SRV", "Service plan", "service"),
    ("INS", "Installation", "service"),
    ("SEN", "Sensor", "inventory"),
    ("LIC", "Software licence", "non_inventory"),
]
ADJECTIVES = ["Compact", "Heavy-duty", "Premium", "Basic", "Industrial", "Wireless", "Pro", "Eco"]
MATERIALS = ["steel", "aluminium", "ABS plastic", "oak", "copper", "carbon fibre", "glass"]

TRICKY: list[dict[str, str]] = [
    {"name": "Duplicate SKU one", "hs_sku": "DUP-001", "price": "10.00"},
    {"name": "Duplicate SKU two", "hs_sku": "DUP-001", "price": "11.00"},
    {"name": "Quote single", "hs_sku": "QUO'TE-1", "price": "5.50"},
    {"name": "Quote double", "hs_sku": 'QUO"TE-2', "price": "5.75"},
    {"name": "Back slash", "hs_sku": "BACK\\SLASH-3", "price": "7"},
    {"name": "Percent sign", "hs_sku": "100%-COTTON", "price": "12.25"},
    {"name": "Unicode ünïcödé ☃", "hs_sku": "ÜNÏ-ß-5", "price": "19.99"},
    {"name": "Case variant lower", "hs_sku": "case-sku-1", "price": "1.00"},
    {"name": "Case variant upper", "hs_sku": "CASE-SKU-1", "price": "2.00"},
    {"name": "Parts: Bolts: M6 x 20", "hs_sku": "COLON-6", "price": "0.15"},
    {"name": "Long name " + "x" * 290, "hs_sku": "LONG-7", "price": "3.00"},
    {"name": "Tab\tand newline\nname", "hs_sku": "WS-8", "price": "4.00"},
    {"name": "No SKU at all", "price": "9.00"},
    {"name": "No price", "hs_sku": "NOPRICE-9"},
    {"name": "Spaces around SKU", "hs_sku": " PAD-10 ", "price": "6.00"},
]


def _product(rng: random.Random, n: int) -> dict[str, str]:
    prefix, noun, kind = rng.choice(FAMILIES)
    price = Decimal(rng.randint(199, 250_000)) / 100
    cost = (price * Decimal(rng.randint(30, 80)) / 100).quantize(Decimal("0.01"))
    name = f"{rng.choice(ADJECTIVES)} {noun} {rng.randint(100, 9999)}"
    return {
        "name": name,
        "hs_sku": f"{prefix}-{n:05d}",
        "price": f"{price:.2f}",
        "hs_cost_of_goods_sold": f"{cost:.2f}",
        "hs_product_type": kind,
        "description": f"{name} made of {rng.choice(MATERIALS)}.",
    }


def seed_portal(
    portal: Portal, count: int, *, seed: int = 0, tricky: bool = False
) -> list[Product]:
    """Create ``count`` products (plus the tricky set) spread over the last 30 days;
    they are searchable at once (seeding is not a write the index lags behind)."""
    rng = random.Random(seed)
    specs = [_product(rng, n + 1) for n in range(count)]
    if tricky:
        specs.extend(dict(t) for t in TRICKY)
    now = now_ms()
    created: list[Product] = []
    for i, spec in enumerate(specs):
        when = now - timedelta(days=30) + timedelta(seconds=i * (30 * 86_400 // max(len(specs), 1)))
        created.append(portal.create(spec, lag=0.0, created=when))
    return created
