"""Product links: read by source id, written with one idempotent upsert."""

from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from models import ProductLink, utcnow
from workers.catalog.port import System


def _id_column(system: System):  # type: ignore[no-untyped-def]
    return ProductLink.hubspot_id if system == "hubspot" else ProductLink.quickbooks_id


def link_for(
    session: Session, account_id: int, system: System, record_id: str
) -> ProductLink | None:
    return session.scalars(
        select(ProductLink).where(
            ProductLink.account_id == account_id, _id_column(system) == record_id
        )
    ).first()


def unlink(session: Session, link_id: int) -> None:
    session.execute(delete(ProductLink).where(ProductLink.id == link_id))


def save_link(
    session: Session,
    *,
    account_id: int,
    source_system: System,
    source_id: str,
    destination_id: str,
    sku: str,
    fingerprint: str,
    written: bool,
) -> None:
    """Link ``source_id`` to ``destination_id`` (insert or update; safe to repeat)."""
    now = utcnow()
    hubspot_id, quickbooks_id = (
        (source_id, destination_id) if source_system == "hubspot" else (destination_id, source_id)
    )
    values = {
        "account_id": account_id,
        "sku": sku,
        "hubspot_id": hubspot_id,
        "quickbooks_id": quickbooks_id,
        "fingerprint": fingerprint,
        "last_written_at": now if written else None,
        "created_at": now,
        "updated_at": now,
    }
    changes = {
        "sku": sku,
        "hubspot_id": hubspot_id,
        "quickbooks_id": quickbooks_id,
        "fingerprint": fingerprint,
        "updated_at": now,
    }
    if written:
        changes["last_written_at"] = now
    session.execute(
        insert(ProductLink)
        .values(values)
        .on_conflict_do_update(
            constraint=f"uq_product_links_account_id_{source_system}_id", set_=changes
        )
    )
