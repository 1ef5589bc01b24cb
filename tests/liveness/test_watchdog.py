"""The worker's liveness watchdog, one round at a time: real Redis, a clock of its own."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import redis

from tasks.liveness import Watchdog
from workers import liveness


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def client(redis_url: str) -> Iterator[redis.Redis]:
    c = redis.Redis.from_url(redis_url)
    c.flushdb()
    yield c
    c.flushdb()
    c.close()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def canaries() -> list[str]:
    return []


@pytest.fixture
def dog(client: redis.Redis, clock: Clock, canaries: list[str]) -> Watchdog:
    return Watchdog(
        node="sync@box",
        queues=["poll", "sync"],
        deadline=10.0,
        store=client,
        broker=client,
        send_canary=canaries.append,
        clock=clock,
    )


def test_messages_waiting_on_a_free_worker_that_takes_none_make_it_deaf(
    dog: Watchdog, client: redis.Redis, clock: Clock
) -> None:
    dog.took("sync")
    client.rpush("sync", "m1")
    assert dog.check(busy=False) is None  # starving starts now
    clock.now += 9
    assert dog.check(busy=False) is None
    clock.now += 2
    reason = dog.check(busy=False)
    assert reason == "messages have waited in 'sync' for 11s while it took none"
    # What status and worker-health read says the same.
    [seen] = liveness.read_all(client)
    assert seen.node == "sync@box" and seen.overdue(clock.now) == reason


def test_a_message_taken_or_a_busy_worker_or_an_empty_queue_is_not_deaf(
    dog: Watchdog, client: redis.Redis, clock: Clock
) -> None:
    client.rpush("sync", "m1")
    dog.check(busy=False)
    clock.now += 8
    dog.took("sync")  # the consumer took one: the clock starts again
    clock.now += 8
    assert dog.check(busy=False) is None
    clock.now += 8
    assert dog.check(busy=True) is None  # every process busy: it cannot take more
    clock.now += 8
    assert dog.check(busy=False) is None  # free again: starving from here
    client.delete("sync")
    clock.now += 30
    assert dog.check(busy=False) is None  # nothing waits: nothing to prove
    client.rpush("sync\x06\x163", "m2")  # a message with a priority waits too
    dog.check(busy=False)
    clock.now += 11
    assert dog.check(busy=False) is not None


def test_an_idle_queue_gets_a_canary_now_and_then(
    dog: Watchdog, client: redis.Redis, clock: Clock, canaries: list[str]
) -> None:
    def send(queue: str) -> None:  # like the real one: the canary waits in the queue
        canaries.append(queue)
        client.rpush(queue, "canary")

    dog.send_canary = send
    dog.check(busy=False)
    assert canaries == ["poll", "sync"]  # nothing taken yet: prove it
    clock.now += 1
    dog.check(busy=False)
    assert canaries == ["poll", "sync"]  # they wait: no more
    client.delete("poll", "sync")
    dog.took("poll")
    dog.took("sync")
    clock.now += 4
    dog.check(busy=False)
    assert canaries == ["poll", "sync"]  # taken lately: proof enough
    client.rpush("poll", "job")
    clock.now += 2
    dog.check(busy=False)
    assert canaries == ["poll", "sync", "sync"]  # poll has real work to prove it by


def test_a_silent_watchdog_is_overdue_and_records_expire(
    dog: Watchdog, client: redis.Redis, clock: Clock
) -> None:
    dog.check(busy=False)
    [seen] = liveness.read_all(client)
    assert seen.overdue(clock.now + 5) is None
    assert seen.overdue(clock.now + 11) == "its watchdog has been silent for 11s"
    assert 0 < client.ttl(liveness.PREFIX + "sync@box") <= 10 * liveness.KEEP_DEADLINES
    report = seen.as_json(clock.now + 2)
    assert report["queues"] == {
        "poll": {"last_taken_seconds_ago": None, "starving_seconds": None},
        "sync": {"last_taken_seconds_ago": None, "starving_seconds": None},
    }


def test_losing_sight_of_redis_starts_the_count_afresh(
    dog: Watchdog, client: redis.Redis, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    import tasks.liveness as watch

    client.rpush("sync", "m1")
    dog.check(busy=False)
    assert dog.starved["sync"] == clock.now
    rounds = iter([redis.ConnectionError("down"), None])

    def check(*, busy: bool) -> str | None:
        outcome = next(rounds)
        if outcome is not None:
            raise outcome
        raise SystemExit  # ends the loop after the round that failed

    monkeypatch.setattr(dog, "check", check)
    monkeypatch.setattr(watch.time, "sleep", lambda _: None)
    with pytest.raises(SystemExit):
        watch._watch(dog, concurrency=2)
    assert dog.starved == {}
