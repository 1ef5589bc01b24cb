"""`map_product`: one source product → the destination's fields, or a `DataError`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from workers.catalog.port import Direction, Record, destination_of, source_of
from workers.mapping.converters import CONVERTERS_BY_DESTINATION, OMIT, unsupported_type
from workers.mapping.fields import QBO_TO_HUBSPOT_TYPE, Converter, FieldMapping
from workers.mapping.messages import FieldContext
from workers.mapping.validate import MappingInvalid


@dataclass(frozen=True)
class Mapped:
    """A source product in the destination's vocabulary, ready to write.

    ``fields`` uses destination-native names and wire-ready values: HubSpot values are
    strings (``""`` means empty); QuickBooks money is `Decimal`, text is `str`, ``Type`` is
    ``"Inventory"``, ``"NonInventory"`` or ``"Service"``, and None means empty. A field the
    source has no opinion on (an empty product type) is absent. ``converters`` names the
    converter behind each field, so comparisons know an amount from a text.
    """

    sku: str  # exact source SKU (never stripped or case-folded)
    fields: dict[str, Any]
    notes: tuple[str, ...] = ()
    converters: Mapping[str, Converter] = field(default_factory=dict)


def _sku_mapping(mappings: Sequence[FieldMapping]) -> FieldMapping:
    found = [m for m in mappings if m.converter == "sku"]
    if len(found) != 1:
        raise MappingInvalid(["exactly one mapping must use the sku converter"])
    return found[0]


def map_product(source: Record, mappings: Sequence[FieldMapping], direction: Direction) -> Mapped:
    """Map ``source`` for writing in the other system of ``direction``.

    Raises `workers.errors.DataError` (codes in docs/what-gets-synced.md) when the product
    breaks a rule. Archived or inactive sources are the engine's business, not this one's.
    """
    system = source_of(direction)
    if source.system != system:
        raise ValueError(f"a {source.system} record cannot be the source of {direction}")
    destination = destination_of(direction)
    notes: list[str] = []

    def context(mapping: FieldMapping) -> FieldContext:
        return FieldContext(
            system=system,
            record_id=source.id,
            field=mapping.source_field(system),
            destination_field=mapping.destination_field(system),
            notes=notes,
        )

    if system == "quickbooks":
        # Categories, groups and the like are not products, whatever the mappings say.
        kind = source.fields.get("Type")
        if kind is not None and kind not in QBO_TO_HUBSPOT_TYPE:
            type_ctx = FieldContext(system, source.id, "Type", "hs_product_type", notes)
            raise unsupported_type(str(kind), type_ctx)

    sku_mapping = _sku_mapping(mappings)
    sku_field = sku_mapping.source_field(system)
    raw_sku = source.fields.get(sku_field, source.sku)
    converters = CONVERTERS_BY_DESTINATION[destination]
    sku = converters["sku"](raw_sku, context(sku_mapping))

    fields: dict[str, Any] = {sku_mapping.destination_field(system): sku}
    kinds: dict[str, Converter] = {sku_mapping.destination_field(system): "sku"}
    for mapping in mappings:
        if mapping is sku_mapping:
            continue
        ctx = context(mapping)
        value = converters[mapping.converter](source.fields.get(ctx.field), ctx)
        if value is not OMIT:
            fields[ctx.destination_field] = value
            kinds[ctx.destination_field] = mapping.converter
    return Mapped(sku=sku, fields=fields, notes=tuple(notes), converters=kinds)
