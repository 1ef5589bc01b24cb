"""Webhook jobs gathered per account for a moment, then run as one chunk.

Vendors push each change within seconds, usually one event a delivery: announced as they
come, every edit would cost its own reads, SKU searches and write (about four calls).
Gathered for `Settings.webhook_coalesce_seconds`, the edits of that moment share them, as
a poll's page does, for that much latency.

Redis holds the gathering: a list of job ids per account and a flag whose holder owes one
`flush` after the window. The flush clears the flag and takes the list in one MULTI, so a
delivery that comes meanwhile either lands in the list being taken or sets the flag anew
and announces the next flush; nothing is left behind. The job rows are committed first
(pending), so if Redis loses a list the sweeper announces those jobs anyway.
"""

from __future__ import annotations

from collections.abc import Sequence

import redis

_JOBS = "productsync:webhook-jobs:"
_FLAG = "productsync:webhook-flush:"
# The flag outlives a lost flush message by this many windows at most (then a later
# delivery announces a flush again; the sweeper is the backstop for the jobs).
_FLAG_WINDOWS = 5


def gather(client: redis.Redis, account_id: int, job_ids: Sequence[int], window: float) -> bool:
    """Add ``job_ids`` to the account's gathering; True when the caller must announce the
    flush (in ``window`` seconds)."""
    flag_ms = max(int(window * 1000 * _FLAG_WINDOWS), 1000)
    pipe = client.pipeline(transaction=True)
    pipe.rpush(_JOBS + str(account_id), *job_ids)
    pipe.expire(_JOBS + str(account_id), max(int(window * _FLAG_WINDOWS * 10), 60))
    pipe.set(_FLAG + str(account_id), 1, nx=True, px=flag_ms)
    return bool(pipe.execute()[-1])


def take(client: redis.Redis, account_id: int) -> list[int]:
    """The account's gathered job ids, now; the next delivery starts a new gathering."""
    pipe = client.pipeline(transaction=True)
    pipe.delete(_FLAG + str(account_id))
    pipe.lrange(_JOBS + str(account_id), 0, -1)
    pipe.delete(_JOBS + str(account_id))
    return [int(i) for i in pipe.execute()[1]]
