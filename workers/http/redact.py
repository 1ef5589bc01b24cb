"""Redaction of anything token-shaped from text that may reach a log, an exception or the
history. Vendor error texts sometimes quote the token they refused (QBO's gateway answers
``"Token expired: AB0…"``), so every vendor string passes through `redact` before use.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from workers.secret import REDACTED, Secret

_PATTERNS = (
    re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]+"),
    re.compile(
        r"(?i)\b(token(?: expired)?|refresh_token|access_token|id_token|client_secret)"
        r"(\s*[:=]\s*\"?)[^\s&,;\"']+"
    ),
    re.compile(r"\bpat-[a-z0-9]+-[A-Za-z0-9-]+"),
    re.compile(r"\beyJ[A-Za-z0-9_-]+\.[A-Za-z0-9._-]+"),  # JWT-shaped
    re.compile(r"\b[A-Za-z0-9_]{32,}"),  # long opaque strings (QBO tokens, secrets)
)


def redact(text: str, secrets: Iterable[Secret | str] = ()) -> str:
    """``text`` with known secrets and token-shaped substrings replaced by a marker."""
    for secret in secrets:
        value = secret.reveal() if isinstance(secret, Secret) else secret
        if value:
            text = text.replace(value, REDACTED)
    for pattern in _PATTERNS:
        text = pattern.sub(_replacement, text)
    return text


def _replacement(match: re.Match[str]) -> str:
    if match.re.groups >= 2:
        return f"{match.group(1)}{match.group(2)}{REDACTED}"
    if match.re.groups == 1:
        return f"{match.group(1)} {REDACTED}"
    return REDACTED
