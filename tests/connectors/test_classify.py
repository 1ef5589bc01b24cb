"""Every status / vendor-code pair the edge knows, classified (table-driven), plus the
transport failures against a tiny local server that misbehaves on purpose."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
import requests

from workers.errors import (
    AuthRefused,
    DuplicateName,
    NotFound,
    QuotaExhausted,
    RateLimited,
    ReauthRequired,
    StaleObject,
    SyncError,
    TransientError,
    ValidationFailed,
)
from workers.http import (
    Timeouts,
    faults,
    hubspot_error,
    jsonwire,
    quickbooks_error,
    redact,
    retry_after_seconds,
    send,
)


def response(
    status: int, body: Any = None, headers: dict[str, str] | None = None
) -> requests.Response:
    made = requests.Response()
    made.status_code = status
    if isinstance(body, bytes):
        made._content = body
    elif body is None:
        made._content = b""
    else:
        made._content = json.dumps(body).encode()
    made.headers.update(headers or {})
    return made


def qbo_fault(code: str, message: str = "m", detail: str = "d") -> dict[str, Any]:
    return {
        "Fault": {
            "Error": [{"Message": message, "Detail": detail, "code": code}],
            "type": "ValidationFault",
        },
        "time": "2026-01-01T00:00:00-08:00",
    }


def gateway(code: str, status: int) -> dict[str, Any]:
    return {
        "warnings": None,
        "fault": {
            "error": [
                {
                    "message": f"message=X; errorCode=00{code}; statusCode={status}",
                    "detail": "Token expired: AB11abcdefghijklmnopqrstuvwxyz0123456789",
                    "code": code,
                    "element": None,
                }
            ],
            "type": "AUTHENTICATION",
        },
        "time": 1730024394085,
    }


def hs(category: str, message: str = "m") -> dict[str, Any]:
    return {"status": "error", "message": message, "correlationId": "corr-1", "category": category}


def hs429(policy: str) -> dict[str, Any]:
    return {
        "status": "error",
        "message": "limit",
        "errorType": "RATE_LIMIT",
        "correlationId": "x",
        "policyName": policy,
    }


HUBSPOT_CASES: list[tuple[int, Any, dict[str, str], type[SyncError], str | None]] = [
    (400, hs("VALIDATION_ERROR"), {}, ValidationFailed, "VALIDATION_ERROR"),
    (400, b"", {}, ValidationFailed, None),
    (401, hs("INVALID_AUTHENTICATION"), {}, ReauthRequired, "INVALID_AUTHENTICATION"),
    (403, hs("MISSING_SCOPES"), {}, AuthRefused, "MISSING_SCOPES"),
    (404, b"", {}, NotFound, None),
    (404, b"<html><body>Not Found</body></html>", {}, NotFound, None),
    (404, hs("OBJECT_NOT_FOUND"), {}, NotFound, "OBJECT_NOT_FOUND"),
    (409, hs("CONFLICT"), {}, ValidationFailed, "CONFLICT"),
    (414, b"", {}, ValidationFailed, None),
    (423, hs("LOCKED"), {}, TransientError, "LOCKED"),
    (429, hs429("TEN_SECONDLY_ROLLING"), {}, RateLimited, "TEN_SECONDLY_ROLLING"),
    (429, hs429("SECONDLY"), {}, RateLimited, "SECONDLY"),
    (429, hs429("DAILY"), {}, QuotaExhausted, "DAILY"),
    (429, b"", {"Retry-After": "3"}, RateLimited, "RATE_LIMIT"),
    (
        429,
        hs429("TEN_SECONDLY_ROLLING"),
        {"Retry-After": "900"},
        QuotaExhausted,
        "TEN_SECONDLY_ROLLING",
    ),
    (477, b"", {"Retry-After": "60"}, TransientError, None),
    (477, b"", {"Retry-After": "86400"}, QuotaExhausted, None),
    (500, hs("INTERNAL_ERROR"), {}, TransientError, "INTERNAL_ERROR"),
    (502, b"<html>bad gateway</html>", {}, TransientError, None),
    (503, b"", {}, TransientError, None),
    (504, b"", {}, TransientError, None),
    (521, b"", {}, TransientError, None),
    (522, b"", {}, TransientError, None),
    (523, b"", {}, TransientError, None),
    (524, b"", {}, TransientError, None),
]


@pytest.mark.parametrize(("status", "body", "headers", "cls", "vendor_code"), HUBSPOT_CASES)
def test_hubspot_classification(
    status: int, body: Any, headers: dict[str, str], cls: type, vendor_code: str | None
) -> None:
    error = hubspot_error(response(status, body, headers))
    assert type(error) is cls
    assert error.system == "hubspot" and error.status == status
    assert error.vendor_code == vendor_code
    assert str(status) in error.message


def test_hubspot_success_is_none_and_waits_are_carried() -> None:
    assert hubspot_error(response(200, {})) is None
    assert hubspot_error(response(207, {})) is None
    locked = hubspot_error(response(423, b""))
    assert isinstance(locked, TransientError) and locked.retry_after == 2.0
    secondly = hubspot_error(response(429, hs429("SECONDLY")))
    assert isinstance(secondly, RateLimited) and secondly.retry_after == 1.0


def test_hubspot_embedded_property_codes_are_surfaced() -> None:
    message = (
        'Property values were not valid: [{"isValid":false,"message":"x",'
        '"error":"INVALID_OPTION","name":"hs_product_type"}]'
    )
    error = hubspot_error(response(400, hs("VALIDATION_ERROR", message)))
    assert error is not None and error.details["property_errors"] == ["INVALID_OPTION"]


QBO_CASES: list[tuple[int, Any, type[SyncError], str | None]] = [
    (400, qbo_fault("5010"), StaleObject, "5010"),
    (400, qbo_fault("6240"), DuplicateName, "6240"),
    (400, qbo_fault("610"), NotFound, "610"),
    (404, b"", NotFound, None),
    (400, qbo_fault("2020"), ValidationFailed, "2020"),
    (400, qbo_fault("2050"), ValidationFailed, "2050"),
    (400, qbo_fault("2170"), ValidationFailed, "2170"),
    (400, qbo_fault("2390"), ValidationFailed, "2390"),
    (400, qbo_fault("2500"), ValidationFailed, "2500"),
    (400, qbo_fault("4000"), ValidationFailed, "4000"),
    (400, qbo_fault("4001"), ValidationFailed, "4001"),
    (400, qbo_fault("4002"), ValidationFailed, "4002"),
    (400, qbo_fault("5020"), ValidationFailed, "5020"),
    (400, qbo_fault("6000"), ValidationFailed, "6000"),
    (400, qbo_fault("6190"), AuthRefused, "6190"),
    (400, b"not json", ValidationFailed, None),
    (401, gateway("3200", 401), ReauthRequired, "3200"),
    (401, qbo_fault("120"), ReauthRequired, "120"),
    (403, gateway("3100", 403), AuthRefused, "3100"),
    (429, gateway("3001", 429), RateLimited, "3001"),
    (429, b"", RateLimited, None),
    (500, qbo_fault("10000"), TransientError, "10000"),
    (502, b"<html/>", TransientError, None),
    (503, b"", TransientError, None),
    (504, b"", TransientError, None),
]


@pytest.mark.parametrize(("status", "body", "cls", "vendor_code"), QBO_CASES)
def test_quickbooks_classification(
    status: int, body: Any, cls: type, vendor_code: str | None
) -> None:
    error = quickbooks_error(response(status, body))
    assert type(error) is cls
    assert error.system == "quickbooks" and error.status == status
    assert error.vendor_code == vendor_code
    if vendor_code:
        assert f"code {vendor_code}" in error.message


def test_35_both_fault_casings_parse_tolerantly() -> None:
    upper = faults(qbo_fault("6240", "Duplicate Name Exists Error"))
    lower = faults(gateway("3200", 401))
    assert [(f.code, f.message) for f in upper] == [("6240", "Duplicate Name Exists Error")]
    assert lower[0].code == "3200" and lower[0].type == "AUTHENTICATION"
    assert (
        faults({"Fault": {}}) == []
        and faults("x") == []
        and faults({"fault": {"error": [1]}}) == []
    )


def test_qbo_429_waits_and_long_retry_after_parks() -> None:
    short = quickbooks_error(response(429, gateway("3001", 429), {"Retry-After": "2"}))
    assert isinstance(short, RateLimited) and short.retry_after == 2.0
    default = quickbooks_error(response(429, gateway("3001", 429)))
    assert isinstance(default, RateLimited) and default.retry_after == 5.0
    long = quickbooks_error(response(429, gateway("3001", 429), {"Retry-After": "3600"}))
    assert isinstance(long, QuotaExhausted) and long.until is not None


def test_token_fragments_in_vendor_text_are_redacted() -> None:
    error = quickbooks_error(response(403, gateway("3100", 403)))
    assert error is not None and "AB11abcdef" not in error.message
    assert "pat-na1-abc-def" not in redact("bad token pat-na1-abc-def here")
    assert "sekrit" not in redact("Bearer sekrit") and "s3cr3t" not in redact(
        "x", ["s3cr3t"]
    ) + redact("a s3cr3t", ["s3cr3t"])
    assert redact("correlation aeb5f871-7f07-4993-9211-075dc63e7cbf").endswith("7cbf")


def test_retry_after_forms() -> None:
    assert retry_after_seconds({"Retry-After": "7"}) == 7.0
    when = datetime.now(UTC) + timedelta(seconds=30)
    parsed = retry_after_seconds({"Retry-After": when.strftime("%a, %d %b %Y %H:%M:%S GMT")})
    assert parsed is not None and 25 < parsed <= 31
    assert retry_after_seconds({"Retry-After": "soon"}) is None
    assert retry_after_seconds({}) is None


def test_money_goes_on_the_wire_as_exact_json_numbers() -> None:
    wire = jsonwire.dumps({"UnitPrice": Decimal("275.10"), "Q": [Decimal("1E+2")], "n": 3})
    assert wire == b'{"UnitPrice":275.10,"Q":[100],"n":3}'
    assert jsonwire.loads(b'{"p": 0.1}')["p"] == Decimal("0.1")
    with pytest.raises(jsonwire.WireError):
        jsonwire.dumps({"p": 0.1})
    with pytest.raises(jsonwire.WireError):
        jsonwire.dumps({"p": Decimal("NaN")})


# -- transport failures against a misbehaving local server -------------------------------


class Misbehaving:
    """A one-connection-at-a-time TCP server whose answer depends on the path."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.stop = False
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self) -> None:
        while not self.stop:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self.answer, args=(conn,), daemon=True).start()

    def answer(self, conn: socket.socket) -> None:
        with conn:
            request = conn.recv(65536).decode("latin-1")
            path = request.split(" ", 2)[1] if " " in request else "/"
            if path == "/slow":
                time.sleep(1.0)
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}")
            elif path == "/reset":
                conn.setsockopt(
                    socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00"
                )
            elif path == "/truncate":
                conn.sendall(b'HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{"Item":')
            elif path == "/empty":
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")


@pytest.fixture(scope="module")
def misbehaving() -> Iterator[Misbehaving]:
    server = Misbehaving()
    yield server
    server.stop = True
    server.sock.close()


FAST = Timeouts(connect=0.5, read=0.3)


@pytest.mark.parametrize(
    ("path", "method", "unknown"),
    [
        ("/slow", "POST", True),
        ("/slow", "GET", False),
        ("/reset", "POST", True),
        ("/truncate", "POST", True),
    ],
)
def test_transport_failures_are_transient(
    misbehaving: Misbehaving, path: str, method: str, unknown: bool
) -> None:
    with pytest.raises(TransientError) as caught:
        send("quickbooks", method, misbehaving.url + path, timeouts=FAST)
    assert caught.value.details["outcome_unknown"] is unknown
    assert "retried" in caught.value.message


def test_refused_connection_is_transient_and_known_not_acted() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(TransientError) as caught:
        send("hubspot", "POST", f"http://127.0.0.1:{port}/x", timeouts=FAST)
    assert caught.value.details["outcome_unknown"] is False


def test_empty_success_body_is_transient(misbehaving: Misbehaving) -> None:
    from workers.http import json_or_transient

    answer = send("quickbooks", "POST", misbehaving.url + "/empty", timeouts=FAST)
    with pytest.raises(TransientError):
        json_or_transient(answer, "quickbooks")
