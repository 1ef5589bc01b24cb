"""A working chunk renews its jobs' short lease; a dead one's lease runs out soon.

A chunk holds up to 100 jobs. With the per-product lease (minutes), a worker killed in
the middle of a chunk left all of them waiting for it; a chunk's lease is short instead
(`Settings.chunk_lease_seconds`), and a thread renews it every third of it while the
chunk is alive. Renewals stop after ``for_at_most`` seconds even if the chunk goes on
(a hung call), so a chunk can never hold its jobs longer than its task's time limit.

A renewal that fails (Postgres unreachable for a moment) is tried again at the next
beat; if the lease runs out meanwhile the sweeper re-sends the jobs and the chunk's
outcome writes, fenced by the lease owner, change nothing: at worst work is repeated.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from types import TracebackType

from models.db import session_scope
from workers.engine import jobs

log = logging.getLogger(__name__)


class LeaseKeeper:
    """``with LeaseKeeper(url, ids, owner, lease_seconds=30, for_at_most=120): ...``"""

    def __init__(
        self,
        database_url: str,
        job_ids: Sequence[int],
        *,
        owner: str,
        lease_seconds: float,
        for_at_most: float,
    ) -> None:
        self._url = database_url
        self._ids = list(job_ids)
        self._owner = owner
        self._lease = lease_seconds
        self._until = time.monotonic() + for_at_most
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="lease-keeper", daemon=True)
        self.renewals = 0

    def __enter__(self) -> LeaseKeeper:
        if self._ids:
            self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)

    def _run(self) -> None:
        beat = self._lease / 3
        while not self._stop.wait(beat):
            if time.monotonic() + beat > self._until:
                return  # the chunk outlived its time limit: let the leases lapse
            try:
                with session_scope(self._url) as session:
                    held = jobs.renew(
                        session, self._ids, owner=self._owner, lease_seconds=self._lease
                    )
            except Exception as exc:  # Postgres away for a moment: the next beat tries again
                log.warning("could not renew a chunk's leases: %s", type(exc).__name__)
                continue
            self.renewals += 1
            if held == 0:
                return  # every job is settled or taken over
