"""Always on: a deaf worker takes itself out and its supervisor replaces it; a broker that
comes back empty gets every due job again within seconds."""

from __future__ import annotations

import socket
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import redis
from celery import Celery
from sqlalchemy import update

from console.supervisor import Child, Supervisor
from models import Job, utcnow
from models.db import session_scope
from tests.support import oracle
from tests.support.faults import stop_processes
from tests.support.stack import CELERY, Stack
from workers import liveness
from workers.engine.broker_watch import MARKER
from workers.engine.jobs import NewJob, insert_jobs

DEADLINE = 3.0  # seconds; the default is 40
QUEUES = ("poll", "sync", "bulk")


@contextmanager
def supervised_worker(stack: Stack, node: str) -> Iterator[tuple[Child, list[tuple[float, str]]]]:
    """One worker under `productsync run`'s supervisor (its `watch` loop in a thread),
    with a short liveness deadline; yields the child and the supervisor's lines."""
    argv = [
        CELERY, "-A", "tasks", "worker", "-n", node, "-Q", ",".join(QUEUES), "-c", "2",
        "--pool", "prefork", "--loglevel", "INFO", "--without-gossip", "--without-mingle",
    ]  # fmt: skip
    env = stack.env(WORKER_LIVENESS_DEADLINE_SECONDS=str(DEADLINE))
    supervisor = Supervisor(stack.workdir, grace_seconds=10)
    lines: list[tuple[float, str]] = []
    stop = threading.Event()

    def watch() -> None:
        while not stop.is_set():
            lines.extend((time.monotonic(), line) for line in supervisor.watch())
            time.sleep(0.05)

    thread = threading.Thread(target=watch, daemon=True)
    try:
        child = supervisor.start("supervised-worker", argv, env)
        thread.start()
        yield child, lines
    finally:
        stop.set()
        thread.join(5)
        supervisor.stop()


def _took_since(client: redis.Redis, node: str, since: float) -> bool:
    worker = liveness.read(client, node)
    return worker is not None and any(p.seen and p.seen > since for p in worker.queues)


def test_a_deaf_worker_is_replaced_within_the_deadline_and_its_jobs_finish(
    pipeline: Stack,
) -> None:
    for process in [p for p in pipeline.processes if p.name == "w1"]:
        process.stop()
        pipeline.processes.remove(process)  # beat stays: it keeps sending work
    node = f"deaf-{uuid.uuid4().hex[:6]}@{socket.gethostname()}"
    client = redis.Redis.from_url(pipeline.redis.url)
    control = Celery("deafen", broker=pipeline.redis.url)
    with supervised_worker(pipeline, node) as (child, lines):
        first = child.pid
        pipeline.wait_for(lambda: _took_since(client, node, 0), timeout=60)  # it consumes
        # Deaf on purpose: every consumer cancelled. The process lives on and its control
        # channel still answers, as in the kombu wedge after a Redis restart.
        for queue in QUEUES:
            control.control.cancel_consumer(queue, destination=[node], reply=True, timeout=5)
        wedged_wall, wedged = time.time(), time.monotonic()
        assert control.control.ping(destination=[node], timeout=5)
        acct = pipeline.new_account("hubspot_to_quickbooks")
        for n in range(5):
            acct.hubspot_create(name=f"Deaf {n}", hs_sku=f"DEAF-{n}", price=str(n + 1))
        pipeline.wait_for(lambda: child.pid != first, timeout=30)
        pipeline.wait_for(lambda: _took_since(client, node, wedged_wall), timeout=30)
        consuming = time.monotonic() - wedged
        verdict = oracle.check(pipeline, acct, timeout=60)
        [(exited_at, exited)] = [(t, line) for t, line in lines if "exited" in line]
        [(restarted_at, _)] = [(t, line) for t, line in lines if "restarted" in line]
    control.close()
    out, back = exited_at - wedged, restarted_at - wedged
    print(
        f"\nwedge -> deaf worker exited {out:.1f}s, -> replacement started {back:.1f}s, "
        f"-> replacement consuming {consuming:.1f}s (deadline {DEADLINE:.0f}s)"
    )
    assert exited.startswith("supervised-worker exited with status 1;")
    assert "is deaf: messages have waited in" in child.log_path.read_text()
    # Work to wait first (beat's next tick, or a canary), then the deadline, a watchdog
    # round, and a warm shutdown that has nothing to wait for.
    assert out < DEADLINE + 8, out  # measured 5-6 s on a quiet machine
    assert verdict.by_status() == {"succeeded": 5}
    assert verdict.lost == verdict.duplicates == 0


def test_an_emptied_broker_gets_every_pending_job_back_within_seconds(pipeline: Stack) -> None:
    stop_processes(pipeline)
    acct = pipeline.new_account("hubspot_to_quickbooks")
    ids = [acct.hubspot_create(name=f"Lost {n}", hs_sku=f"LOST-{n}", price="1") for n in range(8)]
    with session_scope(pipeline.database_url) as session:
        jobs = insert_jobs(
            session,
            account_id=acct.id,
            source_system="hubspot",
            reason="poll",
            queue="sync",
            changes=[NewJob(i, utcnow()) for i in ids],
        )
    client = redis.Redis.from_url(pipeline.redis.url)
    # A lease longer than the target: the sweeper's idle-lease rule cannot be what brings
    # them back. Only `poll` is consumed, so what lands on `sync` stays there, counted.
    env = {"PRODUCTSYNC_JOB_LEASE_SECONDS": "15"}
    pipeline.start_worker("poller", queues=("poll",), env=env)
    pipeline.start_beat(env=env)
    pipeline.wait_for(lambda: client.exists(MARKER), timeout=30)
    with session_scope(pipeline.database_url) as session:
        # Their messages just went out, as far as the sweeper can tell.
        session.execute(update(Job).where(Job.account_id == acct.id).values(enqueued_at=utcnow()))
    pipeline.redis.restart()  # every message and the marker are gone
    restarted = time.monotonic()
    pipeline.wait_for(lambda: client.llen("sync") >= len(jobs), timeout=30, interval=0.1)
    back = time.monotonic() - restarted
    print(f"\nRedis restarted empty -> all {len(jobs)} pending jobs queued again in {back:.1f}s")
    assert back < 15
    pipeline.start_worker("w1")
    verdict = oracle.check(pipeline, acct, timeout=60)
    assert set(verdict.by_status()) == {"succeeded"}  # (the poll made jobs of its own too)
