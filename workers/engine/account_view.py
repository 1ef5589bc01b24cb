"""Per-account configuration the engine reads at sync time: mappings and item defaults."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import Account, FieldMappingRow
from workers.errors import DataError
from workers.mapping import DEFAULT_MAPPINGS, FieldMapping, ItemDefaults


def load_mappings(session: Session, account_id: int) -> tuple[FieldMapping, ...]:
    """The account's mappings in their saved order (the defaults when none are saved)."""
    rows = session.scalars(
        select(FieldMappingRow)
        .where(FieldMappingRow.account_id == account_id)
        .order_by(FieldMappingRow.position, FieldMappingRow.id)
    ).all()
    if not rows:
        return DEFAULT_MAPPINGS
    return tuple(
        FieldMapping(r.hubspot_field, r.quickbooks_field, r.converter)  # type: ignore[arg-type]
        for r in rows
    )


def item_defaults(account: Account) -> ItemDefaults:
    """What QuickBooks needs to create an item for this account, or a clear DataError."""
    if not account.qbo_income_account_id or not account.qbo_expense_account_id:
        raise DataError(
            "QuickBooks needs an income and an expense account to create items; set them "
            "in the account's QuickBooks settings.",
            code="missing_item_defaults",
            system="quickbooks",
        )
    return ItemDefaults(
        income_account_id=account.qbo_income_account_id,
        expense_account_id=account.qbo_expense_account_id,
        asset_account_id=account.qbo_asset_account_id,
        default_type=account.qbo_default_item_type,
    )
