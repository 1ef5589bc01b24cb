"""Announcing jobs from inside a running task (poll, sweep, full sync) over a real broker:
every message is sent, and the task keeps nothing per message it sent."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator

import pytest
import redis
from celery._state import _task_stack

from tasks.dispatch import announce, announce_chunks, announce_grouped
from tasks.sync import poll
from workers.engine import Dispatch


@pytest.fixture
def inside_a_task() -> Iterator[list[object]]:
    """As the worker runs a task: on the task stack, with a request not called directly.
    Yields the request's children (Celery's trail of results of messages it sent)."""
    poll.push_request(id="poll-under-test", called_directly=False)
    _task_stack.push(poll)
    try:
        yield poll.request.children
    finally:
        _task_stack.pop()
        poll.pop_request()


def test_a_task_announcing_jobs_keeps_no_result_per_message(
    broker: redis.Redis, inside_a_task: list[object]
) -> None:
    jobs = [Dispatch(n, "sync") for n in range(1, 6)]
    assert announce(jobs) == 5
    assert announce_chunks([Dispatch(n, "bulk") for n in range(1, 8)], 3) == 7
    # Without a result backend the trail is useless, and a poll announcing 100,000 jobs
    # kept 100,000 results until it returned (the poller's memory grew with the window).
    assert inside_a_task == []
    assert broker.llen("sync") == 5 and broker.llen("bulk") == 3


def test_swept_jobs_of_a_run_go_out_as_chunks_of_their_run(broker: redis.Redis) -> None:
    swept = [
        Dispatch(1, "bulk", 7),
        Dispatch(2, "sync"),
        Dispatch(3, "bulk", 8),
        Dispatch(4, "bulk", 7),
        Dispatch(5, "bulk"),  # a retry of a product of no run: on its own
    ]
    assert announce_grouped(swept, 100) == 5
    sent = [_task_and_args(raw) for raw in broker.lrange("bulk", 0, -1)]
    assert sorted(sent) == sorted(
        [
            ("productsync.sync_chunk", [[1, 4]]),
            ("productsync.sync_chunk", [[3]]),
            ("productsync.sync_product", [5]),
        ]
    )
    assert [_task_and_args(raw) for raw in broker.lrange("sync", 0, -1)] == [
        ("productsync.sync_product", [2])
    ]


def test_swept_jobs_of_a_poll_go_out_as_chunks_of_its_run_after_their_countdown(
    broker: redis.Redis,
) -> None:
    swept = [Dispatch(1, "sync", 9), Dispatch(2, "sync"), Dispatch(3, "sync", 9)]
    assert announce_grouped(swept, 100, countdown=3) == 3
    raw = broker.lrange("sync", 0, -1)
    assert sorted(_task_and_args(r) for r in raw) == [
        ("productsync.sync_chunk", [[1, 3]]),
        ("productsync.sync_product", [2]),
    ]
    assert all(json.loads(r)["headers"]["eta"] for r in raw)  # not before they are due


def _task_and_args(raw: bytes) -> tuple[str, list[object]]:
    message = json.loads(raw)
    args, _, _ = json.loads(base64.b64decode(message["body"]))
    return message["headers"]["task"], args
