"""Worker liveness: the proof, kept in Redis, that each worker still takes messages from
each queue it serves, and the verdict on it.

A worker is *deaf* on a queue when messages wait in that queue, the worker has a free
process to run one, and yet its consumer takes none of them. That is the state the
kombu wedge after a Redis restart leaves a worker in (celery/celery#8030: alive, answering
control pings, consuming nothing), and no ping can see it: the control channel is a
different consumer. Its watchdog (`tasks.liveness`) measures exactly that, from inside
the worker, and writes what it sees here every few seconds, one hash per worker::

    productsync:liveness:<node>   beat        the watchdog's last write (epoch seconds)
                                  deadline    its lapse deadline (seconds)
                                  seen:<q>    last message its consumer took from <q>
                                  starved:<q> since when <q> has waited on it (absent: not)

The hash expires after a few deadlines, so a worker that is gone drops out of the list.
`overdue` is the verdict `productsync status`, the web page and the docker-compose
health check (`productsync worker-health`) share.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field

import redis

PREFIX = "productsync:liveness:"
KEEP_DEADLINES = 5  # a silent worker's record outlives it this many deadlines
# Celery's Redis transport keeps a queue's messages with a priority in lists of their own.
_PRIORITY_SEP = "\x06\x16"
_PRIORITIES = range(1, 10)


@dataclass(frozen=True)
class QueueProof:
    queue: str
    seen: float | None  # epoch seconds of the last message taken
    starved_since: float | None  # work waiting on a free worker since (None: not starving)


@dataclass(frozen=True)
class WorkerLiveness:
    node: str
    beat: float
    deadline: float
    queues: list[QueueProof] = field(default_factory=list)

    def overdue(self, now: float | None = None) -> str | None:
        """Why this worker has stopped proving it consumes, or None while it proves it."""
        now = time.time() if now is None else now
        if now - self.beat > self.deadline:
            return f"its watchdog has been silent for {now - self.beat:.0f}s"
        for proof in self.queues:
            if proof.starved_since is not None and now - proof.starved_since > self.deadline:
                return (
                    f"messages have waited in {proof.queue!r} for "
                    f"{now - proof.starved_since:.0f}s while it took none"
                )
        return None

    def as_json(self, now: float | None = None) -> dict[str, object]:
        now = time.time() if now is None else now
        return {
            "worker": self.node,
            "watchdog_seconds_ago": round(now - self.beat, 1),
            "deadline_seconds": self.deadline,
            "queues": {
                p.queue: {
                    "last_taken_seconds_ago": None if p.seen is None else round(now - p.seen, 1),
                    "starving_seconds": None
                    if p.starved_since is None
                    else round(now - p.starved_since, 1),
                }
                for p in self.queues
            },
            "overdue": self.overdue(now),
        }


def record(
    client: redis.Redis,
    node: str,
    *,
    deadline: float,
    seen: Mapping[str, float | None],
    starved: Mapping[str, float | None],
    now: float | None = None,
) -> None:
    """Write what the watchdog saw (one round trip)."""
    now = time.time() if now is None else now
    key = PREFIX + node
    fields: dict[str, str] = {"beat": repr(now), "deadline": repr(deadline)}
    for queue, at in seen.items():
        fields[f"seen:{queue}"] = "" if at is None else repr(at)
    for queue, since in starved.items():
        fields[f"starved:{queue}"] = "" if since is None else repr(since)
    pipe = client.pipeline()
    pipe.hset(key, mapping=fields)
    pipe.expire(key, max(int(deadline * KEEP_DEADLINES), 10))
    pipe.execute()


def forget(client: redis.Redis, node: str) -> None:
    """A worker that stops cleanly takes its record with it."""
    client.delete(PREFIX + node)


def read(client: redis.Redis, node: str) -> WorkerLiveness | None:
    raw = client.hgetall(PREFIX + node)
    return _parse(node, raw) if raw else None


def read_all(client: redis.Redis) -> list[WorkerLiveness]:
    found = []
    for key in sorted(client.scan_iter(match=PREFIX + "*", count=500)):
        node = key.decode()[len(PREFIX) :]
        worker = read(client, node)
        if worker is not None:
            found.append(worker)
    return found


def waiting(client: redis.Redis, queues: list[str]) -> dict[str, int]:
    """Messages waiting in each queue (Redis LLEN, every priority), as the broker's Redis
    holds them."""
    pipe = client.pipeline(transaction=False)
    for queue in queues:
        for key in (queue, *(f"{queue}{_PRIORITY_SEP}{p}" for p in _PRIORITIES)):
            pipe.llen(key)
    counts = pipe.execute()
    per = 1 + len(_PRIORITIES)
    return {q: sum(counts[i * per : (i + 1) * per]) for i, q in enumerate(queues)}


def _parse(node: str, raw: Mapping[bytes, bytes]) -> WorkerLiveness:
    fields = {k.decode(): v.decode() for k, v in raw.items()}
    names = sorted({k.split(":", 1)[1] for k in fields if k.startswith(("seen:", "starved:"))})
    return WorkerLiveness(
        node=node,
        beat=float(fields.get("beat") or 0.0),
        deadline=float(fields.get("deadline") or 0.0),
        queues=[
            QueueProof(q, _number(fields.get(f"seen:{q}")), _number(fields.get(f"starved:{q}")))
            for q in names
        ],
    )


def _number(value: str | None) -> float | None:
    return float(value) if value else None
