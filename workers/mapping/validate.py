"""`validate_mappings`: refuse, when saved, a set of mappings that could never sync."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence

from workers.catalog.port import FieldSpec, System
from workers.mapping.fields import CONVERTERS, Converter, FieldMapping

_VENDOR = {"hubspot": "HubSpot", "quickbooks": "QuickBooks"}
# The field kind each converter can read and write, on both sides.
_KIND: dict[Converter, str] = {
    "name": "string",
    "sku": "string",
    "text": "string",
    "description": "string",
    "money": "number",
    "product_type": "enumeration",
}


class MappingInvalid(ValueError):
    """A set of mappings that cannot be saved; ``problems`` lists each reason, one a line."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


def _a(word: str) -> str:
    return f"an {word}" if word[0] in "aeiou" else f"a {word}"


def _side_problems(
    mapping: FieldMapping, system: System, specs: Mapping[str, FieldSpec]
) -> list[str]:
    name = mapping.source_field(system)
    vendor = _VENDOR[system]
    spec = specs.get(name)
    if spec is None:
        return [f'{vendor} has no field "{name}"']
    problems = []
    if spec.read_only:
        # Either side can be the destination once the direction switches.
        problems.append(f'{vendor} field "{name}" is read-only')
    wanted = _KIND.get(mapping.converter)
    if wanted is not None and spec.kind != wanted:
        problems.append(
            f"the {mapping.converter} converter needs {_a(wanted)} field, but {vendor} field"
            f' "{name}" is {_a(spec.kind)}'
        )
    return problems


def validate_mappings(
    mappings: Sequence[FieldMapping],
    hubspot_fields: Mapping[str, FieldSpec],
    quickbooks_fields: Mapping[str, FieldSpec],
    *,
    sku_fields: tuple[str, str] = ("hs_sku", "Sku"),
) -> None:
    """Raise `MappingInvalid` naming every problem, or return None when all is well.

    Checked: unknown fields on either side; read-only fields (both sides must be writable
    because the direction can switch); converters that cannot handle a field's kind (money
    needs numbers, product_type enumerations, the text converters strings); the SKU mapping
    missing, duplicated or not between the connectors' SKU fields ``sku_fields``; a field
    mapped twice; QuickBooks ``Name`` (required on create) not mapped with the name converter.
    """
    problems: list[str] = []
    for mapping in mappings:
        if mapping.converter not in CONVERTERS:
            problems.append(f'unknown converter "{mapping.converter}"')
            continue
        problems += _side_problems(mapping, "hubspot", hubspot_fields)
        problems += _side_problems(mapping, "quickbooks", quickbooks_fields)

    sku_mappings = [m for m in mappings if m.converter == "sku"]
    if not sku_mappings:
        problems.append("the SKU mapping is missing: products are matched by SKU")
    elif len(sku_mappings) > 1:
        problems.append("the SKU is mapped more than once")
    elif (sku_mappings[0].hubspot_field, sku_mappings[0].quickbooks_field) != sku_fields:
        problems.append(
            f'the SKU mapping must pair "{sku_fields[0]}" with "{sku_fields[1]}",'
            " the fields products are matched on"
        )

    for system, counts in (
        ("hubspot", Counter(m.hubspot_field for m in mappings)),
        ("quickbooks", Counter(m.quickbooks_field for m in mappings)),
    ):
        for name, count in counts.items():
            if count > 1:
                problems.append(f'{_VENDOR[system]} field "{name}" is mapped {count} times')

    if not any(m.quickbooks_field == "Name" and m.converter == "name" for m in mappings):
        problems.append(
            'QuickBooks "Name" must be mapped with the name converter: QuickBooks requires'
            " a name on every item and restricts which characters it may hold"
        )
    if problems:
        raise MappingInvalid(problems)
