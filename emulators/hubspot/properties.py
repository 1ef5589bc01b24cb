"""The product property catalogue and the rules for property values.

Values travel as strings both ways. ``""`` clears a value. Numbers must be plain decimal
numbers without surrounding whitespace (HubSpot stopped trimming in April 2025);
enumerations accept only their option values; datetimes accept epoch milliseconds or
ISO-8601 and are stored as ISO UTC with milliseconds.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from emulators.hubspot.errors import PropertyProblem, validation_error

NUMBER = re.compile(r"-?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?")
PROPERTY_NAME = re.compile(r"[a-z][a-z0-9_]{0,99}")
TYPES = {"string", "number", "enumeration", "datetime", "date", "bool"}
FIELD_TYPES = {
    "text",
    "textarea",
    "number",
    "select",
    "radio",
    "checkbox",
    "booleancheckbox",
    "date",
    "html",
    "calculation_equation",
}
EPOCH = datetime(2019, 1, 1, tzinfo=UTC)


def iso_ms(moment: datetime) -> str:
    """UTC with milliseconds and ``Z``, the only datetime format HubSpot returns."""
    return (
        moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
    )


@dataclass
class PropertyDef:
    name: str
    label: str
    type: str
    field_type: str
    group: str = "productinformation"
    description: str = ""
    options: list[dict[str, Any]] = field(default_factory=list)
    has_unique_value: bool = False
    read_only_value: bool = False
    hubspot_defined: bool = True
    display_order: int = -1
    created_at: datetime = EPOCH
    updated_at: datetime = EPOCH

    def as_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "label": self.label,
            "type": self.type,
            "fieldType": self.field_type,
            "description": self.description,
            "groupName": self.group,
            "options": self.options,
            "displayOrder": self.display_order,
            "calculated": False,
            "externalOptions": False,
            "hasUniqueValue": self.has_unique_value,
            "hidden": False,
            "hubspotDefined": self.hubspot_defined,
            "modificationMetadata": {
                "archivable": not self.hubspot_defined,
                "readOnlyDefinition": self.hubspot_defined,
                "readOnlyValue": self.read_only_value,
            },
            "formField": not self.read_only_value,
            "createdAt": iso_ms(self.created_at),
            "updatedAt": iso_ms(self.updated_at),
            "archived": False,
        }

    def normalise(self, raw: Any, *, coerce: bool = False) -> str | PropertyProblem:
        """The stored form of a written value, or the problem HubSpot reports."""
        if self.read_only_value:
            return PropertyProblem(
                self.name,
                "READ_ONLY_VALUE",
                f'"{self.name}" is a read only property; its value cannot be set.',
            )
        if isinstance(raw, bool) or not isinstance(raw, str):
            if not coerce or not isinstance(raw, int | float | bool):
                return PropertyProblem(
                    self.name,
                    "INVALID_PROPERTY_VALUE",
                    f"{raw!r} is not a valid value for {self.name}: values must be strings",
                )
            raw = str(raw).lower() if isinstance(raw, bool) else str(raw)
        if raw == "" or self.type == "string":
            return raw
        if self.type == "number":
            if not NUMBER.fullmatch(raw):
                return PropertyProblem(self.name, "INVALID_FLOAT", f"{raw} was not a valid number.")
            return raw
        if self.type == "enumeration":
            allowed = [o["value"] for o in self.options]
            chosen = raw.split(";") if self.field_type == "checkbox" else [raw]
            if any(value not in allowed for value in chosen):
                return PropertyProblem(
                    self.name,
                    "INVALID_OPTION",
                    f"{raw} was not one of the allowed options: [{', '.join(allowed)}]",
                )
            return raw
        if self.type == "bool":
            if raw not in ("true", "false"):
                return PropertyProblem(self.name, "INVALID_BOOLEAN", f"{raw} is not a boolean")
            return raw
        moment = parse_datetime(raw)
        if moment is None:
            return PropertyProblem(
                self.name, "INVALID_DATE", f"{raw} was not a valid date or datetime."
            )
        return iso_ms(moment)


def parse_datetime(raw: str) -> datetime | None:
    """Epoch milliseconds or ISO-8601 (naive means UTC); None when neither."""
    if raw.isdigit():
        return datetime.fromtimestamp(int(raw) / 1000, UTC)
    try:
        moment = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _options(*values: str) -> list[dict[str, Any]]:
    return [
        {"label": v.replace("_", " ").title(), "value": v, "displayOrder": i, "hidden": False}
        for i, v in enumerate(values)
    ]


def standard_properties() -> dict[str, PropertyDef]:
    """HubSpot-defined product properties (a fresh copy per portal)."""
    defs = [
        PropertyDef("name", "Name", "string", "text"),
        PropertyDef("description", "Description", "string", "textarea"),
        PropertyDef("price", "Unit price", "number", "number"),
        PropertyDef("hs_sku", "SKU", "string", "text"),
        PropertyDef("hs_cost_of_goods_sold", "Unit cost", "number", "number"),
        PropertyDef(
            "hs_product_type",
            "Product type",
            "enumeration",
            "select",
            options=_options("inventory", "non_inventory", "service"),
        ),
        PropertyDef("hs_recurring_billing_period", "Term", "string", "text"),
        PropertyDef(
            "recurringbillingfrequency",
            "Billing frequency",
            "enumeration",
            "select",
            options=_options(
                "weekly",
                "biweekly",
                "monthly",
                "quarterly",
                "per_six_months",
                "annually",
                "per_two_years",
                "per_three_years",
                "per_four_years",
                "per_five_years",
            ),
        ),
        PropertyDef("hs_rich_text_description", "Rich text description", "string", "html"),
        PropertyDef("hs_url", "URL", "string", "text"),
        PropertyDef("hs_images", "Product image URL", "string", "text"),
        PropertyDef("hs_folder_id", "Folder", "number", "number"),
        PropertyDef("tax", "Tax", "number", "number"),
        PropertyDef("discount", "Discount", "number", "number"),
        PropertyDef(
            "hs_status",
            "Status",
            "enumeration",
            "select",
            options=_options("active", "inactive"),
        ),
        PropertyDef("createdate", "Create Date", "datetime", "date"),
        PropertyDef(
            "hs_lastmodifieddate", "Last Modified Date", "datetime", "date", read_only_value=True
        ),
        PropertyDef("hs_object_id", "Record ID", "number", "number", read_only_value=True),
        # Set by a merge on the surviving record: the ids merged into it, `;`-separated.
        PropertyDef(
            "hs_merged_object_ids",
            "Merged record IDs",
            "enumeration",
            "checkbox",
            read_only_value=True,
        ),
    ]
    for order, prop in enumerate(defs):
        prop.display_order = order
    return {p.name: p for p in defs}


def custom_property(body: Any, now: datetime) -> PropertyDef:
    """A portal-defined property from a ``POST /crm/v3/properties/products`` body."""
    if not isinstance(body, dict):
        raise validation_error("Invalid input JSON: expected an object")
    missing = [k for k in ("name", "label", "type", "fieldType", "groupName") if k not in body]
    if missing:
        raise validation_error(f"Missing required fields: {', '.join(missing)}")
    name, kind, field_type = body["name"], body["type"], body["fieldType"]
    if not isinstance(name, str) or not PROPERTY_NAME.fullmatch(name):
        raise validation_error(
            f"Property name {name!r} is invalid: use lower-case letters, digits and underscores"
        )
    if kind not in TYPES:
        raise validation_error(f"{kind} is not a valid property type: {sorted(TYPES)}")
    if field_type not in FIELD_TYPES:
        raise validation_error(f"{field_type} is not a valid field type: {sorted(FIELD_TYPES)}")
    options = body.get("options") or []
    if kind == "enumeration" and not options:
        raise validation_error("Enumeration properties need at least one option")
    return PropertyDef(
        name=name,
        label=str(body["label"]),
        type=kind,
        field_type=field_type,
        group=str(body["groupName"]),
        description=str(body.get("description", "")),
        options=[
            {
                "label": str(o.get("label", o.get("value"))),
                "value": str(o.get("value")),
                "displayOrder": i,
                "hidden": bool(o.get("hidden", False)),
            }
            for i, o in enumerate(options)
            if isinstance(o, dict)
        ],
        has_unique_value=bool(body.get("hasUniqueValue", False)),
        hubspot_defined=False,
        display_order=int(body.get("displayOrder", -1)),
        created_at=now,
        updated_at=now,
    )
