"""Announcing committed jobs on the broker. A failed publish is logged and left to the
sweeper: the job row is already committed, so nothing is lost."""

from __future__ import annotations

import logging
from collections.abc import Iterable

from workers.engine import Dispatch

log = logging.getLogger(__name__)


def announce(dispatches: Iterable[Dispatch]) -> int:
    """Send `sync_product(job_id)` for each job to its queue; returns how many were sent."""
    from tasks.sync import sync_product

    sent = 0
    for dispatch in dispatches:
        try:
            sync_product.apply_async(args=[dispatch.job_id], queue=dispatch.queue)
            sent += 1
        except Exception as exc:  # the broker is down: the sweeper re-announces later
            log.warning("could not announce job %s: %s", dispatch.job_id, type(exc).__name__)
    return sent
