"""Each worker proves it still consumes, and takes itself out when it cannot.

A watchdog thread in the worker's main process (where its consumer runs) checks every
few seconds, for each queue the worker was started to serve (``-Q``), whether messages
wait there (the broker's own count) while the worker has a free process, and whether its
consumer took one since (Celery's ``task_received``, sent by the consumer itself as it
takes a message off the broker). Messages waiting on a free worker that takes none for
longer than ``PRODUCTSYNC_WORKER_LIVENESS_DEADLINE_SECONDS`` mean the consumer is deaf
(the kombu wedge after a Redis restart, celery/celery#8030, leaves the process alive and
answering control pings): the worker logs why and exits with status 1, by a warm
shutdown (running tasks finish), then a cold one, then a hard exit, so its supervisor
(`productsync run`, docker-compose, systemd, Kubernetes) starts a fresh one. A worker
whose every process is busy is not deaf; a queue that is empty proves nothing either, so
the watchdog keeps a canary (a no-op task) in each queue it has not taken from lately:
the proof is continuous, idle or not. What it sees goes to Redis (`workers.liveness`)
for `productsync status`, the web page and `productsync worker-health`.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import redis
from celery.signals import task_received, task_revoked, worker_ready, worker_shutdown

from tasks.app import app
from workers import liveness
from workers.settings import get_settings

log = logging.getLogger(__name__)

EX_FAILURE = 1
COLD_SECONDS = 2.0  # after the warm shutdown's grace, before the hard exit


@app.task(name="productsync.canary", ignore_result=True)
def canary() -> None:
    """Nothing to do: the proof is that a consumer took this message off its queue."""


@dataclass
class Watchdog:
    """What one worker knows about its own consumption; `check` is one round."""

    node: str
    queues: list[str]
    deadline: float
    store: redis.Redis  # where the proof is written (the service's Redis)
    broker: redis.Redis  # where the queues are
    send_canary: Callable[[str], object]
    clock: Callable[[], float] = time.time
    seen: dict[str, float | None] = field(default_factory=dict)
    starved: dict[str, float | None] = field(default_factory=dict)
    canary_at: dict[str, float] = field(default_factory=dict)

    def took(self, queue: str) -> None:
        """The consumer took a message from ``queue`` (any message: a job or a canary)."""
        if queue in self.queues:
            self.seen[queue] = self.clock()
            self.starved[queue] = None

    def check(self, *, busy: bool) -> str | None:
        """Look once; returns why the worker is deaf, or None."""
        now = self.clock()
        counts = liveness.waiting(self.broker, self.queues)
        for queue in self.queues:
            if counts[queue] == 0 or busy:
                self.starved[queue] = None
            elif self.starved.get(queue) is None:
                self.starved[queue] = now
            last = self.seen.get(queue)
            stale = last is None or now - last > self.deadline / 2
            if (
                counts[queue] == 0
                and stale
                and now - self.canary_at.get(queue, 0) > self.deadline / 2
            ):
                self.canary_at[queue] = now
                self.send_canary(queue)
        seen = {q: self.seen.get(q) for q in self.queues}
        starved = {q: self.starved.get(q) for q in self.queues}
        liveness.record(
            self.store, self.node, deadline=self.deadline, seen=seen, starved=starved, now=now
        )
        state = liveness.WorkerLiveness(
            self.node,
            now,
            self.deadline,
            [liveness.QueueProof(q, seen[q], starved[q]) for q in self.queues],
        )
        return state.overdue(now)


_watchdog: Watchdog | None = None
_leaving = threading.Event()


@worker_ready.connect
def _start(sender: Any, **_: Any) -> None:
    global _watchdog
    settings = get_settings()
    deadline = settings.worker_liveness_deadline_seconds
    if not deadline:
        return  # turned off
    queues = sorted(sender.app.amqp.queues.consume_from)
    concurrency = int(getattr(sender.controller, "concurrency", 1) or 1)
    _watchdog = Watchdog(
        node=sender.hostname,
        queues=queues,
        deadline=deadline,
        store=redis.Redis.from_url(settings.redis_url, socket_timeout=5),
        broker=redis.Redis.from_url(settings.effective_broker_url, socket_timeout=5),
        send_canary=_send_canary,
    )
    thread = threading.Thread(
        target=_watch, args=(_watchdog, concurrency), name="liveness", daemon=True
    )
    thread.start()
    log.info(
        "liveness watchdog on %s: exits if %s wait(s) over %.0fs on a free worker",
        sender.hostname,
        ", ".join(queues),
        deadline,
    )


@task_received.connect
def _received(request: Any, **_: Any) -> None:
    _took(request)


@task_revoked.connect
def _discarded(request: Any, expired: bool = False, **_: Any) -> None:
    """An expired message is dropped as the consumer takes it, with no `task_received`:
    a queue of expired polls (a backlog that outlived its messages' expiry) is drained
    at a few hundred a second, and was mistaken for deafness (measured at 1,000
    accounts: 4,000 expired polls, the worker exited as deaf while draining them)."""
    if expired:
        _took(request)


def _took(request: Any) -> None:
    if _watchdog is not None:
        info = getattr(request, "delivery_info", None) or {}
        queue = info.get("routing_key") or info.get("exchange")
        if queue:
            _watchdog.took(queue)


@worker_shutdown.connect
def _forget(**_: Any) -> None:
    if _watchdog is not None and not _leaving.is_set():
        with contextlib.suppress(redis.RedisError):
            liveness.forget(_watchdog.store, _watchdog.node)


def _watch(watchdog: Watchdog, concurrency: int) -> None:
    from celery.worker import state

    interval = max(0.2, min(5.0, watchdog.deadline / 10))
    down = False
    while True:
        time.sleep(interval)
        busy = len(state.reserved_requests) >= concurrency
        try:
            reason = watchdog.check(busy=busy)
        except redis.RedisError as exc:
            # Nothing to measure against while Redis is away; kombu reconnects meanwhile,
            # and starving is counted afresh once Redis is back.
            watchdog.starved.clear()
            if not down:
                log.warning("liveness watchdog cannot reach Redis: %s", type(exc).__name__)
            down = True
            continue
        down = False
        if reason is not None:
            _leave(watchdog, reason)
            return


def _leave(watchdog: Watchdog, reason: str) -> None:
    """Warm shutdown, then cold, then a hard exit: status 1 each way."""
    from celery.worker import state

    _leaving.set()
    grace = min(10.0, watchdog.deadline / 2)
    log.error(
        "worker %s is deaf: %s (deadline %.0fs). Exiting with status 1 so its supervisor "
        "starts a fresh one (warm shutdown, hard exit after %.0fs)",
        watchdog.node,
        reason,
        watchdog.deadline,
        grace + COLD_SECONDS,
    )
    state.should_stop = EX_FAILURE
    time.sleep(grace)
    state.should_terminate = EX_FAILURE
    time.sleep(COLD_SECONDS)
    log.error("worker %s did not stop in time: hard exit", watchdog.node)
    for pid in _children():
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    os._exit(EX_FAILURE)


def _children() -> list[int]:
    """The pool processes (a hard exit must not leave them behind)."""
    pid = os.getpid()
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        with contextlib.suppress(OSError, ValueError):
            found += [int(p) for p in (task / "children").read_text().split()]
    return found


def _send_canary(queue: str) -> None:
    """In a thread of its own: a publish that hangs on a broken connection must not stop
    the watchdog."""

    def send() -> None:
        try:
            canary.apply_async(
                queue=queue,
                expires=get_settings().worker_liveness_deadline_seconds,
                add_to_parent=False,
            )
        except Exception as exc:  # the broker is away: the next round sends another
            log.info("canary for %s not sent: %s", queue, type(exc).__name__)

    threading.Thread(target=send, name=f"canary-{queue}", daemon=True).start()
