"""What `productsync status` says about webhooks, kept in Redis hashes (like the metrics
counters: cheap on every delivery, and a Redis restart only resets them):

``webhooks:account:<id>``  ``last_at`` (ISO, the last verified delivery naming the account),
                           ``events`` (turned into jobs), ``dropped``, ``refused``
                           (deliveries naming the account that failed verification),
                           ``last_refused_at``, ``last_refused_reason``
``webhooks:vendor:<name>`` ``refused``, ``unknown`` (events for no account), ``last_at``

Writing them never fails a delivery: a Redis error is logged and the counts skip a beat.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime
from typing import Any

import redis

from workers.webhooks.intake import Intake

log = logging.getLogger(__name__)


def account_key(account_id: int) -> str:
    return f"webhooks:account:{account_id}"


def vendor_key(system: str) -> str:
    return f"webhooks:vendor:{system}"


def note_intake(client: redis.Redis, system: str, intake: Intake, at: datetime) -> None:
    stamp = at.isoformat()
    try:
        pipe = client.pipeline(transaction=False)
        for account_id in set(intake.accepted) | set(intake.dropped):
            key = account_key(account_id)
            pipe.hset(key, "last_at", stamp)
            pipe.hincrby(key, "events", intake.accepted[account_id])
            pipe.hincrby(key, "dropped", intake.dropped[account_id])
        pipe.hset(vendor_key(system), "last_at", stamp)
        if intake.unknown:
            pipe.hincrby(vendor_key(system), "unknown", intake.unknown)
        pipe.execute()
    except redis.RedisError as exc:
        log.warning("webhook counts not kept: %s", type(exc).__name__)


def note_refused(
    client: redis.Redis, system: str, account_ids: Iterable[int], reason: str, at: datetime
) -> None:
    try:
        pipe = client.pipeline(transaction=False)
        pipe.hincrby(vendor_key(system), "refused", 1)
        for account_id in set(account_ids):
            key = account_key(account_id)
            pipe.hincrby(key, "refused", 1)
            pipe.hset(key, mapping={"last_refused_at": at.isoformat(),
                                    "last_refused_reason": reason})
        pipe.execute()
    except redis.RedisError as exc:
        log.warning("webhook refusal not counted: %s", type(exc).__name__)


def account_stats(client: redis.Redis, account_id: int) -> dict[str, Any] | None:
    """The account's webhook record; None when Redis cannot be read."""
    try:
        raw = client.hgetall(account_key(account_id))
    except redis.RedisError:
        return None
    data = {k.decode(): v.decode() for k, v in raw.items()}  # type: ignore[union-attr]
    return {
        "last_at": datetime.fromisoformat(data["last_at"]) if "last_at" in data else None,
        "events": int(data.get("events", 0)),
        "dropped": int(data.get("dropped", 0)),
        "refused": int(data.get("refused", 0)),
        "last_refused_at": (
            datetime.fromisoformat(data["last_refused_at"]) if "last_refused_at" in data else None
        ),
        "last_refused_reason": data.get("last_refused_reason"),
    }
