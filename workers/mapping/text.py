"""Text rules: QuickBooks names, descriptions, SKUs, and lengths measured as QuickBooks does.

QuickBooks is a Java service; its length limits ("Min:0 Max:100 supported. Supplied
length:101") are most likely counted in UTF-16 code units, where an emoji counts twice.
Counting the same way is the conservative choice: a value that fits here fits whichever
way QuickBooks counts.
"""

from __future__ import annotations

import re

from workers.mapping.fields import QBO_NAME_MAX

# Runs of control characters (tabs, newlines, other C0/C1 controls, Unicode line and
# paragraph separators) together with the spaces around them become one space.
_CONTROL_RUN = re.compile(r" *[\x00-\x1f\x7f-\x9f\u2028\u2029]+ *")
# "Widget: Large" reads best as "Widget - Large"; "Ratio 1:2" as "Ratio 1-2".
_COLON_BEFORE_SPACE = re.compile(r"(?<=\S) *:(?=\s)")
# Cut back to a word boundary only when that keeps most of the text.
_MIN_KEPT = 0.6


def utf16_length(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def fit(text: str, limit: int, *, at_word: bool) -> str:
    """``text`` shortened to at most ``limit`` UTF-16 units, never splitting a character.

    With ``at_word`` the cut moves back to the last space when that keeps at least 60 % of
    the allowed length; trailing spaces of the result are dropped.
    """
    if utf16_length(text) <= limit:
        return text
    kept, used = [], 0
    for ch in text:
        width = 2 if ord(ch) > 0xFFFF else 1
        if used + width > limit:
            break
        kept.append(ch)
        used += width
    cut = "".join(kept)
    next_char = text[len(cut)]
    if at_word and not next_char.isspace():
        space = cut.rfind(" ")
        if space >= limit * _MIN_KEPT:
            cut = cut[:space]
    return cut.rstrip()


def clean_name(raw: str) -> str:
    """A name QuickBooks accepts, before length: controls → space, colons → dashes, trimmed."""
    text = _CONTROL_RUN.sub(" ", raw)
    text = _COLON_BEFORE_SPACE.sub(" -", text)
    text = text.replace(":", "-")
    return text.strip()


def disambiguated_name(name: str, sku: str) -> str:
    """``"<name> [<sku>]"`` as a valid QuickBooks name of at most 100 characters.

    Used after QuickBooks refuses a name as a duplicate (6240). The SKU part is kept whole
    when it fits and the name is shortened (at a word boundary when possible) to make room;
    an SKU too long for any room left is itself shortened. Applying it twice changes
    nothing, so a name that already carries its SKU suffix is returned as it is.
    """
    base = clean_name(name)
    suffix = f" [{clean_name(sku)}]"
    if base.endswith(suffix) and utf16_length(base) <= QBO_NAME_MAX:
        return base
    room = QBO_NAME_MAX - utf16_length(suffix)
    if room >= 1:
        head = fit(base, room, at_word=True)
        return f"{head}{suffix}" if head else suffix.strip()
    # The SKU alone overflows: keep as much of it as fits inside the brackets.
    return "[" + fit(clean_name(sku), QBO_NAME_MAX - 3, at_word=False) + "…]"
