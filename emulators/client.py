"""`EmulatorAdmin`: a small Python client of an emulator's admin API (see
`emulators.core.admin`), for tests, benchmarks and the demo."""

from __future__ import annotations

from typing import Any, TypedDict, Unpack

import requests

PREFIX = "/__emulator__/"


class LedgerFilters(TypedDict, total=False):
    """Ledger filters: entries after ``since``; ``path`` is a regular expression."""

    since: int
    kind: str
    path: str
    account: str
    method: str


class EmulatorAdminError(RuntimeError):
    """The admin API refused a request; the message is its ``error`` text."""


class EmulatorAdmin:
    def __init__(self, base_url: str, *, timeout: float = 10.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self._session = requests.Session()

    def call(self, method: str, route: str, /, *, json: Any = None, **params: Any) -> Any:
        """Any admin route; ``route`` is relative to the prefix (e.g. ``"hubspot/portals"``).
        Returns the decoded JSON body (None for 204)."""
        query = {k: v for k, v in params.items() if v is not None}
        response = self._session.request(
            method,
            f"{self.base_url}{PREFIX}{route.lstrip('/')}",
            json=json,
            params=query,
            timeout=self.timeout,
        )
        if response.status_code >= 400:
            try:
                message = response.json().get("error", response.text)
            except ValueError:
                message = response.text
            raise EmulatorAdminError(f"{method} {route}: {response.status_code} {message}")
        return response.json() if response.content else None

    def vendor(self, method: str, route: str, /, *, json: Any = None, **params: Any) -> Any:
        """A vendor admin route, e.g. ``vendor("POST", "hubspot/portals", json={...})``."""
        return self.call(method, route, json=json, **params)

    def health(self) -> dict[str, Any]:
        return self.call("GET", "health")

    def ledger(self, **filters: Unpack[LedgerFilters]) -> list[dict[str, Any]]:
        """Ledger entries (oldest first) matching the filters."""
        return self.call("GET", "ledger", **filters)["entries"]

    def last_seq(self) -> int:
        """The newest sequence number: pass it as ``since`` to see only later requests."""
        return int(self.call("GET", "ledger/counts", since=2**62)["last_seq"])

    def counts(self, **filters: Unpack[LedgerFilters]) -> dict[str, int]:
        """Requests per kind matching the filters, e.g. ``{"read": 3, "write": 1}``."""
        return self.call("GET", "ledger/counts", **filters)["counts"]

    def clear_ledger(self) -> None:
        self.call("DELETE", "ledger")

    def add_fault(self, action: str, path: str = ".*", **rule: Any) -> dict[str, Any]:
        """Queue a scripted fault, e.g. ``add_fault("status", "/products$", status=429,
        headers={"Retry-After": "1"}, times=2)``; returns the rule with its ``id``."""
        return self.call("POST", "faults", json={"action": action, "path": path, **rule})

    def faults(self) -> list[dict[str, Any]]:
        return self.call("GET", "faults")["faults"]

    def remove_fault(self, rule_id: int) -> None:
        self.call("DELETE", f"faults/{rule_id}")

    def clear_faults(self) -> None:
        self.call("DELETE", "faults")

    def knobs(self) -> dict[str, Any]:
        return self.call("GET", "knobs")

    def set_knobs(self, **changes: Any) -> dict[str, Any]:
        return self.call("PATCH", "knobs", json=changes)

    def reset(self) -> None:
        self.call("POST", "reset")

    def close(self) -> None:
        self._session.close()
