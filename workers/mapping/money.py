"""Money: HubSpot decimal strings ⇄ QuickBooks decimal numbers, never through float.

Rules (docs/what-gets-synced.md, "Prices and costs"):

* Only plain decimal notation is a price: ``17``, ``17.5``, ``-0``, ``.5``; surrounding
  spaces are ignored. Exponents (``1e3``), NaN, Infinity, thousands separators and
  currency symbols are refused as ``invalid_price``.
* Negative → ``negative_price``; above 99,999,999,999 (QuickBooks' limit) →
  ``price_too_large``. Both directions, so a switch of direction never meets a price the
  other side would refuse.
* Toward QuickBooks, more than 7 decimal places are rounded half-to-even to 7 (what
  QuickBooks keeps for unit prices), with a note.
* Toward HubSpot, amounts are written in plain notation with at least two decimals
  (``275.00``, ``1.2345``); comparisons are numeric, so ``17`` and ``17.00`` never differ.
"""

from __future__ import annotations

import re
from decimal import ROUND_HALF_EVEN, Context, Decimal
from typing import Any

from workers.mapping.fields import QBO_MONEY_MAX_TEXT
from workers.mapping.messages import FieldContext

MONEY_MAX = Decimal(QBO_MONEY_MAX_TEXT)
# QuickBooks Online keeps seven decimal places in unit prices and quantities (Breadwinner
# support article "Can Breadwinner handle 7 decimal places?"; single source, so the
# rounding is noted on every product it touches).
QBO_MONEY_PLACES = 7
_QBO_QUANTUM = Decimal(1).scaleb(-QBO_MONEY_PLACES)
_CENTS = Decimal("0.01")
_WIDE = Context(prec=40)  # 11 integer digits + 7 places always fit
_PLAIN = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)")
_EXPONENT = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)[eE][+-]?[0-9]+")


def parse_plain(text: str) -> Decimal | None:
    """A plain decimal string as a `Decimal`, or None when it is not one."""
    stripped = text.strip()
    if not _PLAIN.fullmatch(stripped):
        return None
    return canonical(Decimal(stripped))


def _exact(amount: Decimal) -> Context:
    """Enough precision for every digit of ``amount`` (and two more places): never rounds."""
    return Context(prec=max(28, len(amount.as_tuple().digits) + 3))


def canonical(amount: Decimal) -> Decimal:
    """The same amount with trailing zeros dropped and ``-0`` made ``0``: ``275.00`` → ``275``.

    Equal amounts always give equal canonical values (and equal `str` when no exponent is
    needed), which keeps fingerprints stable.
    """
    if amount == 0:
        return Decimal(0)
    exact = _exact(amount)
    if amount == amount.to_integral_value():
        return amount.quantize(Decimal(1), context=exact)
    return amount.normalize(context=exact)


def money_text(amount: Decimal) -> str:
    """Plain notation with at least two decimals: ``275`` → ``"275.00"``, never ``"1E+2"``."""
    amount = canonical(amount)
    exponent = amount.as_tuple().exponent
    if isinstance(exponent, int) and exponent > -2:
        amount = amount.quantize(_CENTS, context=_exact(amount))
    return format(amount, "f")


def as_amount(value: Any) -> Decimal | None:
    """A value read from either vendor as a canonical amount; None when empty or unreadable.

    Used for comparisons only, where an unreadable value must simply count as different.
    """
    if value is None:
        return None
    if isinstance(value, bool):
        return None
    if isinstance(value, Decimal):
        return canonical(value) if value.is_finite() else None
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):  # never expected; str() keeps the shortest exact repr
        return parse_plain(repr(value))
    if isinstance(value, str):
        return parse_plain(value)
    return None


def _checked(value: Any, ctx: FieldContext) -> Decimal | None:
    """Apply the rules shared by both directions; None for an empty value."""
    if value is None or (isinstance(value, str) and value.strip() == ""):
        return None
    amount = as_amount(value)
    if amount is None:
        problem = "is not a number."
        if isinstance(value, str) and _EXPONENT.fullmatch(value.strip()):
            problem = "is not written as a plain number (for example 1000 or 19.99)."
        raise ctx.bad("invalid_price", value, problem)
    if amount < 0:
        raise ctx.bad("negative_price", value, "is negative; prices must be zero or more.")
    if amount > MONEY_MAX:
        raise ctx.bad(
            "price_too_large",
            value,
            "is larger than 99,999,999,999, the largest amount QuickBooks accepts.",
        )
    return amount


def money_to_quickbooks(value: Any, ctx: FieldContext) -> Decimal | None:
    """A HubSpot amount as the Decimal QuickBooks stores; None when empty."""
    amount = _checked(value, ctx)
    if amount is None:
        return None
    exponent = amount.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -QBO_MONEY_PLACES:
        rounded = canonical(amount.quantize(_QBO_QUANTUM, rounding=ROUND_HALF_EVEN, context=_WIDE))
        ctx.note(
            f"{ctx.destination_label} {format(amount, 'f')} rounded to {format(rounded, 'f')}"
            f" (QuickBooks keeps {QBO_MONEY_PLACES} decimal places)"
        )
        amount = rounded
    return amount


def money_to_hubspot(value: Any, ctx: FieldContext) -> str:
    """A QuickBooks amount as a HubSpot number string; ``""`` (clear) when empty."""
    amount = _checked(value, ctx)
    return "" if amount is None else money_text(amount)
