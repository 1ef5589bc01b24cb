"""At most one poll per account waits in the `poll` queue or runs.

Beat's tick sends a poll to every due account, and an account stays due until its poll
has finished. When the queue is slower than the tick (a thousand accounts, a backlog
after a restart), ticks queue behind the polls they sent, then run back to back and
each sends every account's poll again: measured at 1,000 accounts, five ticks taken at
once sent 4,250 polls for 1,000 accounts, and the duplicates pushed every account's
next poll further back. So the tick marks an account when it sends its poll (``SET NX``
with the poll message's expiry as the mark's) and skips the accounts already marked;
the poll clears the mark when it ends. A mark whose poll was lost (an expired message,
a killed worker) lapses with its expiry, so the account is polled again one expiry
later at the latest; a Redis that comes back empty has lost the marks with the messages.
The poll lock (`locks.poll_lock`) still keeps two polls of one account from overlapping.
"""

from __future__ import annotations

from collections.abc import Iterable

import redis

PREFIX = "productsync:poll-sent:"


def claim(client: redis.Redis, account_ids: Iterable[int], *, ttl_seconds: float) -> list[int]:
    """Mark each account's poll as sent; returns the accounts marked now (in order),
    leaving out those whose earlier poll is still queued or running. One round trip."""
    ids = list(account_ids)
    if not ids:
        return []
    ttl_ms = max(int(ttl_seconds * 1000), 1)
    pipe = client.pipeline(transaction=False)
    for account_id in ids:
        pipe.set(f"{PREFIX}{account_id}", 1, nx=True, px=ttl_ms)
    return [a for a, marked in zip(ids, pipe.execute(), strict=True) if marked]


def release(client: redis.Redis, account_id: int) -> None:
    """The account's poll is over: the next tick that finds it due may send another."""
    client.delete(f"{PREFIX}{account_id}")
