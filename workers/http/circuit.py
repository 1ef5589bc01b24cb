"""A circuit breaker per (system, vendor account), shared by every worker through Redis.

::

    closed ── ``threshold`` consecutive failures (5xx, timeout, reset) ──► open
    open ──── every call raises `CircuitOpen` (the job parks until the cooldown ends)
              without reaching the vendor
    cooldown over ──► the next call is the trial: a success closes the circuit, a
              failure opens it again at once (the failure count is still at threshold)

Consecutive means across processes: any answer below 500 from the vendor resets the
count. The count forgets itself after ``window`` seconds without failures, so sparse
failures over a day never add up to an outage.
"""

from __future__ import annotations

import contextlib
import logging
from datetime import UTC, datetime, timedelta

import redis

from workers.errors import CircuitOpen

log = logging.getLogger(__name__)

# INCR the failure count (kept for `window` ms); at the threshold, open for `cooldown` ms.
# Returns 1 when this failure opened the circuit (so it is announced once).
_FAILED = """
local count = redis.call('INCR', KEYS[1])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
if count >= tonumber(ARGV[1]) then
  if redis.call('SET', KEYS[2], '1', 'PX', ARGV[3], 'NX') then return 1 end
end
return 0
"""


def open_key(system: str, account: str) -> str:
    """The Redis key that exists while the circuit of (system, vendor account) is open."""
    return f"cb:{{{system}:{account}}}:open"


class Circuit:
    def __init__(
        self,
        client: redis.Redis,
        system: str,
        account: str,
        *,
        threshold: int,
        cooldown_seconds: float,
        window_seconds: float = 300.0,
    ) -> None:
        self.system = system
        self.account = account
        self.threshold = threshold
        self.cooldown_ms = max(1, int(cooldown_seconds * 1000))
        self.window_ms = max(self.cooldown_ms, int(window_seconds * 1000))
        tag = f"cb:{{{system}:{account}}}"
        self._failures_key = f"{tag}:failures"
        self._open_key = open_key(system, account)
        self._client = client
        self._failed = client.register_script(_FAILED)

    def check(self) -> None:
        """Raise `CircuitOpen` while the circuit is open (no call reaches the vendor).
        Redis trouble never blocks a call here: the rate budget reports it right after."""
        left = self.open_for()
        if left > 0:
            raise CircuitOpen(
                f"{self.system} has failed {self.threshold} times in a row for this account; "
                f"calls pause for {left:.0f} s before one is tried again",
                until=datetime.now(UTC) + timedelta(seconds=left),
                system=self.system,
            )

    def open_for(self) -> float:
        """Seconds the circuit stays open (0: closed, or Redis could not say)."""
        if self.threshold <= 0:
            return 0.0
        try:
            left_ms = int(self._client.pttl(self._open_key))
        except redis.RedisError:
            return 0.0
        return max(left_ms, 0) / 1000.0

    def failure(self) -> None:
        if self.threshold <= 0:
            return
        keys = [self._failures_key, self._open_key]
        args = [self.threshold, self.window_ms, self.cooldown_ms]
        try:
            opened = self._failed(keys=keys, args=args)
        except redis.RedisError:
            return  # the call's own error is what matters to the caller
        if opened:
            log.warning(
                "%s account %s: circuit open for %.0f s after %s consecutive failures",
                self.system,
                self.account,
                self.cooldown_ms / 1000,
                self.threshold,
            )

    def success(self) -> None:
        if self.threshold > 0:
            with contextlib.suppress(redis.RedisError):
                self._client.delete(self._failures_key)
