"""The sync engine: what the Celery tasks run.

Public surface (each takes a `SyncContext`, manages its own short transactions where a
step must be durable before a vendor call, and returns the jobs to announce after
commit)::

    poll_account(ctx, account_id, on_commit=None) -> list[Dispatch]  (or per page, committed)
    due_accounts(ctx) -> list[int]
    sweep(ctx) -> list[Dispatch]
    stalled_runs(ctx) -> list[int]                   (full syncs to announce again)
    due_runs(ctx) -> list[int]                       (waiting full syncs now due)
    rescue(ctx, broker) -> Rescue                     (what an emptied broker lost)
    enumerate_run(ctx, run_id, on_chunk) -> list[Dispatch]  (each chunk as listed; Retryable: retry)
    run_chunk_size(ctx, run_id) -> int                (jobs per chunk, by destination)
    fail_run(ctx, run_id, error) -> None
    sync_product(ctx, job_id) -> SyncResult
    sync_chunk(ctx, job_ids) -> ChunkResult           (full-sync jobs, in chunks)

and, in the caller's transaction: `start_full_sync`, and the account service in
`workers.engine.accounts` (create_account, set_direction, set_mappings, reset_mappings).
"""

from workers.engine.backoff import backoff_delay
from workers.engine.broker_watch import Rescue, rescue
from workers.engine.bulk import CHUNK, ChunkResult, sync_chunk
from workers.engine.context import CatalogFactory, Dispatch, SyncContext
from workers.engine.full_sync import enumerate_run, fail_run, run_chunk_size, start_full_sync
from workers.engine.poll import due_accounts, poll_account
from workers.engine.run_wait import due_runs
from workers.engine.sweep import stalled_runs, sweep
from workers.engine.sync import SyncResult, sync_product

__all__ = [
    "CHUNK",
    "CatalogFactory",
    "ChunkResult",
    "Dispatch",
    "Rescue",
    "SyncContext",
    "SyncResult",
    "backoff_delay",
    "due_accounts",
    "due_runs",
    "enumerate_run",
    "fail_run",
    "poll_account",
    "rescue",
    "run_chunk_size",
    "stalled_runs",
    "start_full_sync",
    "sweep",
    "sync_chunk",
    "sync_product",
]
