"""One vendor call, the way every connector makes it.

Order per call: refuse while the account's circuit is open (`workers.http.circuit`) →
take a slot from the shared rate budget (which honours the account's
``blocked_until``) → attach the current bearer token → send with timeouts → classify.
A 401 gets exactly one refresh-and-replay when the token source can refresh (QBO);
a vendor wait (429, 423, 477, daily quota) is written to ``blocked_until`` so every
worker of the account holds off. Nothing else is retried here.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

import requests

from workers import metrics
from workers.auth.source import TokenSource
from workers.errors import ParkedError, RetryableError, SyncError, TransientError
from workers.http.circuit import Circuit
from workers.http.transport import Timeouts, bearer, send
from workers.ratelimit.budget import RateBudget

log = logging.getLogger(__name__)

Classifier = Callable[[requests.Response], SyncError | None]
# Statuses whose wait applies to the whole account, not just this request.
_ACCOUNT_WIDE = (423, 429, 477)


class VendorCaller:
    def __init__(
        self,
        system: str,
        base_url: str,
        *,
        tokens: TokenSource,
        budget: RateBudget,
        timeouts: Timeouts,
        classify: Classifier,
        replay_on_401: bool,
        pause_hint: Callable[[requests.Response], float | None] | None = None,
        circuit: Circuit | None = None,
    ) -> None:
        self.system = system
        self.base_url = base_url.rstrip("/")
        self.tokens = tokens
        self.budget = budget
        self.timeouts = timeouts
        self._classify = classify
        self._replay_on_401 = replay_on_401
        self._pause_hint = pause_hint
        self.circuit = circuit

    def call(
        self,
        method: str,
        path: str,
        *,
        op: str = "default",
        params: Mapping[str, Any] | None = None,
        json_body: Any = None,
        text_body: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> requests.Response:
        """The successful response; any failure raises a classified `SyncError`."""
        state = self.tokens.token()
        replayed = False
        while True:
            if self.circuit is not None:
                self.circuit.check()
            with self.budget.slot(op):
                try:
                    response = send(
                        self.system,
                        method,
                        self.base_url + path,
                        timeouts=self.timeouts,
                        auth=bearer(state.access_token),
                        params=params,
                        json_body=json_body,
                        text_body=text_body,
                        headers=headers,
                    )
                except TransientError:  # timeout, reset, truncated answer
                    self._count(failed=True)
                    metrics.vendor_call(self.system, self.budget.account, method, path, op, None)
                    raise
            self._count(failed=response.status_code >= 500)
            status = response.status_code
            metrics.vendor_call(self.system, self.budget.account, method, path, op, status)
            if response.status_code == 401 and self._replay_on_401 and not replayed:
                fresh = self.tokens.after_unauthorized(state)
                if fresh is not None:
                    log.info(
                        "%s %s: 401, replaying once with a refreshed token",
                        self.system,
                        path.split("?")[0],
                    )
                    state, replayed = fresh, True
                    continue
            pause = self._pause_hint(response) if self._pause_hint else None
            if pause:
                self.budget.block(pause)
            error = self._classify(response)
            if error is None:
                return response
            self._spread_wait(error)
            raise error

    def wait_for(self, op: str = "default") -> float:
        """Seconds until a call of ``op`` could be sent: the open circuit's rest, or the
        shared budget's wait. A hint that reserves nothing."""
        open_for = self.circuit.open_for() if self.circuit is not None else 0.0
        return max(open_for, self.budget.available_in(op))

    def _count(self, *, failed: bool) -> None:
        if self.circuit is None:
            return
        if failed:
            self.circuit.failure()
        else:
            self.circuit.success()

    def _spread_wait(self, error: SyncError) -> None:
        seconds: float | None = None
        if isinstance(error, ParkedError) and error.until is not None:
            if error.status in _ACCOUNT_WIDE:  # a 401 park is this token's, not everyone's
                seconds = (error.until - datetime.now(UTC)).total_seconds()
        elif isinstance(error, RetryableError) and error.status in _ACCOUNT_WIDE:
            seconds = error.retry_after
        if seconds is not None and seconds > 0:
            self.budget.block(seconds)
