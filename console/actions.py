"""Operator writes, shared by the web page and the CLI: each one transaction around one
engine domain function.

Starting a full sync, switching direction and editing mappings call the engine's account
service and `start_full_sync`. Retrying a product has no engine function (the engine
works on jobs, operators on SKUs), so `requeue_product` here turns a SKU into jobs with the
engine's own `insert_jobs`. Celery messages are sent only after the commit, and carry
only ids (design §3): a lost message is re-sent by the sweeper.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import redis
from kombu import Connection
from sqlalchemy import select
from sqlalchemy.orm import Session

from models import Account, HistoryEntry, Job, ProductLink, SyncRun, utcnow
from models.db import session_scope
from workers.catalog.factory import catalog_for
from workers.catalog.port import Direction, FieldSpec, source_of
from workers.engine import CHUNK, Dispatch
from workers.engine import accounts as account_service
from workers.engine import start_full_sync as engine_start_full_sync
from workers.engine.jobs import NewJob, insert_jobs
from workers.errors import SyncError
from workers.mapping import HUBSPOT_PRODUCT_FIELDS, QBO_ITEM_FIELDS, FieldMapping, MappingInvalid
from workers.settings import Settings
from workers.webhooks import coalesce

log = logging.getLogger(__name__)

SYSTEM_LABELS = {"hubspot": "HubSpot", "quickbooks": "QuickBooks"}
# A SKU is normally one source product; more than this many ids is not a product to retry.
MAX_RETRY_IDS = 20


@dataclass(frozen=True)
class RetryOutcome:
    queued: bool
    message: str


def current_mappings(settings: Settings, account_id: int) -> tuple[FieldMapping, ...]:
    with session_scope(settings.database_url) as session:
        return account_service.mappings_of(session, account_id)


def set_direction(settings: Settings, account_id: int, direction: Direction) -> int:
    """Switch direction; returns how many waiting jobs of the old direction were skipped."""
    with session_scope(settings.database_url) as session:
        return account_service.set_direction(session, account_id, direction)


def reset_mappings(settings: Settings, account_id: int) -> None:
    with session_scope(settings.database_url) as session:
        account_service.reset_mappings(session, account_id)


def save_mappings(
    settings: Settings,
    account_id: int,
    mappings: Sequence[FieldMapping],
    *,
    redis_client: redis.Redis,
) -> None:
    """Validate against both vendors' fields and save; `MappingInvalid` saves nothing."""
    hubspot_fields, note = hubspot_fields_for(settings, account_id, redis_client)
    try:
        with session_scope(settings.database_url) as session:
            account_service.set_mappings(
                session,
                account_id,
                mappings,
                hubspot_fields=hubspot_fields,
                quickbooks_fields=QBO_ITEM_FIELDS,
            )
    except MappingInvalid as exc:
        if note:
            exc.problems.append(note)
        raise


def hubspot_fields_for(
    settings: Settings, account_id: int, redis_client: redis.Redis
) -> tuple[Mapping[str, FieldSpec], str | None]:
    """The portal's writable product properties (custom ones included), asked live.

    When HubSpot cannot be asked (not connected yet, unreachable, refused), validation
    falls back to HubSpot's standard product properties, which every portal has, and the
    returned note says so, so a refused custom property is not a mystery.
    """
    try:
        catalog = catalog_for(
            "hubspot",
            account_id,
            settings=settings,
            database_url=settings.database_url,
            redis_client=redis_client,
        )
        return catalog.writable_fields(), None
    except SyncError as exc:
        log.warning("account %s: HubSpot properties unavailable (%s)", account_id, exc.code)
        note = (
            f"HubSpot could not be asked for this portal's properties ({exc.message}); "
            "only HubSpot's standard product properties were accepted."
        )
        return dict(HUBSPOT_PRODUCT_FIELDS), note


def start_full_sync(settings: Settings, account_id: int) -> int:
    """Create a full-sync run and announce it on the `bulk` queue; returns the run id.

    Raises `QueueUnavailable` when the broker refuses the message: the run is then marked
    failed with that reason (nothing enumerated, nothing to clean up), never left waiting.
    """
    from tasks import full_sync

    with session_scope(settings.database_url) as session:
        run_id = engine_start_full_sync(session, account_id).id
    try:
        with broker_connection(settings) as connection:
            full_sync.apply_async(args=[run_id], connection=connection)
    except Exception as exc:
        log.warning("full sync run %s not announced: %s", run_id, type(exc).__name__)
        with session_scope(settings.database_url) as session:
            run = session.get(SyncRun, run_id)
            if run is not None and run.status == "enumerating":
                run.status = "failed"
                run.finished_at = utcnow()
                run.error_message = QueueUnavailable.message
        raise QueueUnavailable(QueueUnavailable.message) from exc
    return run_id


class QueueUnavailable(RuntimeError):
    message = (
        "The task queue (Redis) could not be reached, so the full sync was not started. "
        "Check that Redis and the workers are running, then start it again."
    )


def retry_product(settings: Settings, account_id: int, sku: str) -> RetryOutcome:
    """Sync the product(s) known under ``sku`` again now, from the current source data."""
    with session_scope(settings.database_url) as session:
        account = session.get(Account, account_id)
        if account is None:
            return RetryOutcome(False, f"There is no account with id {account_id}.")
        source = source_of(account.direction)  # type: ignore[arg-type]
        dispatches = requeue_product(session, account, sku)
    label = SYSTEM_LABELS[source]
    if not dispatches:
        return RetryOutcome(
            False,
            f"No {label} product is known under SKU {sku!r} (the account now reads from "
            f"{label}). Start a full sync to pick it up.",
        )
    announce(settings, dispatches)
    return RetryOutcome(True, f"Retry of SKU {sku!r} queued; refresh this page to see it.")


def requeue_product(session: Session, account: Account, sku: str) -> list[Dispatch]:
    """Jobs (new, or an already waiting retry made due now) for every source product id
    this SKU is known under in the account's current source system."""
    source = source_of(account.direction)  # type: ignore[arg-type]
    id_column = HistoryEntry.hubspot_id if source == "hubspot" else HistoryEntry.quickbooks_id
    link_column = ProductLink.hubspot_id if source == "hubspot" else ProductLink.quickbooks_id
    linked = session.scalars(
        select(link_column).where(ProductLink.account_id == account.id, ProductLink.sku == sku)
    ).all()
    seen = session.execute(
        select(id_column, HistoryEntry.error_code, HistoryEntry.details)
        .where(HistoryEntry.account_id == account.id, HistoryEntry.sku == sku)
        .order_by(HistoryEntry.finished_at.desc(), HistoryEntry.id.desc())
        .limit(200)
    ).all()
    ids: list[str] = []
    for candidate in [*linked, *(row[0] for row in seen), *_conflict_ids(seen, sku)]:
        if candidate and candidate not in ids:
            ids.append(candidate)
    dispatches: list[Dispatch] = []
    for source_id in ids[:MAX_RETRY_IDS]:
        waiting = session.scalars(
            select(Job)
            .where(
                Job.account_id == account.id,
                Job.source_system == source,
                Job.source_id == source_id,
                Job.reason == "retry",
                Job.status == "pending",
            )
            .limit(1)
        ).first()
        if waiting is not None:
            dispatches.append(Dispatch(waiting.id, waiting.queue))
            continue
        dispatches += insert_jobs(
            session,
            account_id=account.id,
            source_system=source,
            reason="retry",
            queue="sync",
            changes=[NewJob(source_id, None)],
        )
    return dispatches


def _conflict_ids(rows: Sequence[Any], sku: str) -> list[str]:
    """Source ids named by a duplicate-SKU-in-source failure (every product involved)."""
    found: list[str] = []
    for _, code, details in rows:
        if (
            code == "duplicate_sku_in_source"
            and isinstance(details, dict)
            and details.get("sku") == sku
        ):
            found += [str(i) for i in details.get("ids") or []]
    return found


@contextmanager
def broker_connection(settings: Settings) -> Iterator[Connection]:
    """A connection to the broker these settings name (not whatever the process
    environment says), so a page always announces to its own deployment's queues."""
    from tasks.app import app as celery_app

    with celery_app.connection_for_write(settings.effective_broker_url) as connection:
        yield connection


def announce_webhook_jobs(
    settings: Settings, client: redis.Redis, by_account: Mapping[int, Sequence[Dispatch]]
) -> None:
    """Announce a webhook delivery's committed jobs: gathered per account for
    `webhook_coalesce_seconds` and run as one chunk (`workers.webhooks.coalesce`), or
    at once as one chunk per account. A failed publish is only logged, as in `announce`."""
    from tasks import flush_webhook_jobs
    from tasks.dispatch import announce_chunks

    window = settings.webhook_coalesce_seconds
    try:
        with broker_connection(settings) as connection:
            for account_id, dispatches in by_account.items():
                ids = [d.job_id for d in dispatches]
                if window <= 0:
                    announce_chunks(dispatches, CHUNK, connection=connection)
                elif coalesce.gather(client, account_id, ids, window):
                    flush_webhook_jobs.apply_async(
                        args=[account_id], countdown=window, connection=connection
                    )
    except Exception as exc:  # Redis or the broker: the rows are committed
        log.warning("webhook jobs left to the sweeper: %s", type(exc).__name__)


def announce(settings: Settings, dispatches: Sequence[Dispatch]) -> None:
    """Send `sync_product(job_id)` for committed jobs. A failed publish is only logged:
    the rows are committed and the sweeper announces due jobs again."""
    from tasks import sync_product

    try:
        with broker_connection(settings) as connection:
            for d in dispatches:
                sync_product.apply_async(args=[d.job_id], queue=d.queue, connection=connection)
    except Exception as exc:
        log.warning("retry jobs left to the sweeper: %s", type(exc).__name__)
