"""Where a connector gets its bearer token: cached per process, refreshed ahead of
expiry, and refreshed once more when the vendor answers 401 (the replay is the caller's)."""

from __future__ import annotations

import threading
from collections.abc import Callable

from workers.auth.oauth import TokenGrant
from workers.auth.store import CredentialStore, TokenState
from workers.secret import Secret


class TokenSource:
    def __init__(
        self,
        store: CredentialStore,
        account_id: int,
        system: str,
        refresher: Callable[[Secret], TokenGrant],
    ) -> None:
        self.store = store
        self.account_id = account_id
        self.system = system
        self._refresher = refresher
        self._state: TokenState | None = None
        self._lock = threading.Lock()

    def token(self) -> TokenState:
        """A token good for at least the refresh skew (proactive refresh)."""
        with self._lock:
            state = self._state
            if state is None or state.expiring():
                state = self.store.load(self.account_id, self.system)
                if state.kind == "oauth" and state.expiring():
                    state = self._refresh(state.version)
                self._state = state
            return state

    def after_unauthorized(self, used: TokenState) -> TokenState | None:
        """The vendor refused ``used``: a newer token to replay with, or None when there
        is nothing to refresh (private-app token)."""
        with self._lock:
            if used.kind != "oauth":
                return None
            self._state = self._refresh(used.version)
            return self._state

    def _refresh(self, seen_version: int) -> TokenState:
        return self.store.refresh(
            self.account_id, self.system, seen_version=seen_version, refresher=self._refresher
        )
