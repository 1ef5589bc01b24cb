"""Checking that a webhook delivery comes from the vendor: HubSpot's request signatures
(v3, and v1/v2 only when configured) and Intuit's ``intuit-signature``. Every comparison
is constant-time (`hmac.compare_digest`); a refusal says why in a short code, never with
the secret or the expected value.

HubSpot v3: ``X-HubSpot-Signature-v3`` = base64(HMAC-SHA256(app secret, UTF-8 of method +
URI + body + timestamp)), ``X-HubSpot-Request-Timestamp`` in epoch milliseconds, refused
when more than 5 minutes away from now. The URI is the full URL HubSpot called (scheme,
host, path, query): behind a reverse proxy that is the public URL, not the one the web
process sees, hence `public_uri`. v1: hex sha256(secret + body); v2: hex sha256(secret +
method + URI + body); both in ``X-HubSpot-Signature`` with ``X-HubSpot-Signature-Version``
and without a timestamp, so a captured request can be replayed: they are off unless
configured.

Intuit: ``intuit-signature`` = base64(HMAC-SHA256(verifier token, raw body)); Intuit sends
no timestamp, so replays are absorbed by job uniqueness, not refused here.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Collection, Mapping

MAX_AGE_MS = 5 * 60 * 1000
HUBSPOT_VERSIONS = ("v3", "v2", "v1")

# HubSpot decodes these percent-escapes in the URI before signing (its v3 docs).
_DECODED = {
    "%3A": ":", "%2F": "/", "%3F": "?", "%40": "@", "%21": "!", "%24": "$", "%27": "'",
    "%28": "(", "%29": ")", "%2A": "*", "%2C": ",", "%3B": ";",
}


class SignatureRefused(Exception):
    """The delivery is not proven to come from the vendor. ``reason``: ``missing``,
    ``mismatch``, ``stale`` or ``not_configured``."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def public_uri(public_url: str, path: str, query: str, seen_url: str) -> str:
    """The URI HubSpot signed: the configured public URL (which may carry a path prefix the
    proxy strips) + the path the app saw + the query; without a public URL, the URL the
    request arrived at."""
    uri = seen_url
    if public_url:
        uri = public_url.rstrip("/") + path + (f"?{query}" if query else "")
    for escaped, char in _DECODED.items():
        uri = uri.replace(escaped, char).replace(escaped.lower(), char)
    return uri


def _equal(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode(), expected.encode())


def verify_hubspot(
    *,
    secret: str,
    method: str,
    uri: str,
    body: bytes,
    headers: Mapping[str, str],
    now_ms: int,
    versions: Collection[str] = ("v3",),
) -> str:
    """The signature version that proved the request; `SignatureRefused` otherwise."""
    if not secret:
        raise SignatureRefused("not_configured")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise SignatureRefused("mismatch") from None
    v3 = headers.get("X-HubSpot-Signature-v3")
    if v3 is not None and "v3" in versions:
        stamp = headers.get("X-HubSpot-Request-Timestamp", "")
        if not stamp.isdigit():
            raise SignatureRefused("missing")
        if abs(now_ms - int(stamp)) > MAX_AGE_MS:
            raise SignatureRefused("stale")
        digest = hmac.new(secret.encode(), (method + uri + text + stamp).encode(), hashlib.sha256)
        if not _equal(v3, base64.b64encode(digest.digest()).decode()):
            raise SignatureRefused("mismatch")
        return "v3"
    legacy = headers.get("X-HubSpot-Signature")
    version = headers.get("X-HubSpot-Signature-Version", "v1")
    if legacy is None or version not in versions or version == "v3":
        raise SignatureRefused("missing")
    message = secret + text if version == "v1" else secret + method + uri + text
    if not _equal(legacy.lower(), hashlib.sha256(message.encode()).hexdigest()):
        raise SignatureRefused("mismatch")
    return version


def verify_intuit(*, verifier_token: str, body: bytes, signature: str | None) -> None:
    """`SignatureRefused` unless ``signature`` is the body's HMAC under the verifier token."""
    if not verifier_token:
        raise SignatureRefused("not_configured")
    if not signature:
        raise SignatureRefused("missing")
    digest = hmac.new(verifier_token.encode(), body, hashlib.sha256).digest()
    if not _equal(signature, base64.b64encode(digest).decode()):
        raise SignatureRefused("mismatch")
