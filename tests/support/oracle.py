"""The contract oracle (design §2): G1-G5, checked after every fault case.

``check(stack, acct)`` waits until the account is quiet (nothing pending or running),
watching G2 while it waits, then judges the run against the emulators' *state* and
*ledgers* and the database:

- **G1 nothing lost**: every job ends succeeded (and then the destination holds the
  mapped values of the *current* source product), failed with a code and a message,
  skipped with a code, or parked with a reason; every source product changed since the
  account was created has a job. A destination product the service deactivated is lost
  unless the history names the source product that was archived, deleted or merged
  for it and that product is not active now; under the lifecycle policy `mirror`, an
  active source product whose linked destination product is inactive is lost too.
- **G2 nothing stuck**: no running job outlives its lease, and no due pending job waits,
  by more than one sweep (plus a margin for a loaded 2-core machine).
- **G3 no duplicates**: per SKU, at most one create reached the destination's ledger
  (QBO creates replayed with the same ``requestid`` are one create) and at most one
  destination product carries the SKU (beyond those a test seeded itself).
- **G4 honest cursors**: no source product modified at or before the cursor lacks a job
  that saw that modification (or a full-sync job created after it).
- **G5 no secret leaks**: the account's stored tokens (decrypted here) and the client
  secrets appear nowhere in Redis, the worker/beat logs, jobs, history or sync runs, and
  the token columns hold ciphertext.

Counts of every case land in `TALLY`; the faults conftest prints them at the end.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import redis
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from models import Account, Credential, Cursor, HistoryEntry, Job, ProductLink
from models.db import session_scope
from tests.support.stack import HUBSPOT_CLIENT, QBO_CLIENT, Stack, StackAccount
from workers.auth import TokenCipher
from workers.catalog.hubspot.records import record_from as hubspot_record
from workers.catalog.port import Record, destination_of, source_of
from workers.catalog.quickbooks.records import record_from as quickbooks_record
from workers.engine.account_view import load_mappings
from workers.mapping import map_product
from workers.mapping.compare import changes_needed

# Scheduling slack on a shared 2-core machine: a sweep tick may run a few seconds late.
MARGIN = timedelta(seconds=6)
FERNET_PREFIX = b"gAAAAA"  # version byte 0x80 + timestamp, base64url


@dataclass
class Tally:
    cases: int = 0
    jobs: int = 0
    lost: int = 0
    duplicates: int = 0


TALLY = Tally()


class ContractBroken(AssertionError):
    """One or more of G1-G5 does not hold; the message lists every violation."""


@dataclass
class Verdict:
    jobs: list[Job]
    violations: list[str] = field(default_factory=list)
    lost: int = 0
    duplicates: int = 0

    def by_status(self) -> Counter[str]:
        return Counter(j.status for j in self.jobs)


def check(
    stack: Stack,
    acct: StackAccount,
    *,
    timeout: float = 45.0,
    seeded_skus: Iterable[str] = (),
    secrets: Iterable[str] = (),
    polled: bool = True,
) -> Verdict:
    """Wait for quiet, then assert G1-G5 for ``acct``; returns the verdict (jobs etc.).

    ``seeded_skus``: SKUs the test itself put into the destination more than once (a
    duplicate the service must refuse, not cause). ``secrets``: extra sentinel values.
    ``polled``: the account's source is being polled (beat runs), so G4 applies."""
    violations: list[str] = []
    deadline = time.monotonic() + timeout
    while True:
        jobs = _wait_quiet(stack, acct, deadline - time.monotonic(), violations)
        source, destination = _records(stack, acct)
        # Polled: wait until the cursor has passed every source change, so each change
        # had its chance to become a job (a poll that comes late is not a lost change).
        if violations or not polled or _polled_past(stack, acct, source.values(), jobs):
            break
        if time.monotonic() > deadline:
            violations.append("G1: the cursor never passed the newest source change")
            break
        time.sleep(0.25)
    verdict = Verdict(jobs=jobs, violations=violations)
    _g1(stack, acct, jobs, source, destination, verdict)
    _g3(stack, acct, destination, set(seeded_skus), verdict)
    if polled:
        _g4(stack, acct, jobs, source, verdict)
    _g5(stack, acct, list(secrets), verdict)
    TALLY.cases += 1
    TALLY.jobs += len(jobs)
    TALLY.lost += verdict.lost
    TALLY.duplicates += verdict.duplicates
    if violations:
        logs = "".join(
            f"\n--- {log.name}\n{log.read_text(errors='replace')[-4000:]}"
            for log in sorted(stack.workdir.glob("*.log"))
        )
        raise ContractBroken("\n".join(violations) + logs)
    return verdict


def check_cursor(stack: Stack, acct: StackAccount) -> Verdict:
    """G4 alone, for polling cases whose products are not meant to be synced: every
    source change at or before the cursor has a job that saw it."""
    jobs = acct.jobs()
    source, _ = _records(stack, acct)
    verdict = Verdict(jobs=jobs)
    _g4(stack, acct, jobs, source, verdict)
    TALLY.cases += 1
    TALLY.jobs += len(jobs)
    TALLY.lost += verdict.lost
    if verdict.violations:
        raise ContractBroken("\n".join(verdict.violations))
    return verdict


# -- G2 -----------------------------------------------------------------------------------


def _wait_quiet(stack: Stack, acct: StackAccount, timeout: float, out: list[str]) -> list[Job]:
    t = stack.timings
    sweep = timedelta(seconds=t.sweep_interval)
    lease = timedelta(seconds=t.lease)
    deadline = time.monotonic() + max(timeout, 0.0)
    while True:
        jobs = acct.jobs()
        now = datetime.now(UTC)
        for job in jobs:
            if job.status == "running" and job.lease_expires_at is not None:
                if job.lease_expires_at + sweep + MARGIN < now:
                    out.append(f"G2: job {job.id} running {now - job.lease_expires_at} past lease")
            elif job.status == "pending" and job.next_attempt_at + lease + sweep + MARGIN < now:
                out.append(f"G2: job {job.id} pending {now - job.next_attempt_at} past due")
        if out:
            return jobs
        if all(j.status not in ("pending", "running") for j in jobs):
            return jobs
        if time.monotonic() > deadline:
            open_ = [(j.id, j.status, j.attempts, j.error_code) for j in jobs if j.status in
                     ("pending", "running")]  # fmt: skip
            out.append(f"G2: still open after {timeout}s: {open_}")
            return jobs
        time.sleep(0.25)


def _polled_past(
    stack: Stack, acct: StackAccount, records: Iterable[Record], jobs: Sequence[Job]
) -> bool:
    """The cursor has passed the newest source change and every change has a job that saw
    it (a change can surface in the vendor's search after a poll already covered its
    timestamp; the overlap window is what catches it, so give it that chance)."""
    with session_scope(stack.database_url) as session:
        cursor = session.scalars(select(Cursor).where(Cursor.account_id == acct.id)).first()
        created_at = _whole_second(session.get(Account, acct.id).created_at)  # type: ignore[union-attr]
    changed = [r for r in records if r.updated_at >= created_at and r.active]
    newest = max((r.updated_at for r in changed), default=None)
    if newest is None:
        return True
    # A job that saw this very change: an edited product's older job does not count.
    return (
        cursor is not None
        and cursor.value >= newest
        and all(_saw_change(r, jobs) for r in changed)
    )


# -- reading both systems -----------------------------------------------------------------


def _records(stack: Stack, acct: StackAccount) -> tuple[dict[str, Record], dict[str, Record]]:
    """(source records, destination records) by id, straight from the emulators' state."""
    hubspot = {r.id: r for r in (hubspot_record(p) for p in acct.hubspot_products())}
    quickbooks = {r.id: r for r in (quickbooks_record(i) for i in acct.quickbooks_items())}
    with session_scope(stack.database_url) as session:
        account = session.get(Account, acct.id)
        assert account is not None
        direction = account.direction
    if source_of(direction) == "hubspot":  # type: ignore[arg-type]
        return hubspot, quickbooks
    return quickbooks, hubspot


# -- G1 -----------------------------------------------------------------------------------


def _g1(
    stack: Stack,
    acct: StackAccount,
    jobs: Sequence[Job],
    source: dict[str, Record],
    destination: dict[str, Record],
    verdict: Verdict,
) -> None:
    out = verdict.violations
    with session_scope(stack.database_url) as session:
        account = session.get(Account, acct.id)
        assert account is not None
        direction = account.direction
        mirror = account.lifecycle_policy == "mirror"
        created_at = _whole_second(account.created_at)
        mappings = load_mappings(session, acct.id)
        from_hubspot = source_of(direction) == "hubspot"  # type: ignore[arg-type]
        links = _links(session, acct.id, from_hubspot)
    for job in jobs:
        if job.status == "failed" and not (job.error_code and job.error_message):
            out.append(f"G1: job {job.id} failed without code+message")
        elif job.status == "skipped" and not job.error_code:
            out.append(f"G1: job {job.id} skipped without a code")
        elif job.status == "parked" and not job.park_reason:
            out.append(f"G1: job {job.id} parked without a reason")
    latest: dict[str, Job] = {}
    for job in jobs:
        if job.source_system == source_of(direction):  # type: ignore[arg-type]
            latest[job.source_id] = job  # jobs are ordered by id
    for source_id, record in source.items():
        if record.updated_at < created_at or not record.active:
            continue
        job = latest.get(source_id)
        if job is None:
            verdict.lost += 1
            out.append(f"G1: source product {source_id} ({record.sku!r}) has no job")
            continue
        if job.status != "succeeded":
            continue
        if job.updated_at < record.updated_at:
            continue  # changed after its last job finished: G4 decides whether that is OK
        target = destination.get(links.get(source_id) or "")
        if target is None:
            verdict.lost += 1
            out.append(f"G1: job {job.id} succeeded but {source_id} has no linked product")
            continue
        diff = changes_needed(target, map_product(record, mappings, direction))  # type: ignore[arg-type]
        if diff:
            verdict.lost += 1
            out.append(f"G1: {record.sku!r} succeeded but the destination differs: {diff}")
        elif mirror and not target.active:
            verdict.lost += 1
            out.append(f"G1: {record.sku!r} is active but its destination {target.id} is not")
    _wrongly_deactivated(stack, acct, source, destination, verdict)


def _links(session: Session, account_id: int, from_hubspot: bool) -> dict[str | None, str | None]:
    """The account's product links: source id → destination id."""
    return {
        (link.hubspot_id if from_hubspot else link.quickbooks_id): (
            link.quickbooks_id if from_hubspot else link.hubspot_id
        )
        for link in session.scalars(select(ProductLink).where(ProductLink.account_id == account_id))
    }


def deactivations(stack: Stack, acct: StackAccount, system: str) -> set[str]:
    """Ids of the products the service archived (HubSpot) or made inactive (QBO), from
    ``system``'s ledger (a person's edits go through admin routes, never in it)."""
    account = acct.portal_id if system == "hubspot" else acct.realm_id
    found: set[str] = set()
    for e in stack.admin(system).ledger(account=account):
        if e["status"] is None or e["status"] >= 300:
            continue
        body = e["body"] if isinstance(e["body"], dict) else {}
        if system == "hubspot":
            if e["method"] == "DELETE" and "/objects/products/" in e["path"]:
                found.add(e["path"].rsplit("/", 1)[-1])
            elif e["path"].endswith("/products/batch/archive"):
                found |= {str(i.get("id")) for i in body.get("inputs", [])}
        elif e["path"].endswith("/item") and body.get("Active") is False:
            found.add(str(body.get("Id")))
        elif e["path"].endswith("/batch"):
            for item in body.get("BatchItemRequest", []):
                written = item.get("Item") or {}
                if written.get("Active") is False:
                    found.add(str(written.get("Id")))
    return found


def _wrongly_deactivated(
    stack: Stack,
    acct: StackAccount,
    source: dict[str, Record],
    destination: dict[str, Record],
    verdict: Verdict,
) -> None:
    """A deactivated destination product is data loss unless it was the mirror of a
    source product that is archived, deleted or merged away now."""
    with session_scope(stack.database_url) as session:
        direction = session.get(Account, acct.id).direction  # type: ignore[union-attr]
        rows = session.scalars(
            select(HistoryEntry).where(
                HistoryEntry.account_id == acct.id, HistoryEntry.action == "archived"
            )
        ).all()
        from_hubspot = source_of(direction) == "hubspot"  # type: ignore[arg-type]
        archived_for = {
            (r.quickbooks_id if from_hubspot else r.hubspot_id): (
                r.hubspot_id if from_hubspot else r.quickbooks_id
            )
            for r in rows
        }
        linked = _links(session, acct.id, from_hubspot)
    for product_id in deactivations(stack, acct, destination_of(direction)):  # type: ignore[arg-type]
        target = destination.get(product_id)
        if target is not None and target.active:
            continue  # made active again since
        source_id = archived_for.get(product_id)
        mirrored = source.get(source_id or "")
        # HubSpot cannot restore through its API: a source active again gets a new
        # product, linked; the archived one it replaced is no loss.
        replacement = destination.get(linked.get(source_id or "") or "")
        replaced = replacement is not None and replacement.active
        if source_id is None or (mirrored is not None and mirrored.active and not replaced):
            verdict.lost += 1
            verdict.violations.append(
                f"G1: destination product {product_id} was deactivated by the service while "
                f"its source {source_id or '(none recorded)'} is active"
            )


# -- G3 -----------------------------------------------------------------------------------


def creates_by_sku(stack: Stack, acct: StackAccount, system: str) -> Counter[str]:
    """Creates that reached ``system`` per SKU, from its ledger (performed ones only; a
    QBO create replayed with the same requestid, or a HubSpot upsert replayed with the
    same write id, counts once)."""
    account = acct.portal_id if system == "hubspot" else acct.realm_id
    entries = stack.admin(system).ledger(account=account, method="POST")
    seen: set[str] = set()
    counts: Counter[str] = Counter()
    for e in entries:
        if e["status"] is None or e["status"] >= 300 or not isinstance(e["body"], dict):
            continue
        body = e["body"]
        if system == "hubspot":
            if e["path"].endswith("/objects/products"):
                counts[str(body.get("properties", {}).get("hs_sku"))] += 1
            elif e["path"].endswith("/products/batch/create"):
                for item in body.get("inputs", []):
                    counts[str(item.get("properties", {}).get("hs_sku"))] += 1
            elif e["path"].endswith("/products/batch/upsert"):
                # Upserts keyed by the service's write id: a replay is the same create.
                for item in body.get("inputs", []):
                    key = f"upsert-{item.get('idProperty')}-{item.get('id')}"
                    if key not in seen:
                        seen.add(key)
                        counts[str(item.get("properties", {}).get("hs_sku"))] += 1
        elif e["path"].endswith("/item") and "Id" not in body:
            key = e["requestid"] or f"seq-{e['seq']}"
            if key not in seen:
                seen.add(key)
                counts[str(body.get("Sku"))] += 1
        elif e["path"].endswith("/batch"):
            # A batch replayed with the same requestid is answered from QBO's memory.
            refused = set(e.get("refused") or [])  # items QBO answered with a Fault
            for item in body.get("BatchItemRequest", []):
                created = item.get("Item") or {}
                if item.get("operation") != "create" or "Id" in created:
                    continue
                if str(item.get("bId")) in refused:
                    continue
                key = f"{e['requestid'] or 'seq-' + str(e['seq'])}-{item.get('bId')}"
                if key not in seen:
                    seen.add(key)
                    counts[str(created.get("Sku"))] += 1
    return counts


def _g3(
    stack: Stack,
    acct: StackAccount,
    destination: dict[str, Record],
    seeded: set[str],
    verdict: Verdict,
) -> None:
    with session_scope(stack.database_url) as session:
        direction = session.get(Account, acct.id).direction  # type: ignore[union-attr]
    system = destination_of(direction)  # type: ignore[arg-type]
    for sku, n in creates_by_sku(stack, acct, system).items():
        if n > 1:
            verdict.duplicates += n - 1
            verdict.violations.append(f"G3: {n} creates of SKU {sku!r} in {system} (ledger)")
    per_sku = Counter(r.sku for r in destination.values() if r.sku and r.active)
    for sku, n in per_sku.items():
        if n > 1 and sku not in seeded:
            verdict.duplicates += n - 1
            verdict.violations.append(f"G3: {n} products with SKU {sku!r} in {system} (state)")


# -- G4 -----------------------------------------------------------------------------------


def _g4(
    stack: Stack,
    acct: StackAccount,
    jobs: Sequence[Job],
    source: dict[str, Record],
    verdict: Verdict,
) -> None:
    with session_scope(stack.database_url) as session:
        cursor = session.scalars(select(Cursor).where(Cursor.account_id == acct.id)).first()
        created_at = _whole_second(session.get(Account, acct.id).created_at)  # type: ignore[union-attr]
    if cursor is None:
        return
    for record in source.values():
        if record.updated_at < created_at or record.updated_at > cursor.value:
            continue
        if not _saw_change(record, jobs):
            verdict.lost += 1
            verdict.violations.append(
                f"G4: cursor {cursor.value} is past {record.sku!r} modified "
                f"{record.updated_at} but no job saw that change"
            )


def _saw_change(record: Record, jobs: Sequence[Job]) -> bool:
    """Some job was made for this product at or after its last modification."""
    stamp = _whole_ms(record.updated_at)
    return any(
        j.source_id == record.id
        and (
            (j.source_updated_at is not None and _whole_ms(j.source_updated_at) >= stamp)
            or (j.reason == "full_sync" and j.created_at >= record.updated_at)
        )
        for j in jobs
    )


def _whole_second(value: datetime) -> datetime:
    # QBO stamps changes to the second: one made in the account's first second counts.
    return value.replace(microsecond=0)


def _whole_ms(value: datetime) -> datetime:
    return value.replace(microsecond=value.microsecond // 1000 * 1000)


# -- G5 -----------------------------------------------------------------------------------


def stored_secrets(stack: Stack, account_id: int) -> list[str]:
    """The account's tokens as stored (decrypted with the deployment key)."""
    cipher = TokenCipher(stack.settings().effective_encryption_key)
    found: list[str] = []
    with session_scope(stack.database_url) as session:
        for cred in session.scalars(select(Credential).where(Credential.account_id == account_id)):
            for blob in (cred.access_token_enc, cred.refresh_token_enc):
                if blob:
                    found.append(cipher.decrypt(blob).reveal())
    return found


def leaks(stack: Stack, needles: Sequence[str]) -> list[str]:
    """Where any of ``needles`` appears: Redis values, process logs, database text."""
    needles = [n for n in needles if n and len(n) >= 8]
    places: list[str] = []
    client = redis.Redis.from_url(stack.redis.url)
    for key in client.scan_iter(count=1000):
        blob = client.dump(key) or b""
        places += [f"redis key {key!r}" for n in needles if n.encode() in blob or n.encode() in key]
    for log in sorted(stack.workdir.glob("*.log")):
        output = log.read_text(errors="replace")
        places += [f"log {log.name}" for n in needles if n in output]
    with session_scope(stack.database_url) as session:
        for table in ("jobs", "sync_history", "sync_runs", "accounts", "product_links"):
            query = f"SELECT coalesce(string_agg(t::text, ' '), '') FROM {table} t"
            dump = session.execute(text(query)).scalar_one()
            places += [f"table {table}" for n in needles if n in dump]
        for cred in session.scalars(select(Credential)):
            for blob in (cred.access_token_enc, cred.refresh_token_enc):
                if blob and not blob.startswith(FERNET_PREFIX):
                    places.append(f"credential {cred.id}: not Fernet ciphertext")
                places += [f"credential {cred.id} in clear" for n in needles
                           if blob and n.encode() in blob]  # fmt: skip
    return places


def _g5(stack: Stack, acct: StackAccount, extra: list[str], verdict: Verdict) -> None:
    needles = [*stored_secrets(stack, acct.id), HUBSPOT_CLIENT[1], QBO_CLIENT[1], *extra]
    for place in leaks(stack, needles):
        verdict.violations.append(f"G5: a secret appears in {place}")
