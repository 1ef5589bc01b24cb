"""Driving the real pipeline from the outside, as the CLI and the web page do: start a
full sync, send a poll, and watch the job and run rows in Postgres."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from celery import Celery
from sqlalchemy import func, select

from models import Job, SyncRun
from models.db import session_scope
from tests.support.stack import Stack
from workers import engine

POLL_SECONDS = 0.2


class BenchTimeout(RuntimeError):
    """The pipeline did not reach the awaited state in time; the message says which."""


def broker(stack: Stack) -> Celery:
    """A producer-only Celery app on the stack's broker (JSON, like the workers accept)."""
    app = Celery("bench", broker=stack.redis.url, set_as_current=False)
    app.conf.update(task_serializer="json", accept_content=["json"], task_ignore_result=True)
    return app


def start_full_sync(stack: Stack, client: Celery, account_id: int) -> int:
    """A full-sync run for the account, announced on ``bulk`` (as `tasks.start_full_sync`)."""
    with session_scope(stack.database_url) as session:
        run_id = engine.start_full_sync(session, account_id).id
    client.send_task("productsync.full_sync", args=[run_id], queue="bulk")
    return run_id


def send_poll(client: Celery, account_id: int) -> None:
    client.send_task("productsync.poll", args=[account_id], queue="poll")


@dataclass(frozen=True)
class RunState:
    status: str
    total: int
    done: int
    created: int
    updated: int
    unchanged: int
    failed: int
    skipped: int

    def outcomes(self) -> dict[str, int]:
        return {
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "failed": self.failed,
            "skipped": self.skipped,
        }


def run_state(stack: Stack, run_id: int) -> RunState:
    with session_scope(stack.database_url) as session:
        run = session.get(SyncRun, run_id)
        if run is None:
            raise LookupError(f"no sync run {run_id}")
        return RunState(
            run.status, run.total, run.done, run.created, run.updated, run.unchanged,
            run.failed, run.skipped,
        )  # fmt: skip


def open_jobs(stack: Stack, account_id: int) -> int:
    """Jobs of the account not yet finished (pending, running or parked)."""
    with session_scope(stack.database_url) as session:
        query = select(func.count()).where(
            Job.account_id == account_id, Job.status.in_(("pending", "running", "parked"))
        )
        return int(session.scalar(query) or 0)


def job_count(stack: Stack, account_id: int) -> int:
    with session_scope(stack.database_url) as session:
        return int(session.scalar(select(func.count()).where(Job.account_id == account_id)) or 0)


def wait_until(what: str, probe: Callable[[], bool], timeout: float, stack: Stack) -> None:
    deadline = time.monotonic() + timeout
    while not probe():
        if time.monotonic() > deadline:
            logs = "\n".join(f"--- {p.name}\n{p.output()[-2000:]}" for p in stack.processes)
            raise BenchTimeout(f"timed out after {timeout:.0f} s waiting for {what}\n{logs}")
        time.sleep(POLL_SECONDS)


def wait_for_run(stack: Stack, run_id: int, timeout: float) -> RunState:
    """Block until the run is finished (or failed); its final counts."""
    states: list[RunState] = []

    def finished() -> bool:
        states.append(run_state(stack, run_id))
        return states[-1].status in ("finished", "failed")

    wait_until(f"sync run {run_id} to finish", finished, timeout, stack)
    return states[-1]
