"""One account of a running `tests.support.stack.Stack`: act in each vendor as a person
would (admin routes: no auth, no rate limits, not in the ledger), read what the service
recorded, and count the service's writes from the emulators' ledgers."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from models import HistoryEntry, Job, SyncRun
from models.db import session_scope
from workers.engine import start_full_sync

if TYPE_CHECKING:
    from tests.support.stack import Stack


@dataclass
class StackAccount:
    """One account wired to a fresh HubSpot portal and a fresh QBO realm."""

    stack: Stack
    id: int
    portal_id: str
    realm_id: str
    # The tokens issued for this account, for leak scans (G5); never print them.
    secrets: tuple[str, ...] = field(default=(), repr=False)

    # -- acting as a person in each vendor's UI (admin routes: no auth, no limits) --------

    def hubspot_create(self, **properties: Any) -> str:
        made = self.stack.hubspot_admin.vendor(
            "POST", f"hubspot/portals/{self.portal_id}/products", json={"properties": properties}
        )
        return str(made["id"])

    def hubspot_update(self, product_id: str, **properties: Any) -> None:
        self.stack.hubspot_admin.vendor(
            "PATCH",
            f"hubspot/portals/{self.portal_id}/products/{product_id}",
            json={"properties": properties},
        )

    def hubspot_products(self) -> list[dict[str, Any]]:
        return list(
            self.stack.hubspot_admin.vendor("GET", f"hubspot/portals/{self.portal_id}/products")[
                "products"
            ]
        )

    def quickbooks_create(self, **fields: Any) -> str:
        body = {
            "Type": "NonInventory",
            "IncomeAccountRef": {"value": "1"},
            "ExpenseAccountRef": {"value": "3"},
            **fields,
        }
        made = self.stack.quickbooks_admin.vendor(
            "POST", f"quickbooks/realms/{self.realm_id}/items", json=body
        )
        return str(made.get("Id") or made.get("Item", {}).get("Id"))

    def quickbooks_update(self, item_id: str, **fields: Any) -> None:
        self.stack.quickbooks_admin.vendor(
            "PATCH", f"quickbooks/realms/{self.realm_id}/items/{item_id}", json=fields
        )

    def quickbooks_items(self) -> list[dict[str, Any]]:
        """Every item of the realm (active or not) as QBO's JSON would show it."""
        from emulators.quickbooks.app import state_of
        from emulators.quickbooks.entities import render_item

        realm = state_of(self.stack.quickbooks.app).realms[self.realm_id]
        return [render_item(item, realm.tz) for item in list(realm.items.values())]

    # -- what the service recorded --------------------------------------------------------

    def history(self) -> list[HistoryEntry]:
        with session_scope(self.stack.database_url) as session:
            return list(
                session.scalars(
                    select(HistoryEntry)
                    .where(HistoryEntry.account_id == self.id)
                    .order_by(HistoryEntry.id)
                ).all()
            )

    def jobs(self) -> list[Job]:
        with session_scope(self.stack.database_url) as session:
            return list(
                session.scalars(select(Job).where(Job.account_id == self.id).order_by(Job.id))
            )

    def quiet(self) -> bool:
        """No job of this account is pending, running or parked."""
        return all(j.status not in ("pending", "running", "parked") for j in self.jobs())

    def run(self, run_id: int) -> SyncRun:
        with session_scope(self.stack.database_url) as session:
            found = session.get(SyncRun, run_id)
            assert found is not None
            return found

    def full_sync(self) -> int:
        """Start a full sync the way the CLI does; returns the run id."""
        with session_scope(self.stack.database_url) as session:
            run_id = start_full_sync(session, self.id).id
        self.stack.send("productsync.full_sync", run_id, queue="bulk")
        return run_id

    def writes(self, system: str, since: int = 0) -> list[dict[str, Any]]:
        """The service's writes (creates, updates) in ``system``, one per product written,
        from the emulator's ledger: a write call answered with success, or each write of
        a batch call answered with success (the ledger keeps no answers, so an item the
        batch refused still counts). Not the one-time HubSpot property set-up. A person's
        edits go through admin routes and are not in the ledger."""
        account = self.portal_id if system == "hubspot" else self.realm_id
        entries = self.stack.admin(system).ledger(since=since, account=account)
        writes: list[dict[str, Any]] = []
        for entry in entries:
            if entry["status"] is None or entry["status"] >= 300:
                continue
            if entry["kind"] == "write":
                if "/properties/" not in entry["path"]:  # not HubSpot's schema set-up
                    writes.append(entry)
            elif entry["operations"] and entry["operations"][1]:
                writes += [{**entry, "body": op} for op in write_operations(entry)]
        return writes


def write_operations(entry: dict[str, Any]) -> list[Any]:
    """The writes one batch ledger entry carries (HubSpot inputs, QBO items that are not
    queries), each as its request body."""
    body = entry["body"]
    assert isinstance(body, dict), "a batch body is kept whole"
    if "inputs" in body:
        return list(body["inputs"])
    return [item for item in body["BatchItemRequest"] if "operation" in item]
