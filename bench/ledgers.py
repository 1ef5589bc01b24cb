"""Reading both emulators' request ledgers for one measured interval."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bench.calls import Tally, tally
from emulators.client import EmulatorAdmin

Mark = dict[str, int]


class Ledgers:
    """The two emulators' ledgers, by system name (``hubspot``, ``quickbooks``)."""

    def __init__(self, admins: Mapping[str, EmulatorAdmin]) -> None:
        self.admins = dict(admins)

    def mark(self) -> Mark:
        """Where every ledger stands now; pass it to `since` after the interval."""
        return {system: admin.last_seq() for system, admin in self.admins.items()}

    def entries(self, mark: Mark, system: str, **filters: Any) -> list[dict[str, Any]]:
        return self.admins[system].ledger(since=mark[system], **filters)

    def since(self, mark: Mark) -> dict[str, Tally]:
        """Calls per system made after ``mark``."""
        return {system: tally(self.entries(mark, system)) for system in self.admins}
