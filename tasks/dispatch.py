"""Announcing committed jobs on the broker. A failed publish is logged and left to the
sweeper: the job row is already committed, so nothing is lost.

Every send passes ``add_to_parent=False``: inside a task, Celery otherwise keeps an
`AsyncResult` per message sent in the task's ``request.children`` until it returns (for
a result backend this service does not have), so a poll or full sync announcing 100,000
jobs held 100,000 of them.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable

from kombu import Connection

from workers.engine import Dispatch

log = logging.getLogger(__name__)


def announce_chunks(
    dispatches: Iterable[Dispatch],
    size: int,
    *,
    countdown: float = 0.0,
    connection: Connection | None = None,
) -> int:
    """Send jobs of one account (a full sync's, a poll page's, a webhook delivery's) as
    `sync_chunk(job_ids)` messages of up to ``size`` ids, each on its jobs' queue, after
    ``countdown`` seconds, on ``connection`` (default: the app's); returns how many jobs
    were sent."""
    from tasks.sync import sync_chunk

    by_queue: dict[str, list[int]] = defaultdict(list)
    for dispatch in dispatches:
        by_queue[dispatch.queue].append(dispatch.job_id)
    sent = 0
    for queue, ids in by_queue.items():
        for start in range(0, len(ids), size):
            chunk = ids[start : start + size]
            try:
                sync_chunk.apply_async(
                    args=[chunk],
                    queue=queue,
                    countdown=countdown or None,
                    connection=connection,
                    add_to_parent=False,
                )
                sent += len(chunk)
            except Exception as exc:  # the broker is down: the sweeper re-announces later
                log.warning("could not announce %s jobs: %s", len(chunk), type(exc).__name__)
    return sent


def announce_grouped(
    dispatches: Iterable[Dispatch], size: int, *, countdown: float = 0.0
) -> int:
    """`announce`, except that the jobs of a run (a full sync's, or a poll's) go out as
    chunks of their run: one account's, read and written in batches, as when they were
    first announced (a broker that lost a poll's 300 chunked jobs got them back one per
    message, 300 times the calls). All after ``countdown`` seconds."""
    runs: dict[int, list[Dispatch]] = defaultdict(list)
    single: list[Dispatch] = []
    for dispatch in dispatches:
        if dispatch.run_id is not None:
            runs[dispatch.run_id].append(dispatch)
        else:
            single.append(dispatch)
    sent = announce(single, countdown=countdown)
    for grouped in runs.values():
        sent += announce_chunks(grouped, size, countdown=countdown)
    return sent


def announce(dispatches: Iterable[Dispatch], *, countdown: float = 0.0) -> int:
    """Send `sync_product(job_id)` for each job to its queue, after ``countdown`` seconds;
    returns how many were sent."""
    from tasks.sync import sync_product

    sent = 0
    for dispatch in dispatches:
        try:
            sync_product.apply_async(
                args=[dispatch.job_id],
                queue=dispatch.queue,
                countdown=countdown or None,
                add_to_parent=False,
            )
            sent += 1
        except Exception as exc:  # the broker is down: the sweeper re-announces later
            log.warning("could not announce job %s: %s", dispatch.job_id, type(exc).__name__)
    return sent
