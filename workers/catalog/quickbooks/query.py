"""QBO query text: literal escaping and the statements the catalog sends (§2.5).

A string literal is single-quoted; a backslash escapes the next character. So escaping
is backslash first, then quote: ``O'Brien\\x`` → ``'O\\'Brien\\\\x'``. Nothing else is
special inside ``=`` comparisons (``%`` and ``_`` only mean something to ``LIKE``, which
the catalog never uses for SKUs).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

PAGE = 1000  # QBO's MAXRESULTS ceiling
# QBO documents no limit on a query's text (it goes in the request body); a list of
# literals up to 20 KB keeps a statement far from any limit a proxy may set. A SKU is up
# to 100 characters (200 once escaped): a list holds 100 of the longest, and up to
# `PAGE` of a usual ten.
IN_TEXT_BUDGET = 20_000
INCLUDE_INACTIVE = "Active IN (true, false)"


def literal(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def in_groups(values: Sequence[str]) -> list[list[str]]:
    """``values`` packed into ``IN (…)`` lists of at most `IN_TEXT_BUDGET` characters and
    `PAGE` values: one query for a chunk's 400 SKUs or ids, however long the odd one."""
    groups: list[list[str]] = []
    group: list[str] = []
    size = 0
    for value in values:
        cost = len(literal(value)) + 2
        if group and (size + cost > IN_TEXT_BUDGET or len(group) >= PAGE):
            groups.append(group)
            group, size = [], 0
        group.append(value)
        size += cost
    if group:
        groups.append(group)
    return groups


def timestamp(moment: datetime) -> str:
    """A datetime literal QBO accepts (ISO-8601 with offset, whole seconds)."""
    return literal(moment.astimezone(UTC).replace(microsecond=0).isoformat())


def select_items(
    conditions: Sequence[str],
    *,
    order: str | None = None,
    start: int = 1,
    page: int | None = None,
) -> str:
    text = "SELECT * FROM Item"
    if conditions:
        text += " WHERE " + " AND ".join(conditions)
    if order:
        text += f" ORDERBY {order}"
    return text + f" STARTPOSITION {start} MAXRESULTS {page or PAGE}"


def by_sku(sku: str, *, include_inactive: bool) -> str:
    conditions = [f"Sku = {literal(sku)}"]
    if include_inactive:
        conditions.append(INCLUDE_INACTIVE)
    return select_items(conditions)


def by_skus(skus: Sequence[str], *, include_inactive: bool, start: int = 1) -> str:
    listed = ", ".join(literal(s) for s in skus)
    conditions = [f"Sku IN ({listed})"]
    if include_inactive:
        conditions.append(INCLUDE_INACTIVE)
    # Several items may share a SKU, so a group can outgrow a page: paging by offset needs
    # a fixed order, or one page may repeat what another skipped.
    return select_items(conditions, order="Id", start=start)


def by_name(name: str) -> str:
    return select_items([f"Name = {literal(name)}", INCLUDE_INACTIVE])


def by_ids(ids: Sequence[str]) -> str:
    listed = ", ".join(literal(i) for i in ids)
    return select_items([f"Id IN ({listed})", INCLUDE_INACTIVE])
