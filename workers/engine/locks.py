"""Redis locks with expiry, owner tokens and fencing numbers.

A lock is ``SET key token NX PX ttl``; release and extension only act while the key still
holds our token (a Lua compare-and-act), so an expired holder never frees someone else's
lock. Every acquisition also draws a fencing number (``INCR``) that only grows, so a
holder can check it is still the newest before acting (`still_held`).

Keys never contain SKUs or other user data verbatim (hashed), so Redis keys stay short
and printable whatever a SKU contains.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Sequence

import redis

PREFIX = "productsync:lock:"

_RELEASE = """
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end
return 0
"""
_EXTEND = """
if redis.call('get', KEYS[1]) == ARGV[1] then
  return redis.call('pexpire', KEYS[1], ARGV[2])
end
return 0
"""


class RedisLock:
    """One named lock. Not re-entrant; use one instance per holder."""

    def __init__(self, client: redis.Redis, name: str, *, ttl_seconds: float) -> None:
        self.client = client
        self.key = PREFIX + name
        self.ttl_ms = max(int(ttl_seconds * 1000), 1)
        self.token = uuid.uuid4().hex
        self.fence: int | None = None

    def acquire(self) -> bool:
        if not self.client.set(self.key, self.token, nx=True, px=self.ttl_ms):
            return False
        self.fence = int(self.client.incr(self.key + ":fence"))
        return True

    def still_held(self) -> bool:
        """True while the key holds our token (and so no newer holder exists)."""
        value = self.client.get(self.key)
        return value is not None and value.decode() == self.token

    def extend(self) -> bool:
        return bool(self.client.eval(_EXTEND, 1, self.key, self.token, self.ttl_ms))

    def release(self) -> bool:
        released = bool(self.client.eval(_RELEASE, 1, self.key, self.token))
        self.fence = None
        return released


def poll_lock(client: redis.Redis, account_id: int, *, ttl_seconds: float) -> RedisLock:
    return RedisLock(client, f"poll:{account_id}", ttl_seconds=ttl_seconds)


def sku_lock(client: redis.Redis, account_id: int, sku: str, *, ttl_seconds: float) -> RedisLock:
    digest = hashlib.sha256(sku.encode()).hexdigest()[:32]
    return RedisLock(client, f"sku:{account_id}:{digest}", ttl_seconds=ttl_seconds)


def acquire_all(client: redis.Redis, locks: Sequence[RedisLock]) -> list[bool]:
    """`RedisLock.acquire` for many locks in two round trips; True where taken."""
    if not locks:
        return []
    pipe = client.pipeline(transaction=False)
    for lock in locks:
        pipe.set(lock.key, lock.token, nx=True, px=lock.ttl_ms)
    taken = [bool(ok) for ok in pipe.execute()]
    ours = [lock for lock, ok in zip(locks, taken, strict=True) if ok]
    for lock in ours:
        pipe.incr(lock.key + ":fence")
    for lock, fence in zip(ours, pipe.execute(), strict=True):
        lock.fence = int(fence)
    return taken


def still_held_all(client: redis.Redis, locks: Sequence[RedisLock]) -> list[bool]:
    """`RedisLock.still_held` for many locks in one round trip."""
    if not locks:
        return []
    values = client.mget([lock.key for lock in locks])
    return [
        v is not None and v.decode() == lock.token for lock, v in zip(locks, values, strict=True)
    ]


def release_all(client: redis.Redis, locks: Sequence[RedisLock]) -> None:
    """`RedisLock.release` for many locks in one round trip."""
    if not locks:
        return
    pipe = client.pipeline(transaction=False)
    for lock in locks:
        pipe.eval(_RELEASE, 1, lock.key, lock.token)
        lock.fence = None
    pipe.execute()
