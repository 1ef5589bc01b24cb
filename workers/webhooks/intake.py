"""Turning verified webhook changes into job rows, the poll's way.

Each change becomes a job with reason ``webhook`` under the same uniqueness rule as a
poll job, (account, source system, source id, source updated_at) (see `models.job`): a
duplicate delivery, a replay, and the later poll that lists the same change all insert
the same row once, so they end in one sync. What counts and what is dropped:

* the portal/realm must belong to an enabled account whose *source* is this vendor; an
  event for the destination side, a disabled account or no account at all is counted
  and dropped (a change we wrote there must never flow back);
* like the poll, nothing from before the account's last direction switch;
* dropped kinds from `events` (archives, other object types) are counted too.

The caller commits, then announces the new jobs (ids only) on the broker.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import Account
from workers.catalog.port import source_of
from workers.engine.context import Dispatch
from workers.engine.jobs import NewJob, insert_jobs
from workers.webhooks.events import Change

REASON = "webhook"


@dataclass
class Intake:
    """What one delivery did: the new jobs (to announce after commit), events accepted
    and dropped per account id, and events for no known account."""

    dispatches: list[Dispatch] = field(default_factory=list)
    # The same new jobs by account id: each account's run as one chunk (`coalesce`).
    by_account: dict[int, list[Dispatch]] = field(default_factory=dict)
    accepted: Counter[int] = field(default_factory=Counter)
    dropped: Counter[int] = field(default_factory=Counter)
    unknown: int = 0


def accounts_named(session: Session, system: str, keys: Sequence[str]) -> list[Account]:
    """Accounts whose portal (``hubspot``) or realm (``quickbooks``) is one of ``keys``."""
    column = Account.hubspot_portal_id if system == "hubspot" else Account.quickbooks_realm_id
    if not keys:
        return []
    return list(session.scalars(select(Account).where(column.in_(list(set(keys))))).all())


def _key(system: str, account: Account) -> str:
    return str(account.hubspot_portal_id if system == "hubspot" else account.quickbooks_realm_id)


def take_changes(session: Session, system: str, changes: Sequence[Change]) -> Intake:
    intake = Intake()
    by_key: dict[str, list[Change]] = defaultdict(list)
    for change in changes:
        by_key[change.account_key].append(change)
    accounts = accounts_named(session, system, list(by_key))
    known = {_key(system, a) for a in accounts}
    intake.unknown = sum(len(v) for k, v in by_key.items() if k not in known)
    for account in accounts:
        mine = by_key[_key(system, account)]
        if not account.enabled or source_of(account.direction) != system:  # type: ignore[arg-type]
            intake.dropped[account.id] += len(mine)
            continue
        # Whole seconds, as the poll's floor: QBO stamps changes to the second.
        floor = account.direction_changed_at.replace(microsecond=0)
        wanted: dict[tuple[str, object], NewJob] = {}
        for change in mine:
            if change.object_id is None or change.occurred_at is None:
                intake.dropped[account.id] += 1
                continue
            if change.occurred_at < floor:
                intake.dropped[account.id] += 1
                continue
            intake.accepted[account.id] += 1
            job = NewJob(change.object_id, change.occurred_at)
            wanted.setdefault((job.source_id, job.source_updated_at), job)
        if wanted:
            created = insert_jobs(
                session,
                account_id=account.id,
                source_system=system,
                reason=REASON,
                queue="sync",
                changes=list(wanted.values()),
            )
            intake.dispatches += created
            if created:
                intake.by_account[account.id] = created
    return intake
