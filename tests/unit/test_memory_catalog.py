"""The in-memory catalog's `write_many` behaves like a vendor batch: one call, item by item."""

from __future__ import annotations

from tests.support.memory_catalog import MemoryCatalog
from workers.catalog.port import Record, Write
from workers.errors import DuplicateName, StaleObject, TransientError, ValidationFailed


def test_write_many_is_one_call_with_per_item_outcomes() -> None:
    catalog = MemoryCatalog("quickbooks")
    taken = catalog.add({"Name": "Taken", "Sku": "T-1"})
    lamp = catalog.add({"Name": "Lamp", "Sku": "L-1"})
    catalog.edit(lamp.id, Description="meanwhile")
    catalog.fail_next("update", ValidationFailed("refused"))
    results = catalog.write_many(
        [
            Write("new", {"Name": "New", "Sku": "N-1"}, "r-new"),
            Write("dup", {"Name": "Taken", "Sku": "T-2"}, "r-dup"),
            Write("refused", {"Description": "x"}, "r-ref", current=taken),
            Write("stale", {"Description": "mine"}, "r-stale", current=lamp),
        ]
    )
    assert catalog.calls == ["write_many"]
    assert isinstance(results["new"], Record) and results["new"].sku == "N-1"
    assert isinstance(results["dup"], DuplicateName) and results["dup"].clashing_ids == [taken.id]
    assert isinstance(results["refused"], ValidationFailed)
    assert isinstance(results["stale"], StaleObject)
    assert [(w.op, w.request_id) for w in catalog.writes] == [("create", "r-new")]
    again = catalog.write_many([Write("new", {"Name": "New", "Sku": "N-1"}, "r-new")])
    assert again["new"] == results["new"]  # idempotent by request id, like `create`


def test_write_many_whole_call_failures() -> None:
    catalog = MemoryCatalog("hubspot")
    writes = [Write(f"k{n}", {"name": f"P{n}", "hs_sku": f"S-{n}"}, f"r{n}") for n in range(3)]
    down = TransientError("down")
    catalog.fail_next("write_many", down)
    assert catalog.write_many(writes) == {w.key: down for w in writes}
    assert catalog.products == {}

    lost = TransientError("lost", details={"outcome_unknown": True})
    catalog.fail_next("write_many", lost, after_acting=True)
    assert catalog.write_many(writes) == {w.key: lost for w in writes}
    assert sorted(r.sku or "" for r in catalog.products.values()) == ["S-0", "S-1", "S-2"]
    replayed = catalog.write_many(writes)
    assert all(isinstance(r, Record) for r in replayed.values())
    assert len(catalog.products) == 3
    assert catalog.calls == ["write_many"] * 3
