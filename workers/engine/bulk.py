"""Full syncs in chunks: one message carries up to `CHUNK` job ids of one run.

::

    claim every job of the chunk in one conditional UPDATE (those not claimable are
    someone else's: a duplicate delivery, a retry already announced)
    the chunk's reads, in batches (`chunk_reads`)
    the chunk's writes, in batches (`chunk_writes`): one write_many, one transaction
    what is not plain: one product at a time (`sync.run_claimed`), with the chunk's reads

A per-product error never touches its neighbours; a read that fails for the whole chunk
fails each product's attempt with that error, so every job follows its own budget.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field

from models.db import session_scope
from workers.engine import jobs
from workers.engine.chunk_reads import ChunkLookup, prefetch
from workers.engine.chunk_writes import write_chunk
from workers.engine.context import SyncContext
from workers.engine.sweep import mark_queue_busy
from workers.engine.sync import Claimed, SyncResult, claim_jobs, run_claimed

# HubSpot's batch/read takes 100 ids; QBO's `Id IN (…)` more. Fewer jobs per message
# would spread a run over more processes, at one more pair of reads per chunk.
CHUNK = 100
# Of a job lease (the tasks' soft time limit): the rest of a slow chunk goes back to the
# queue rather than outliving its leases.
TIME_SHARE = 0.5


@dataclass(frozen=True)
class ChunkResult:
    """Each attempted job's result (a ``retry_in`` means announce that job again, alone,
    after that many seconds) and the claimed jobs the chunk gave back unstarted, to
    announce again as a chunk."""

    results: list[tuple[int, SyncResult]] = field(default_factory=list)
    deferred: list[int] = field(default_factory=list)


def sync_chunk(ctx: SyncContext, job_ids: Sequence[int]) -> ChunkResult:
    """Run the jobs of one chunk, for at most half a job lease (also the task's soft time
    limit): what is left then is given back, its attempts budget untouched."""
    owner = f"{ctx.worker_id}:{uuid.uuid4().hex[:8]}"
    budget = ctx.settings.job_lease_seconds * TIME_SHARE
    started = time.monotonic()
    claimed = claim_jobs(ctx, job_ids, owner)
    if not claimed:
        return ChunkResult()
    lookup = prefetch(ctx, claimed)
    outcome = ChunkResult()
    if isinstance(lookup, ChunkLookup) and lookup.index is not None:
        if time.monotonic() - started > budget:
            return _give_back(ctx, claimed, owner, outcome)
        mark_queue_busy(ctx, claimed[0].job.queue)
        batch = write_chunk(ctx, claimed, owner, lookup)
        outcome.results.extend(batch.results)
        claimed = batch.rest
    for position, item in enumerate(claimed):
        if time.monotonic() - started > budget:
            return _give_back(ctx, claimed[position:], owner, outcome)
        outcome.results.append((item.job.id, run_claimed(ctx, item, owner, lookup)))
    return outcome


def _give_back(
    ctx: SyncContext, rest: Sequence[Claimed], owner: str, outcome: ChunkResult
) -> ChunkResult:
    with session_scope(ctx.database_url) as session:
        outcome.deferred.extend(jobs.release(session, [c.job.id for c in rest], owner=owner))
    return outcome
