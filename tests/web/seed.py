"""Rows for web tests, written straight through the models (what the engine would record)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select

from models import Account, FieldMappingRow, HistoryEntry, ProductLink, SyncRun
from models.db import session_scope
from workers.mapping import DEFAULT_MAPPINGS, FieldMapping

T0 = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)


def make_account(database_url: str, **fields: Any) -> Account:
    values: dict[str, Any] = {
        "name": f"Acme {uuid.uuid4().hex[:8]}",
        "hubspot_portal_id": "12345678",
        "quickbooks_realm_id": "9130350000000001",
        "direction": "hubspot_to_quickbooks",
        "qbo_income_account_id": "1",
        "qbo_expense_account_id": "2",
    }
    values.update(fields)
    with session_scope(database_url) as session:
        account = Account(**values)
        session.add(account)
        session.flush()
        return account


def add_history(
    database_url: str, account: Account, *, minutes: float = 0, **fields: Any
) -> HistoryEntry:
    at = T0 + timedelta(minutes=minutes)
    values: dict[str, Any] = {
        "account_id": account.id,
        "direction": account.direction,
        "status": "succeeded",
        "action": "created",
        "sku": "SKU-1",
        "started_at": at,
        "finished_at": at,
    }
    values.update(fields)
    with session_scope(database_url) as session:
        entry = HistoryEntry(**values)
        session.add(entry)
        session.flush()
        return entry


def add_link(database_url: str, account: Account, sku: str, hs: str, qb: str) -> ProductLink:
    with session_scope(database_url) as session:
        link = ProductLink(
            account_id=account.id, sku=sku, hubspot_id=hs, quickbooks_id=qb, last_written_at=T0
        )
        session.add(link)
        session.flush()
        return link


def add_run(database_url: str, account: Account, **fields: Any) -> SyncRun:
    values: dict[str, Any] = {
        "account_id": account.id,
        "kind": "full_sync",
        "direction": account.direction,
        "status": "running",
    }
    values.update(fields)
    with session_scope(database_url) as session:
        run = SyncRun(**values)
        session.add(run)
        session.flush()
        return run


def saved_mappings(database_url: str, account_id: int) -> list[tuple[str, str, str]]:
    with session_scope(database_url) as session:
        rows = session.scalars(
            select(FieldMappingRow)
            .where(FieldMappingRow.account_id == account_id)
            .order_by(FieldMappingRow.position)
        )
        return [(r.hubspot_field, r.quickbooks_field, r.converter) for r in rows]


def mapping_form(token: str, mappings: list[FieldMapping], **extra: str) -> dict[str, str]:
    form = {"csrf_token": token, "rows": str(len(mappings))}
    for i, m in enumerate(mappings):
        form |= {f"hubspot-{i}": m.hubspot_field, f"quickbooks-{i}": m.quickbooks_field}
        form[f"converter-{i}"] = m.converter
    return form | extra


DEFAULT_ROWS = [(m.hubspot_field, m.quickbooks_field, m.converter) for m in DEFAULT_MAPPINGS]
