"""Read-side queries behind the pages: the history table, a product's story, run progress.

History paging is keyset on ``(finished_at, id)`` newest first: a page boundary is the
last row shown, so rows arriving while someone pages never shift or repeat entries.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from models import Account, Credential, HistoryEntry, Job, ProductLink, SyncRun
from models.job import OPEN_STATUSES

SkuMatch = Literal["exact", "prefix"]
PAGE_SIZE = 50


@dataclass(frozen=True)
class Boundary:
    """A position in the history order, carried in page links as ``<micros>.<id>``."""

    at: datetime
    id: int

    def encode(self) -> str:
        return f"{int(self.at.timestamp() * 1_000_000)}.{self.id}"

    @classmethod
    def decode(cls, raw: str | None) -> Boundary | None:
        if not raw:
            return None
        micros, _, row_id = raw.partition(".")
        try:
            at = datetime.fromtimestamp(int(micros) / 1_000_000, UTC)
            return cls(at=at, id=int(row_id))
        except (ValueError, OverflowError, OSError):
            return None


@dataclass(frozen=True)
class HistoryFilter:
    status: str | None = None
    action: str | None = None
    sku: str | None = None
    sku_match: SkuMatch = "exact"
    account_id: int | None = None
    run_id: int | None = None


@dataclass(frozen=True)
class HistoryRow:
    entry: HistoryEntry
    account: Account


@dataclass(frozen=True)
class HistoryPage:
    rows: list[HistoryRow]
    older: Boundary | None  # start of the next (older) page, None on the last page
    newer: Boundary | None  # start of the previous (newer) page, None on the first page


def history_page(
    session: Session,
    flt: HistoryFilter,
    *,
    before: Boundary | None = None,
    after: Boundary | None = None,
    limit: int = PAGE_SIZE,
) -> HistoryPage:
    """One page of history matching ``flt``: rows older than ``before`` or newer than
    ``after`` (at most one of them), always returned newest first."""
    query = select(HistoryEntry, Account).join(Account, Account.id == HistoryEntry.account_id)
    if flt.status:
        query = query.where(HistoryEntry.status == flt.status)
    if flt.action:
        query = query.where(HistoryEntry.action == flt.action)
    if flt.account_id is not None:
        query = query.where(HistoryEntry.account_id == flt.account_id)
    if flt.run_id is not None:
        query = query.where(HistoryEntry.run_id == flt.run_id)
    if flt.sku:
        if flt.sku_match == "prefix":
            # autoescape: a SKU's own % and _ are literal characters, not wildcards.
            query = query.where(HistoryEntry.sku.startswith(flt.sku, autoescape=True))
        else:
            query = query.where(HistoryEntry.sku == flt.sku)

    key = (HistoryEntry.finished_at, HistoryEntry.id)
    if after is not None:
        query = query.where(_newer_than(after)).order_by(*(k.asc() for k in key))
    else:
        if before is not None:
            query = query.where(_older_than(before))
        query = query.order_by(*(k.desc() for k in key))
    found = [HistoryRow(e, a) for e, a in session.execute(query.limit(limit + 1))]
    more = len(found) > limit
    rows = found[:limit]
    if after is not None:
        rows.reverse()
        older = _boundary(rows[-1]) if rows else None
        newer = _boundary(rows[0]) if rows and more else None
    else:
        older = _boundary(rows[-1]) if rows and more else None
        newer = _boundary(rows[0]) if rows and before is not None else None
    return HistoryPage(rows=rows, older=older, newer=newer)


def _boundary(row: HistoryRow) -> Boundary:
    return Boundary(at=row.entry.finished_at, id=row.entry.id)


def _older_than(b: Boundary):  # type: ignore[no-untyped-def]
    return or_(
        HistoryEntry.finished_at < b.at,
        and_(HistoryEntry.finished_at == b.at, HistoryEntry.id < b.id),
    )


def _newer_than(b: Boundary):  # type: ignore[no-untyped-def]
    return or_(
        HistoryEntry.finished_at > b.at,
        and_(HistoryEntry.finished_at == b.at, HistoryEntry.id > b.id),
    )


@dataclass(frozen=True)
class ProductStory:
    account: Account
    sku: str
    link: ProductLink | None
    attempts: list[HistoryEntry]
    open_jobs: list[Job]


def product_story(
    session: Session, account: Account, sku: str, *, limit: int = 200
) -> ProductStory:
    """Everything known about one product of one account, newest attempt first."""
    link = session.scalars(
        select(ProductLink).where(ProductLink.account_id == account.id, ProductLink.sku == sku)
    ).first()
    attempts = list(
        session.scalars(
            select(HistoryEntry)
            .where(HistoryEntry.account_id == account.id, HistoryEntry.sku == sku)
            .order_by(HistoryEntry.finished_at.desc(), HistoryEntry.id.desc())
            .limit(limit)
        )
    )
    source_ids = _source_ids(link, attempts)
    open_jobs: list[Job] = []
    if source_ids:
        open_jobs = list(
            session.scalars(
                select(Job)
                .where(
                    Job.account_id == account.id,
                    Job.status.in_(OPEN_STATUSES),
                    or_(
                        *(
                            and_(Job.source_system == system, Job.source_id == sid)
                            for system, sid in source_ids
                        )
                    ),
                )
                .order_by(Job.id.desc())
            )
        )
    return ProductStory(account, sku, link, attempts, open_jobs)


def _source_ids(link: ProductLink | None, attempts: Sequence[HistoryEntry]) -> set[tuple[str, str]]:
    """Every (system, id) this SKU has been known under, to find its jobs."""
    ids: set[tuple[str, str]] = set()
    for holder in ([link] if link else []) + list(attempts):
        if holder.hubspot_id:
            ids.add(("hubspot", holder.hubspot_id))
        if holder.quickbooks_id:
            ids.add(("quickbooks", holder.quickbooks_id))
    return ids


@dataclass(frozen=True)
class Progress:
    run: SyncRun
    percent: int
    elapsed_seconds: int
    complete: bool

    @property
    def message(self) -> str:
        """One sentence on where the run stands, for the page and its live updates."""
        r = self.run
        if r.status == "enumerating":
            # The listing is pipelined with the writes: jobs run while it goes.
            return (
                f"Listing the source and syncing as it goes: {r.done} of the {r.total} "
                "listed so far are done."
            )
        if r.status == "waiting":
            until = f" Next try at {r.next_attempt_at:%H:%M:%S} UTC." if r.next_attempt_at else ""
            return f"Waiting for a passing condition: {r.wait_reason}.{until}"
        if r.status == "failed":
            return r.error_message or "The run failed before every product was listed."
        if r.status == "finished":
            if r.failed:
                return f"Finished. {r.failed} product(s) failed: see the failures of this run."
            return "Finished. Every product is in sync."
        return f"Syncing: {r.total - r.done} of {r.total} product(s) still to go."

    def as_json(self) -> dict[str, object]:
        r = self.run
        return {
            "id": r.id,
            "account_id": r.account_id,
            "kind": r.kind,
            "status": r.status,
            "total": r.total,
            "done": r.done,
            "created": r.created,
            "updated": r.updated,
            "unchanged": r.unchanged,
            "failed": r.failed,
            "skipped": r.skipped,
            "percent": self.percent,
            "elapsed_seconds": self.elapsed_seconds,
            "complete": self.complete,
            "error_message": r.error_message,
            "message": self.message,
        }


def run_progress(run: SyncRun, now: datetime | None = None) -> Progress:
    complete = run.status in ("finished", "failed")
    if run.status == "finished":
        percent = 100
    elif run.total > 0:
        # Floor, so the page never shows 100 % while a product is still outstanding.
        percent = min(100, run.done * 100 // run.total)
    else:
        percent = 0
    end = run.finished_at or now or datetime.now(UTC)
    elapsed = max(0, int((end - run.started_at).total_seconds()))
    return Progress(run=run, percent=percent, elapsed_seconds=elapsed, complete=complete)


def recent_runs(session: Session, account_id: int, *, limit: int = 10) -> list[SyncRun]:
    return list(
        session.scalars(
            select(SyncRun)
            .where(SyncRun.account_id == account_id, SyncRun.kind == "full_sync")
            .order_by(SyncRun.id.desc())
            .limit(limit)
        )
    )


def accounts(session: Session) -> list[Account]:
    return list(session.scalars(select(Account).order_by(Account.name)))


@dataclass(frozen=True)
class CredentialStatus:
    """What a page may show about a credential: never a token, not even its ciphertext."""

    system: str
    kind: str
    status: str
    status_reason: str | None
    access_expires_at: datetime | None
    refresh_expires_at: datetime | None


def credentials(session: Session, account_id: int) -> dict[str, CredentialStatus]:
    """The account's credentials by system. Only status columns are read: the token
    columns never even enter the web process."""
    rows = session.execute(
        select(
            Credential.system,
            Credential.kind,
            Credential.status,
            Credential.status_reason,
            Credential.access_expires_at,
            Credential.refresh_expires_at,
        ).where(Credential.account_id == account_id)
    )
    return {row.system: CredentialStatus(*row) for row in rows}
