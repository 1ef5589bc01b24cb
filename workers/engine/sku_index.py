"""The destination's SKU → product ids for one full-sync run, from one paged listing.

A full sync would otherwise search the destination once per product. The `full_sync`
task lists the destination once (`iter_all(include_inactive=True)`) while it lists the
source, and keeps the answer in Redis under the run's id until the run is long over.

How it stays honest:

* It only says which destination ids carried a SKU at listing time; the bulk worker
  re-reads those ids (one batch read per chunk) and matches the SKU exactly again, so a
  product archived or re-SKU'd since is not matched.
* Products this run creates are not added here: they go into product links, which are
  consulted first. A retry after an unknown create outcome searches instead
  (`Upsert._search` ignores candidates once a write may have happened).
* Two or more ids for a SKU stay two ids: the write is refused as
  ``duplicate_sku_in_destination``, exactly as a search would have it.
* No index (expired, Redis restarted): `lookup` answers None and the worker searches.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Sequence

import redis

from workers.catalog.port import Record

# Longer than any run should take; a run outliving it falls back to one search a product.
TTL_SECONDS = 2 * 24 * 3600
_READY = "\x00ready"  # a field no SKU can be: the listing was complete
_BATCH = 1000


def _key(run_id: int) -> str:
    return f"productsync:sku-index:{run_id}"


def store(client: redis.Redis, run_id: int, records: Iterable[Record]) -> int:
    """Replace the run's index with ``records`` (every destination product); returns the
    number of SKUs. Written whole, then marked ready, so a reader never sees half."""
    by_sku: dict[str, list[str]] = defaultdict(list)
    for record in records:
        if record.sku:
            by_sku[record.sku].append(record.id)
    key = _key(run_id)
    pipe = client.pipeline(transaction=True)
    pipe.delete(key)
    items = [(sku, json.dumps(ids)) for sku, ids in by_sku.items()]
    for start in range(0, len(items), _BATCH):
        pipe.hset(key, mapping=dict(items[start : start + _BATCH]))
    pipe.hset(key, _READY, "1")
    pipe.expire(key, TTL_SECONDS)
    pipe.execute()
    return len(by_sku)


def lookup(client: redis.Redis, run_id: int, skus: Sequence[str]) -> dict[str, list[str]] | None:
    """Destination ids per SKU (absent SKU → no product), or None without a ready index."""
    if not skus:
        return {}
    values = client.hmget(_key(run_id), [_READY, *skus])
    if values[0] is None:
        return None
    return {sku: json.loads(raw) for sku, raw in zip(skus, values[1:], strict=True) if raw}


def drop(client: redis.Redis, run_id: int) -> None:
    client.delete(_key(run_id))
