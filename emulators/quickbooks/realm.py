"""One QuickBooks company (realm): its Items and Accounts and the write rules that need
the whole company — SyncToken checks, name uniqueness, inactivation, the change log CDC
reads and the ``requestid`` replay cache.

Hot paths are indexed: by Id (dict), by lower-cased Name (uniqueness, ``Name =``) and by
exact Sku (``Sku =``). Everything runs on the server's event loop, so no locks.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime, timezone
from decimal import Decimal
from typing import Any

from emulators.quickbooks import faults
from emulators.quickbooks.entities import SEED_ACCOUNTS, Entity
from emulators.quickbooks.item_rules import check_item, coerce_payload, merge
from emulators.quickbooks.jsonio import parse_offset
from emulators.quickbooks.switches import Switches

__all__ = ["Clock", "Listener", "Realm", "Reply", "utc_now"]

Clock = Callable[[], datetime]
# (realm id, operation, item, id of the item merged away or None): see `Realm.notify`.
Listener = Callable[[str, str, Entity, str | None], None]
Reply = tuple[int, bytes]

_DELETED = " (deleted)"
_REPLAY_LIMIT = 200_000


def utc_now() -> datetime:
    return datetime.now(UTC)


class Realm:
    """A company: ``items`` and ``accounts`` by Id, plus indexes and the replay cache."""

    def __init__(self, realm_id: str, *, company_offset: str = "-08:00",
                 clock: Clock = utc_now) -> None:
        self.realm_id = realm_id
        self.company_offset = company_offset
        self.tz: timezone = parse_offset(company_offset)
        self._clock = clock
        self.items: dict[str, Entity] = {}
        self.accounts: dict[str, Entity] = {}
        self._next_id = {"Item": 1, "Account": 1}
        self._names: dict[str, set[str]] = {}
        self._skus: dict[str, set[str]] = {}
        self._changes: dict[str, OrderedDict[str, None]] = {"Item": OrderedDict(),
                                                            "Account": OrderedDict()}
        self.deleted: dict[str, list[tuple[str, datetime, datetime]]] = {"Account": [],
                                                                          "Item": []}
        self._replies: OrderedDict[str, Reply] = OrderedDict()
        self.listener: Listener | None = None
        for name, classification, account_type, sub_type in SEED_ACCOUNTS:
            self.add_account(name, classification, account_type, sub_type)

    # -- time, ids -------------------------------------------------------------------------

    def now(self) -> datetime:
        """The MetaData clock: UTC, whole seconds (QBO timestamps have no fractions)."""
        return self._clock().astimezone(UTC).replace(microsecond=0)

    def envelope_now(self) -> datetime:
        return self._clock().astimezone(UTC)

    def _new_id(self, entity: str) -> str:
        number = self._next_id[entity]
        self._next_id[entity] = number + 1
        return str(number)

    def notify(self, operation: str, item: Entity, deleted_id: str | None = None) -> None:
        """The one hook every Item change point calls, for the webhook sender
        (`emulators.quickbooks.webhooks`): ``operation`` is ``Create``, ``Update``,
        ``Delete`` (made inactive: Items cannot be deleted) or ``Merge`` (``item`` is the
        one kept, ``deleted_id`` the one merged into it)."""
        if self.listener is not None:
            self.listener(self.realm_id, operation, item, deleted_id)

    def _changed(self, entity: str, entity_id: str) -> None:
        log = self._changes[entity]
        log[entity_id] = None
        log.move_to_end(entity_id)

    # -- accounts --------------------------------------------------------------------------

    def add_account(self, name: str, classification: str, account_type: str,
                    sub_type: str) -> Entity:
        now = self.now()
        account = Entity(self._new_id("Account"), {
            "Name": name, "SubAccount": False, "FullyQualifiedName": name, "Active": True,
            "Classification": classification, "AccountType": account_type,
            "AccountSubType": sub_type, "CurrentBalance": Decimal(0),
            "CurrentBalanceWithSubAccounts": Decimal(0),
            "CurrencyRef": {"value": "USD", "name": "United States Dollar"},
        }, now, now)
        self.accounts[account.id] = account
        self._changed("Account", account.id)
        return account

    def delete_account(self, account_id: str) -> None:
        """Admin only: a hard delete, so CDC can show the vendor's Deleted shape."""
        account = self.accounts.pop(account_id, None)
        if account is None:
            raise faults.not_found("Account", account_id)
        self._changes["Account"].pop(account_id, None)
        self.deleted["Account"].append((account_id, account.created, self.now()))

    def account(self, account_id: str) -> Entity:
        found = self.accounts.get(account_id)
        if found is None:
            raise faults.not_found("Account", account_id)
        return found

    # -- items: reads ----------------------------------------------------------------------

    def item(self, item_id: str) -> Entity:
        found = self.items.get(item_id)
        if found is None:
            raise faults.not_found("Item", item_id)
        return found

    def items_by_sku(self, sku: str) -> list[Entity]:
        return [self.items[i] for i in sorted(self._skus.get(sku, ()), key=int)]

    def items_by_name(self, name: str) -> list[Entity]:
        """Items whose Name equals ``name`` ignoring case (callers refine exactness)."""
        return [self.items[i] for i in sorted(self._names.get(name.lower(), ()), key=int)]

    def changed_since(self, entity: str, since: datetime) -> list[Entity]:
        """Entities whose LastUpdatedTime >= ``since``, oldest change first."""
        store = self.items if entity == "Item" else self.accounts
        found: list[Entity] = []
        for entity_id in reversed(self._changes[entity]):
            record = store[entity_id]
            if record.updated < since:
                break
            found.append(record)
        found.reverse()
        return found

    # -- items: writes ---------------------------------------------------------------------

    def create_item(self, payload: Mapping[str, Any], switches: Switches) -> Entity:
        changes = coerce_payload(payload)
        fields = merge(None, changes, sparse=False)
        check_item(fields, None, switches, self.accounts.get, self.items.get)
        self._check_unique(fields["Name"], None, fields, switches)
        now = self.now()
        item = Entity(self._new_id("Item"), fields, now, now)
        self.items[item.id] = item
        self._index(item)
        self._changed("Item", item.id)
        self.notify("Create", item)
        return item

    def update_item(self, payload: Mapping[str, Any], switches: Switches, *,
                    check_token: bool = True, sparse: bool | None = None) -> Entity:
        """Full or sparse update (``sparse`` defaults to the body's ``sparse`` flag)."""
        item_id = payload.get("Id")
        if item_id is None:
            raise faults.required_missing("Id")
        item = self.item(str(item_id))
        if check_token:
            token = payload.get("SyncToken")
            if token is None:
                raise faults.required_missing("SyncToken")
            if str(token) != str(item.sync_token):
                raise faults.stale_object()
        if sparse is None:
            sparse = payload.get("sparse") is True
        changes = coerce_payload(payload)
        fields = merge(item, changes, sparse=sparse)
        check_item(fields, item, switches, self.accounts.get, self.items.get)
        if item.active and not fields.get("Active", True) and switches.rename_on_inactivate:
            fields["Name"] = self._deleted_name(fields["Name"], item.id)
            parent_path = fields["FullyQualifiedName"].rpartition(":")[0]
            fields["FullyQualifiedName"] = (f"{parent_path}:{fields['Name']}" if parent_path
                                            else fields["Name"])
        self._check_unique(fields["Name"], item.id, fields, switches)
        if fields == item.fields and not switches.bump_synctoken_on_noop:
            return item
        was_active = item.active
        self._unindex(item)
        item.fields = fields
        self._touch(item)
        self._index(item)
        self.notify("Delete" if was_active and not item.active else "Update", item)
        return item

    def touch_item(self, item_id: str) -> Entity:
        """Someone else saved the item (a stale-SyncToken race): token and time move on."""
        item = self.item(item_id)
        self._touch(item)
        self.notify("Update", item)
        return item

    def _touch(self, item: Entity) -> None:
        item.sync_token += 1
        item.updated = self.now()
        self._changed("Item", item.id)

    def merge_items(self, merged_id: str, survivor_id: str) -> Entity:
        """The UI's item merge (rename one item to another's name and accept): ``merged``
        is deleted for good (CDC shows it as ``status: "Deleted"``, reads answer Object
        Not Found), its transactions now name the survivor, which is saved (its SyncToken
        and LastUpdatedTime move on). Nothing in the API says which item survived."""
        if merged_id == survivor_id:
            raise ValueError("an item cannot be merged into itself")
        merged, survivor = self.item(merged_id), self.item(survivor_id)
        if merged.fields.get("Type") == "Category" or survivor.fields.get("Type") == "Category":
            raise ValueError("categories are not merged like items")
        self._unindex(merged)
        del self.items[merged_id]
        self._changes["Item"].pop(merged_id, None)
        self.deleted["Item"].append((merged_id, merged.created, self.now()))
        self._touch(survivor)
        self.notify("Merge", survivor, deleted_id=merged_id)
        return survivor

    def _deleted_name(self, name: str, item_id: str) -> str:
        base = name[: 100 - len(_DELETED) - 4]
        candidate, counter = f"{base}{_DELETED}", 1
        while any(other.id != item_id for other in self.items_by_name(candidate)):
            counter += 1
            candidate = f"{base} (deleted {counter})"
        return candidate

    def _check_unique(self, name: str, own_id: str | None, fields: Mapping[str, Any],
                      switches: Switches) -> None:
        for other in self.items_by_name(name):
            if other.id == own_id:
                continue
            if not switches.name_case_insensitive and other.fields["Name"] != name:
                continue
            if not other.active and not switches.name_unique_includes_inactive:
                continue
            raise faults.duplicate_name()

    def _index(self, item: Entity) -> None:
        self._names.setdefault(item.fields["Name"].lower(), set()).add(item.id)
        sku = item.fields.get("Sku")
        if sku is not None:
            self._skus.setdefault(sku, set()).add(item.id)

    def _unindex(self, item: Entity) -> None:
        key = item.fields["Name"].lower()
        self._names[key].discard(item.id)
        if not self._names[key]:
            del self._names[key]
        sku = item.fields.get("Sku")
        if sku is not None:
            self._skus[sku].discard(item.id)
            if not self._skus[sku]:
                del self._skus[sku]

    # -- requestid replay ------------------------------------------------------------------

    def replay(self, request_id: str) -> Reply | None:
        return self._replies.get(request_id)

    def remember(self, request_id: str, reply: Reply) -> None:
        self._replies[request_id] = reply
        if len(self._replies) > _REPLAY_LIMIT:
            self._replies.popitem(last=False)

    def all_items(self) -> Iterator[Entity]:
        return iter(self.items.values())
