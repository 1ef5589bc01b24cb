"""Jobs in chunks: one message carries up to `CHUNK` job ids of one account, a full
sync's (one run) or a poll page's.

::

    claim every job of the chunk in one conditional UPDATE, with a short lease that a
    thread renews while the chunk works (`lease_keeper`); those not claimable are someone
    else's: a duplicate delivery, a retry already announced
    the chunk's reads, in batches (`chunk_reads`)
    the chunk's writes, in batches (`chunk_writes`): one write_many, one transaction
    what is not plain: one product at a time (`sync.run_claimed`), with the chunk's reads

A chunk stays a chunk (`chunk_waits`): a wait that holds for every product (a rate limit,
a 429, an open circuit) is sat out when short, else the chunk's jobs are given back and
announced again together for when it is over; jobs that must retry are announced again
together too (`ChunkResult.again`). A per-product error never touches its neighbours; a
read that fails for the whole chunk fails each product's attempt with that error, so
every job follows its own budget.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta

from models import utcnow
from models.db import session_scope
from workers.catalog.port import destination_of
from workers.engine import jobs
from workers.engine.chunk_reads import ChunkLookup, prefetch
from workers.engine.chunk_waits import SHORT_WAIT_SECONDS, Wait
from workers.engine.chunk_writes import write_chunk
from workers.engine.context import SyncContext
from workers.engine.lease_keeper import LeaseKeeper
from workers.engine.sweep import mark_queue_busy
from workers.engine.sync import Claimed, SyncResult, claim_jobs, run_claimed
from workers.errors import SyncError

# HubSpot's batch/read takes 100 ids; QBO's `Id IN (…)` more. Fewer jobs per message
# would spread a run over more processes, at one more pair of reads per chunk.
CHUNK = 100
# QBO writes go in /batch calls of 30: a chunk of 90 fills three, where 100 would need a
# fourth for its last 10 (400 batches instead of 334 for 10,000 products, and QBO's 120
# batches a minute are what binds a full sync into QuickBooks).
QBO_CHUNK = 90
# Into HubSpot, the source is QBO, whose reads are the scarce ones (10 a second against
# HubSpot's 100 calls per 10 s): a chunk of 400 reads its sources in two `Id IN` queries
# of 200 and writes them in four HubSpot batch calls of 100.
HUBSPOT_CHUNK = 400
# Of a job lease (the tasks' soft time limit): the rest of a slow chunk goes back to the
# queue rather than outliving its leases.
TIME_SHARE = 0.5


@dataclass(frozen=True)
class Deferral:
    """Jobs given back together, to announce again as one chunk after ``seconds``."""

    job_ids: list[int]
    seconds: float


@dataclass(frozen=True)
class ChunkResult:
    """Each attempted job's result (a ``retry_in`` means that job is due again after that
    many seconds) and the jobs the chunk gave back unstarted, to announce again as
    chunks (`deferred`)."""

    results: list[tuple[int, SyncResult]] = field(default_factory=list)
    deferred: list[Deferral] = field(default_factory=list)
    queue: str = "bulk"  # the jobs' own: a full sync's go on `bulk`, a poll's on `sync`

    def again(self) -> list[Deferral]:
        """Everything to announce again, in chunks: the deferrals, and the jobs that must
        retry, together, once the last of them is due."""
        retrying = [(job_id, r.retry_in) for job_id, r in self.results if r.retry_in is not None]
        if not retrying:
            return list(self.deferred)
        ids = [job_id for job_id, _ in retrying]
        return [*self.deferred, Deferral(ids, max(delay for _, delay in retrying))]


def chunk_size(direction: str) -> int:
    """How many jobs of a full sync go in one chunk, by the destination's batch size."""
    return QBO_CHUNK if destination_of(direction) == "quickbooks" else HUBSPOT_CHUNK  # type: ignore[arg-type]


def sync_chunk(ctx: SyncContext, job_ids: Sequence[int]) -> ChunkResult:
    """Run the jobs of one chunk, for at most half a job lease (also the task's soft time
    limit): what is left then is given back, its attempts budget untouched."""
    s = ctx.settings
    owner = f"{ctx.worker_id}:{uuid.uuid4().hex[:8]}"
    deadline = time.monotonic() + s.job_lease_seconds * TIME_SHARE
    claimed = claim_jobs(ctx, job_ids, owner, lease_seconds=s.effective_chunk_lease_seconds)
    if not claimed:
        return ChunkResult()
    with LeaseKeeper(
        ctx.database_url,
        [c.job.id for c in claimed],
        owner=owner,
        lease_seconds=s.effective_chunk_lease_seconds,
        for_at_most=s.job_lease_seconds,
    ):
        return _run(ctx, claimed, owner, deadline)


def _run(ctx: SyncContext, claimed: list[Claimed], owner: str, deadline: float) -> ChunkResult:
    outcome = ChunkResult(queue=claimed[0].job.queue)
    wait = _write_wait(ctx, claimed)
    if wait.seconds > SHORT_WAIT_SECONDS:  # the writes could not go for a while: read later
        return _defer(ctx, claimed, owner, wait, outcome, unwritten=False)
    lookup = prefetch(ctx, claimed, deadline=deadline)
    if isinstance(lookup, ChunkLookup):
        wait = lookup.wait(cap=ctx.settings.retry_cap_seconds)
        if wait is not None:  # a read refused as a whole: the chunk waits, whole
            return _defer(ctx, claimed, owner, wait, outcome, unwritten=False)
    if isinstance(lookup, ChunkLookup) and lookup.index is not None:
        if time.monotonic() > deadline:
            return _defer(ctx, claimed, owner, Wait(0.0), outcome, unwritten=False)
        mark_queue_busy(ctx, claimed[0].job.queue)
        batch = write_chunk(ctx, claimed, owner, lookup, deadline=deadline)
        outcome.results.extend(batch.results)
        for wait, waiting in batch.waiting:
            _defer(ctx, waiting, owner, wait, outcome, unwritten=True)
        claimed = batch.rest
    for position, item in enumerate(claimed):
        if time.monotonic() > deadline:
            return _defer(ctx, claimed[position:], owner, Wait(0.0), outcome, unwritten=False)
        outcome.results.append((item.job.id, run_claimed(ctx, item, owner, lookup)))
    return outcome


def _write_wait(ctx: SyncContext, claimed: list[Claimed]) -> Wait:
    """How long the destination's rate budget keeps this chunk's writes back, asked
    before reading anything (chunks that wait for a full batch window would otherwise
    read their sources again each time they came back)."""
    account = claimed[0].account
    if any(c.account.id != account.id for c in claimed):
        return Wait(0.0)  # not a plain chunk: the per-product path decides
    destination = ctx.catalogs(destination_of(account.direction), account.id)  # type: ignore[arg-type]
    try:
        seconds = destination.write_wait()
    except SyncError:
        return Wait(0.0)  # Redis trouble: the calls themselves report it
    # Longer than any countdown: parked, so the sweeper brings it back when due (as
    # `chunk_waits.wait_for` does a 429's); pending without a message, it waited for
    # its queue to go idle, which a busy queue never does.
    return Wait(seconds, "rate_limited" if seconds > ctx.settings.retry_cap_seconds else None)


def _defer(
    ctx: SyncContext,
    rest: Sequence[Claimed],
    owner: str,
    wait: Wait,
    outcome: ChunkResult,
    *,
    unwritten: bool,
) -> ChunkResult:
    """Give ``rest`` back unstarted until ``wait`` ends. ``unwritten``: this attempt's
    writes for them were refused as a whole, so a create it noted as started is not one
    (an earlier attempt's note is kept: only jobs without one reach the batch write)."""
    if not rest:
        return outcome
    until = utcnow() + timedelta(seconds=wait.come_back_in)
    with session_scope(ctx.database_url) as session:
        ids = jobs.defer(
            session,
            [c.job.id for c in rest],
            owner=owner,
            until=until,
            reason=wait.reason,
            unwritten=unwritten,
        )
    if ids:
        outcome.deferred.append(Deferral(ids, wait.come_back_in))
    return outcome
