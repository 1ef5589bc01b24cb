"""Field mapping and product rules: the pure core of the sync engine (no I/O).

The engine calls, per product::

    mapped = map_product(source, mappings, direction)   # DataError on bad input
    changes = changes_needed(current, mapped)           # {} → unchanged, write nothing
    body = creation_fields(mapped, direction, defaults) # when the destination has no match
    link_hash = fingerprint(mapped)                     # stored on the product link

and, after QuickBooks refuses a name as a duplicate (6240), retries the create with
``disambiguated_name(name, sku)``. Mappings are checked with `validate_mappings` when they
are saved. Every rule is described for users in docs/what-gets-synced.md.
"""

from workers.mapping.compare import changes_needed, fingerprint
from workers.mapping.create import ItemDefaults, creation_fields
from workers.mapping.fields import (
    DEFAULT_MAPPINGS,
    HUBSPOT_PRODUCT_FIELDS,
    OPTIONAL_MAPPINGS,
    QBO_ITEM_FIELDS,
    Converter,
    FieldMapping,
)
from workers.mapping.mapper import Mapped, map_product
from workers.mapping.money import QBO_MONEY_PLACES, money_text
from workers.mapping.text import disambiguated_name
from workers.mapping.validate import MappingInvalid, validate_mappings

__all__ = [
    "DEFAULT_MAPPINGS",
    "HUBSPOT_PRODUCT_FIELDS",
    "OPTIONAL_MAPPINGS",
    "QBO_ITEM_FIELDS",
    "QBO_MONEY_PLACES",
    "Converter",
    "FieldMapping",
    "ItemDefaults",
    "Mapped",
    "MappingInvalid",
    "changes_needed",
    "creation_fields",
    "disambiguated_name",
    "fingerprint",
    "map_product",
    "money_text",
    "validate_mappings",
]
