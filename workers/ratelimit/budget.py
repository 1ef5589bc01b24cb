"""A rate budget per (system, account) shared by every process on every host, in Redis.

One atomic Lua script decides each request against:

* ``blocked_until``: written from a vendor's Retry-After; every worker honours it;
* rolling windows: a sorted set of request times per window (exact, not approximate).
  A request is dated when its answer came, not when it was sent: the vendor counted it
  somewhere in between, and the time it takes varies by hundreds of milliseconds, so
  dating it at the send let eleven requests into QBO's ten-a-second window. Until the
  answer comes it counts as in flight (in every window, until its lease ends);
* a daily counter: keyed by the account's local date;
* a concurrency gate: a sorted set of leases scored by expiry, so a killed process's
  slot frees itself when its lease runs out.

Time comes from the Redis server (``TIME``), so hosts with skewed clocks agree. When no
slot frees within ``max_wait`` (a couple of seconds) the caller gets ``RateLimited`` with
the wait the script computed; workers never sleep long (Celery re-queues them instead).
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any

import redis
from redis.commands.core import Script

from workers import metrics
from workers.errors import QuotaExhausted, RateLimited, TransientError
from workers.ratelimit.limits import Limits

log = logging.getLogger(__name__)

GRANTED, WAIT, BLOCKED, DAILY_SPENT = 1, 0, 2, 3
CONCURRENCY_POLL_MS = 20

_ACQUIRE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local blocked = tonumber(redis.call('GET', KEYS[1]) or '0')
if blocked > now then return {2, blocked - now} end
local daily_limit = tonumber(ARGV[2])
if daily_limit > 0 and tonumber(redis.call('GET', KEYS[2]) or '0') >= daily_limit then
  return {3, 0}
end
local wait = 0
local windows = #KEYS - 3
for i = 1, windows do
  local key, limit, span = KEYS[3 + i], tonumber(ARGV[6 + 2 * i]), tonumber(ARGV[7 + 2 * i])
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now - span)
  local used = redis.call('ZCARD', key)
  if used >= limit then
    local oldest = redis.call('ZRANGE', key, used - limit, used - limit, 'WITHSCORES')
    local at = tonumber(oldest[2])
    local w = at + span - now
    if at > now then w = tonumber(ARGV[6]) end  -- still in flight: look again shortly
    if w < 1 then w = 1 end
    if w > wait then wait = w end
  end
end
local concurrency = tonumber(ARGV[4])
if concurrency > 0 then
  redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now)
  if redis.call('ZCARD', KEYS[3]) >= concurrency and wait < tonumber(ARGV[6]) then
    wait = tonumber(ARGV[6])
  end
end
if wait > 0 or ARGV[7] == '1' then return {0, wait} end
for i = 1, windows do
  -- In flight until released (then: when the answer came); a caller that dies holds it
  -- until its lease ends.
  redis.call('ZADD', KEYS[3 + i], now + tonumber(ARGV[5]), ARGV[1])
  redis.call('PEXPIRE', KEYS[3 + i], tonumber(ARGV[7 + 2 * i]) + tonumber(ARGV[5]))
end
if daily_limit > 0 then
  redis.call('INCR', KEYS[2])
  redis.call('EXPIRE', KEYS[2], ARGV[3])
end
if concurrency > 0 then
  redis.call('ZADD', KEYS[3], now + tonumber(ARGV[5]), ARGV[1])
  redis.call('PEXPIRE', KEYS[3], ARGV[5])
end
return {1, 0}
"""

_RELEASE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREM', KEYS[1], ARGV[1])
for i = 2, #KEYS do
  redis.call('ZADD', KEYS[i], 'XX', now, ARGV[1])
end
return 1
"""

_BLOCK = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local untilms = now + tonumber(ARGV[1])
if untilms > tonumber(redis.call('GET', KEYS[1]) or '0') then
  redis.call('SET', KEYS[1], untilms, 'PX', ARGV[1])
end
return untilms - now
"""

_REMAINING = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local blocked = tonumber(redis.call('GET', KEYS[1]) or '0')
if blocked > now then return blocked - now end
return 0
"""


class Lease:
    """A granted request slot; `release` (idempotent), once the answer is in, frees the
    concurrency gate and dates the request in its windows to now."""

    def __init__(self, budget: RateBudget, member: str, windows: list[str]) -> None:
        self._budget = budget
        self._member = member
        self._windows = windows
        self._released = False

    def release(self) -> None:
        if not self._released:
            self._released = True
            self._budget._release(self._member, self._windows)


class RateBudget:
    """The shared budget of one (system, account); cheap to build, safe across threads."""

    def __init__(
        self,
        client: redis.Redis,
        system: str,
        account: str,
        limits: Limits,
        *,
        max_wait: float = 2.0,
        local_zone: tzinfo = UTC,
    ) -> None:
        self.system = system
        self.account = account
        self.limits = limits
        self.max_wait = max_wait
        self.local_zone = local_zone
        self._client = client
        tag = f"rl:{{{system}:{account}}}"  # one hash slot per budget (Redis Cluster)
        self._blocked_key = f"{tag}:blocked"
        self._gate_key = f"{tag}:inflight"
        self._prefix = tag
        self._acquire = client.register_script(_ACQUIRE)
        self._release_script = client.register_script(_RELEASE)
        self._block = client.register_script(_BLOCK)
        self._remaining = client.register_script(_REMAINING)

    @contextmanager
    def slot(self, op: str = "default") -> Iterator[None]:
        """Hold one request slot for the duration of the block."""
        lease = self.acquire(op)
        try:
            yield
        finally:
            lease.release()

    def acquire(self, op: str = "default") -> Lease:
        """Wait up to ``max_wait`` for a slot; else raise `RateLimited` (or `QuotaExhausted`
        when the daily cap is spent)."""
        member = uuid.uuid4().hex
        keys, args = self._script_input(op, member, dry=False)
        deadline = time.monotonic() + self.max_wait
        slept = 0.0
        while True:
            status, wait_ms = self._run(self._acquire, keys, args)
            if status == GRANTED:
                if slept:
                    metrics.rate_budget(self.system, "waited", slept)
                return Lease(self, member, keys[3:])
            if status == DAILY_SPENT:
                metrics.rate_budget(self.system, "quota")
                until = self._next_local_midnight()
                raise QuotaExhausted(
                    f"the daily {self.system} API budget of this account is spent; "
                    f"syncing resumes after {until:%Y-%m-%d %H:%M} UTC",
                    until=until,
                    system=self.system,
                )
            wait = wait_ms / 1000.0
            left = deadline - time.monotonic()
            if wait > left:
                metrics.rate_budget(self.system, "refused", slept)
                raise RateLimited(
                    f"the shared {self.system} rate budget of this account is spent "
                    f"({'vendor asked to wait' if status == BLOCKED else op}); "
                    f"retry in {max(wait, 0.05):.2f} s",
                    retry_after=max(wait, 0.05),
                    system=self.system,
                )
            time.sleep(wait)
            slept += wait

    def available_in(self, op: str = "default") -> float:
        """Seconds until a slot for ``op`` could be granted (0: now), taking nothing: a
        hint for callers deciding whether to start work that needs the slot. A spent
        daily budget answers 0 (the call itself then raises `QuotaExhausted`)."""
        keys, args = self._script_input(op, uuid.uuid4().hex, dry=True)
        status, wait_ms = self._run(self._acquire, keys, args)
        return 0.0 if status in (GRANTED, DAILY_SPENT) else wait_ms / 1000.0

    def _script_input(self, op: str, member: str, *, dry: bool) -> tuple[list[str], list[Any]]:
        windows = self.limits.windows(op)
        today = datetime.now(UTC).astimezone(self.local_zone).date()
        keys = [
            self._blocked_key,
            f"{self._prefix}:daily:{today.isoformat()}",
            self._gate_key,
            *(f"{self._prefix}:w:{w.name}" for w in windows),
        ]
        args: list[Any] = [
            member,
            self.limits.daily or 0,
            int(timedelta(days=2).total_seconds()),
            self.limits.concurrency or 0,
            int(self.limits.lease_seconds * 1000),
            CONCURRENCY_POLL_MS,
            "1" if dry else "0",
        ]
        for w in windows:
            args += [w.limit, w.span_ms]
        return keys, args

    def block(self, seconds: float) -> None:
        """Make every worker of this account hold off for ``seconds`` (never shortens)."""
        ms = max(1, int(seconds * 1000))
        self._run(self._block, [self._blocked_key], [ms])
        log.info(
            "%s account %s: blocked for %.1f s (vendor Retry-After)",
            self.system,
            self.account,
            seconds,
        )

    def blocked_for(self) -> float:
        """Seconds left on the account's ``blocked_until``; 0 when not blocked."""
        return float(self._run(self._remaining, [self._blocked_key], [])) / 1000.0

    def in_flight(self) -> int:
        return int(self._client.zcard(self._gate_key))

    def _release(self, member: str, windows: list[str]) -> None:
        try:
            self._release_script(keys=[self._gate_key, *windows], args=[member])
        except redis.RedisError:
            # The lease expires by itself; losing Redis here must not mask the call's result.
            log.warning("%s account %s: could not release a rate lease", self.system, self.account)

    def _run(self, script: Script, keys: list[str], args: list[Any]) -> Any:
        try:
            return script(keys=keys, args=args)
        except redis.RedisError as exc:
            raise TransientError(
                f"the rate-limit store (Redis) is unavailable ({type(exc).__name__}); "
                "retrying later",
                system=self.system,
            ) from None

    def _next_local_midnight(self) -> datetime:
        local = datetime.now(UTC).astimezone(self.local_zone)
        midnight = datetime.combine(
            local.date() + timedelta(days=1), datetime.min.time(), self.local_zone
        )
        return midnight.astimezone(UTC)
