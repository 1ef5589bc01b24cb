"""The account service: create accounts, switch direction, edit field mappings.

Each function works in the caller's transaction (the CLI and web page open it), so a
refused change leaves nothing behind.

Direction switch (design §1, issue 4): the new source is polled from "now" (its cursor is
reset to the switch time and the poll window never reaches back before it), and every
open job of the old direction is closed as ``skipped`` / ``direction_changed`` with a
history row, so nothing is written back into the old source. A job already running
re-checks the direction under its SKU lock and skips too. A full sync is how to catch up.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from models import Account, Cursor, FieldMappingRow, Job, utcnow
from workers.catalog.port import DIRECTIONS, Direction, FieldSpec, source_of
from workers.engine.account_view import load_mappings
from workers.engine.outcomes import close_job
from workers.mapping import DEFAULT_MAPPINGS, FieldMapping, validate_mappings


def create_account(
    session: Session,
    *,
    name: str,
    direction: Direction = "hubspot_to_quickbooks",
    hubspot_portal_id: str | None = None,
    quickbooks_realm_id: str | None = None,
    poll_interval_seconds: int = 60,
    qbo_income_account_id: str | None = None,
    qbo_expense_account_id: str | None = None,
    qbo_asset_account_id: str | None = None,
    qbo_default_item_type: str = "NonInventory",
) -> Account:
    """A new account with the default field mappings (name, SKU, description, price)."""
    if direction not in DIRECTIONS:
        raise ValueError(f"direction must be one of {', '.join(DIRECTIONS)}, not {direction!r}")
    account = Account(
        name=name,
        direction=direction,
        direction_changed_at=utcnow(),
        hubspot_portal_id=hubspot_portal_id,
        quickbooks_realm_id=quickbooks_realm_id,
        poll_interval_seconds=poll_interval_seconds,
        qbo_income_account_id=qbo_income_account_id,
        qbo_expense_account_id=qbo_expense_account_id,
        qbo_asset_account_id=qbo_asset_account_id,
        qbo_default_item_type=qbo_default_item_type,
        enabled=True,
    )
    session.add(account)
    session.flush()
    _store_mappings(session, account.id, DEFAULT_MAPPINGS)
    return account


def set_direction(session: Session, account_id: int, direction: Direction) -> int:
    """Switch direction; returns how many open jobs of the old direction were skipped."""
    if direction not in DIRECTIONS:
        raise ValueError(f"direction must be one of {', '.join(DIRECTIONS)}, not {direction!r}")
    account = session.get(Account, account_id, with_for_update=True)
    if account is None:
        raise LookupError(f"no account {account_id}")
    if account.direction == direction:
        return 0
    now = utcnow()
    old_source = source_of(account.direction)  # type: ignore[arg-type]
    account.direction = direction
    account.direction_changed_at = now
    new_source = source_of(direction)
    session.execute(
        insert(Cursor)
        .values(account_id=account_id, source_system=new_source, value=now, version=1)
        .on_conflict_do_update(
            constraint="uq_cursors_account_id_source_system",
            set_={"value": now, "version": Cursor.version + 1, "polled_at": None},
        )
    )
    return _skip_open_jobs(session, account_id, old_source, direction)


def _skip_open_jobs(session: Session, account_id: int, old_source: str, direction: str) -> int:
    message = (
        f"The account was switched to {direction.replace('_', ' ')}; this change belongs to "
        "the previous direction and was not applied."
    )
    jobs = session.scalars(
        select(Job)
        .where(
            Job.account_id == account_id,
            Job.source_system == old_source,
            Job.status.in_(("pending", "parked")),
        )
        .with_for_update(skip_locked=True)
    ).all()
    for job in jobs:
        close_job(
            session,
            job,
            direction=direction,
            status="skipped",
            code="direction_changed",
            message=message,
        )
    return len(jobs)


def mappings_of(session: Session, account_id: int) -> tuple[FieldMapping, ...]:
    return load_mappings(session, account_id)


def set_mappings(
    session: Session,
    account_id: int,
    mappings: Sequence[FieldMapping],
    *,
    hubspot_fields: Mapping[str, FieldSpec],
    quickbooks_fields: Mapping[str, FieldSpec],
) -> None:
    """Replace the account's mappings after validating them against both vendors' fields.

    Raises `workers.mapping.MappingInvalid` (with ``.problems``) and changes nothing when
    a field does not exist, is read-only, or cannot hold the converter's values.
    """
    validate_mappings(mappings, hubspot_fields, quickbooks_fields)
    session.execute(delete(FieldMappingRow).where(FieldMappingRow.account_id == account_id))
    _store_mappings(session, account_id, mappings)


def reset_mappings(session: Session, account_id: int) -> None:
    """Back to the defaults created with every account."""
    session.execute(delete(FieldMappingRow).where(FieldMappingRow.account_id == account_id))
    _store_mappings(session, account_id, DEFAULT_MAPPINGS)


def _store_mappings(session: Session, account_id: int, mappings: Sequence[FieldMapping]) -> None:
    session.add_all(
        FieldMappingRow(
            account_id=account_id,
            hubspot_field=m.hubspot_field,
            quickbooks_field=m.quickbooks_field,
            converter=m.converter,
            position=i,
        )
        for i, m in enumerate(mappings)
    )
    session.flush()
