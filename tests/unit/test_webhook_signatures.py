"""Webhook signature checks, against vectors made without our own signing code: HubSpot's
published v1 example, and v3/v2/Intuit signatures computed here from the vendors'
documented formulas."""

from __future__ import annotations

import base64
import hashlib
import hmac

import pytest
from werkzeug.datastructures import Headers

from workers.webhooks.signatures import (
    SignatureRefused,
    public_uri,
    verify_hubspot,
    verify_intuit,
)

# HubSpot's "validating requests" docs, v1 example: this secret and body sign to this hash.
DOC_SECRET = "yyyyyyyy-yyyy-yyyy-yyyy-yyyyyyyyyyyy"
DOC_BODY = (
    b'[{"eventId":1,"subscriptionId":12345,"portalId":62515,"occurredAt":1564113600000,'
    b'"subscriptionType":"contact.creation","attemptNumber":0,"objectId":123,'
    b'"changeSource":"CRM","changeFlag":"NEW","appId":54321}]'
)
DOC_V1 = "232db2615f3d666fe21a8ec971ac7b5402d33b9a925784df3ca654d05f4817de"

URI = "https://sync.example.com/webhooks/hubspot"
NOW_MS = 1_765_000_000_000
SECRET = "a-hubspot-app-secret"


def v3_headers(body: bytes, *, secret: str = SECRET, uri: str = URI, at: int = NOW_MS) -> Headers:
    """base64(HMAC-SHA256(client secret, UTF-8(method + uri + body + timestamp)))."""
    stamp = str(at)
    message = ("POST" + uri + body.decode("utf-8") + stamp).encode("utf-8")
    signature = base64.b64encode(hmac.new(secret.encode(), message, hashlib.sha256).digest())
    return Headers(
        {"X-HubSpot-Signature-v3": signature.decode(), "X-HubSpot-Request-Timestamp": stamp}
    )


def check(body: bytes, headers: Headers, **kwargs: object) -> str:
    args: dict[str, object] = {
        "secret": SECRET, "method": "POST", "uri": URI, "body": body,
        "headers": headers, "now_ms": NOW_MS, **kwargs,
    }  # fmt: skip
    return verify_hubspot(**args)  # type: ignore[arg-type]


def test_v3_from_the_documented_formula_is_accepted() -> None:
    body = '[{"portalId":1,"objectId":2,"propertyValue":"Café ☕"}]'.encode()
    assert check(body, v3_headers(body)) == "v3"


@pytest.mark.parametrize(
    "tamper",
    ["body", "uri", "secret", "timestamp"],
)
def test_v3_with_anything_changed_is_refused(tamper: str) -> None:
    body = b'[{"portalId":1}]'
    headers = v3_headers(
        body,
        secret="another-secret" if tamper == "secret" else SECRET,
        uri=URI + "x" if tamper == "uri" else URI,
    )
    if tamper == "timestamp":
        headers["X-HubSpot-Request-Timestamp"] = str(NOW_MS + 1)
    sent = b'[{"portalId":2}]' if tamper == "body" else body
    with pytest.raises(SignatureRefused) as refused:
        check(sent, headers)
    assert refused.value.reason == "mismatch"


@pytest.mark.parametrize("age_ms", [300_001, -300_001, 3_600_000])
def test_v3_older_or_newer_than_five_minutes_is_stale(age_ms: int) -> None:
    body = b"[]"
    with pytest.raises(SignatureRefused) as refused:
        check(body, v3_headers(body, at=NOW_MS - age_ms))
    assert refused.value.reason == "stale"


def test_v3_at_the_edge_of_the_window_is_accepted() -> None:
    body = b"[]"
    assert check(body, v3_headers(body, at=NOW_MS - 300_000)) == "v3"


def test_hubspots_published_v1_example_only_when_v1_is_configured() -> None:
    headers = Headers({"X-HubSpot-Signature": DOC_V1, "X-HubSpot-Signature-Version": "v1"})
    with pytest.raises(SignatureRefused) as refused:
        check(DOC_BODY, headers, secret=DOC_SECRET)
    assert refused.value.reason == "missing"
    assert check(DOC_BODY, headers, secret=DOC_SECRET, versions=("v3", "v1")) == "v1"
    headers["X-HubSpot-Signature"] = DOC_V1[:-1] + "0"
    with pytest.raises(SignatureRefused):
        check(DOC_BODY, headers, secret=DOC_SECRET, versions=("v3", "v1"))


def test_v2_covers_method_and_uri() -> None:
    body = b'[{"portalId":1}]'
    v2 = hashlib.sha256(SECRET.encode() + b"POST" + URI.encode() + body).hexdigest()
    headers = Headers({"X-HubSpot-Signature": v2, "X-HubSpot-Signature-Version": "v2"})
    assert check(body, headers, versions=("v2",)) == "v2"
    with pytest.raises(SignatureRefused):
        check(body, headers, versions=("v2",), uri=URI + "?other")


def test_v3_header_with_v3_off_does_not_fall_through_to_nothing() -> None:
    body = b"[]"
    with pytest.raises(SignatureRefused) as refused:
        check(body, v3_headers(body), versions=("v1",))
    assert refused.value.reason == "missing"


def test_no_secret_refuses_everything() -> None:
    body = b"[]"
    with pytest.raises(SignatureRefused) as refused:
        check(body, v3_headers(body), secret="")
    assert refused.value.reason == "not_configured"


def test_intuit_signature_from_the_documented_formula() -> None:
    token = "an-intuit-verifier-token"
    body = b'{"eventNotifications":[{"realmId":"1","dataChangeEvent":{"entities":[]}}]}'
    signature = base64.b64encode(hmac.new(token.encode(), body, hashlib.sha256).digest())
    verify_intuit(verifier_token=token, body=body, signature=signature.decode())
    for bad in (None, "", signature.decode()[:-2] + "AA"):
        with pytest.raises(SignatureRefused):
            verify_intuit(verifier_token=token, body=body, signature=bad)
    with pytest.raises(SignatureRefused):
        verify_intuit(verifier_token=token, body=body + b" ", signature=signature.decode())


def test_public_uri_behind_a_proxy_that_strips_a_prefix() -> None:
    seen = "http://127.0.0.1:8000/webhooks/hubspot"
    assert public_uri("https://x.example/sync/", "/webhooks/hubspot", "", seen) == (
        "https://x.example/sync/webhooks/hubspot"
    )
    assert public_uri("", "/webhooks/hubspot", "", seen) == seen
    assert public_uri("https://x.example", "/webhooks/hubspot", "a=b%3Ac", seen) == (
        "https://x.example/webhooks/hubspot?a=b:c"
    )
