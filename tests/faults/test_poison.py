"""A poison job: whatever its process does with it, the process dies. The attempts budget
in Postgres stops it (short leases here so the budget is spent in seconds)."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from tests.support import oracle
from tests.support.faults import job_where, kill_children
from tests.support.services import fresh_database
from tests.support.stack import Stack, Timings, running_stack


@pytest.fixture(scope="module")
def stack() -> Iterator[Stack]:
    timings = Timings(lease=2.5, max_attempts=3)
    with fresh_database() as url, running_stack(url, timings) as running:
        yield running


def test_a_job_that_always_kills_its_process_stops_after_the_attempts_budget(
    pipeline: Stack,
) -> None:
    acct = pipeline.new_account("hubspot_to_quickbooks")
    [worker] = [p for p in pipeline.processes if p.name == "w1"]
    stop = threading.Event()
    kills: list[int] = []  # the attempt numbers that were killed

    def assassin() -> None:
        # Every time the poison job is running, its process dies (like a segfault in a
        # C extension or the OOM killer on a huge payload).
        while not stop.is_set():
            job = job_where(acct, lambda j: j.status == "running")
            if job is not None and job.attempts not in kills:
                kills.append(job.attempts)
                kill_children(worker)
            stop.wait(0.05)

    thread = threading.Thread(target=assassin, daemon=True)
    thread.start()
    try:
        poison = acct.hubspot_create(name="Poison", hs_sku="POISON-1", price="1")
        # Each attempt's read of the product is slow, so the assassin never misses it
        # (read by id one job at a time, or in a chunk's batch read).
        pipeline.hubspot_admin.add_fault(
            "hang", f"/products/({poison}|batch/read)$", seconds=1.5, times=20
        )
        pipeline.wait_for(lambda: job_where(acct, lambda j: j.status == "failed"), timeout=45)
    finally:
        stop.set()
        thread.join(5)
    verdict = oracle.check(pipeline, acct)
    [job] = verdict.jobs
    assert (job.status, job.error_code) == ("failed", "attempts_exhausted")
    assert job.attempts <= pipeline.timings.max_attempts + 1
    assert kills == list(range(1, pipeline.timings.max_attempts + 1))
    [entry] = [e for e in acct.history() if e.status == "failed"]
    assert entry.error_code == "attempts_exhausted" and "attempts" in (entry.error_message or "")
