"""The emulator core over real sockets: ledger, every fault action, knobs, admin API, the
thread runner. A tiny vendor app stands in for HubSpot/QuickBooks."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator, Mapping
from typing import Any, ClassVar

import pytest
import requests
from aiohttp import web

from emulators.client import EmulatorAdmin, EmulatorAdminError
from emulators.core import (
    BODY_LIMIT,
    EmulatorHandle,
    FaultRule,
    Handler,
    KnobError,
    Vendor,
    build_app,
    json_response,
    start_in_thread,
)


class Counter(Vendor):
    """Counts writes, so a test can tell whether a faulted request was performed."""

    name: ClassVar[str] = "counter"
    extra_fault_actions: ClassVar[tuple[str, ...]] = ("teapot",)

    def __init__(self) -> None:
        self.writes = 0

    def knob_defaults(self) -> dict[str, Any]:
        return {"mode": "normal"}

    def check_knobs(
        self, changes: Mapping[str, Any], current: Mapping[str, Any]
    ) -> Mapping[str, Any]:
        changes = super().check_knobs(changes, current)
        if changes.get("mode", "normal") not in ("normal", "odd"):
            raise KnobError("mode must be normal or odd")
        return changes

    def classify(self, request: web.Request) -> tuple[str, str | None]:
        return ("write" if request.method == "POST" else "read"), request.query.get("account")

    def add_routes(self, app: web.Application) -> None:
        app.router.add_get("/v1/things", self.read)
        app.router.add_post("/v1/things", self.write)

    def add_admin_routes(self, router: web.UrlDispatcher, prefix: str) -> None:
        async def writes(request: web.Request) -> web.StreamResponse:
            return json_response({"writes": self.writes})

        router.add_get(prefix + "/writes", writes)

    async def read(self, request: web.Request) -> web.StreamResponse:
        return json_response({"writes": self.writes, "mode": self.emulator.knobs["mode"]})

    async def write(self, request: web.Request) -> web.StreamResponse:
        self.writes += 1
        return json_response({"writes": self.writes}, 201)

    async def run_fault(
        self, rule: FaultRule, request: web.Request, handler: Handler
    ) -> web.StreamResponse:
        return web.Response(status=418, text=str(rule.params.get("say", "")))

    def reset(self) -> None:
        self.writes = 0


@pytest.fixture(scope="module")
def server() -> Iterator[EmulatorHandle]:
    with start_in_thread(build_app(Counter(), knobs={"mode": "odd"})) as handle:
        yield handle


@pytest.fixture
def admin(server: EmulatorHandle) -> EmulatorAdmin:
    client = server.admin()
    client.reset()
    return client


def writes(admin: EmulatorAdmin) -> int:
    return int(admin.vendor("GET", "counter/writes")["writes"])


def test_ledger_records_vendor_requests_but_not_admin(
    server: EmulatorHandle, admin: EmulatorAdmin
) -> None:
    since = admin.last_seq()
    requests.post(
        f"{server.url}/v1/things",
        params={"account": "42", "requestid": "r-1", "tag": ["a", "b"]},
        json={"x": 1},
        timeout=5,
    )
    requests.get(f"{server.url}/v1/things", timeout=5)
    requests.post(f"{server.url}/v1/things", data="x" * (BODY_LIMIT + 10), timeout=5)
    admin.knobs()
    entries = admin.ledger(since=since)
    assert [e["seq"] for e in entries] == [since + 1, since + 2, since + 3]
    first = entries[0]
    assert first["account"] == "42" and first["requestid"] == "r-1"
    assert first["query"]["tag"] == ["a", "b"] and first["body"] == {"x": 1}
    assert first["status"] == 201 and first["kind"] == "write" and first["vendor"] == "counter"
    assert first["time"].endswith("Z")
    assert entries[2]["body"].endswith("…") and len(entries[2]["body"]) == BODY_LIMIT + 1
    assert admin.counts(since=since) == {"write": 2, "read": 1}
    assert admin.counts(since=since, account="42") == {"write": 1}
    assert len(admin.ledger(since=since, kind="read", path="^/v1/")) == 1
    admin.clear_ledger()
    assert admin.ledger() == [] and admin.last_seq() == since + 3


def test_status_fault_answers_instead_of_the_handler(
    server: EmulatorHandle, admin: EmulatorAdmin
) -> None:
    rule = admin.add_fault(
        "status",
        "^/v1/things$",
        method="POST",
        status=429,
        headers={"Retry-After": "3"},
        body={"err": "slow down"},
        times=2,
    )
    assert rule["id"] and admin.faults()[0]["times"] == 2
    for _ in range(2):
        response = requests.post(f"{server.url}/v1/things", timeout=5)
        assert response.status_code == 429 and response.headers["Retry-After"] == "3"
        assert response.json() == {"err": "slow down"}
    assert requests.post(f"{server.url}/v1/things", timeout=5).status_code == 201
    assert writes(admin) == 1 and admin.faults() == []
    assert [e["fault"] for e in admin.ledger()] == ["status", "status", None]


def test_hang_fault_sleeps_past_the_client_timeout_then_performs(
    server: EmulatorHandle, admin: EmulatorAdmin
) -> None:
    admin.add_fault("hang", "/v1/things", method="POST", seconds=0.6)
    with pytest.raises(requests.Timeout):
        requests.post(f"{server.url}/v1/things", timeout=0.2)
    assert writes(admin) == 0
    time.sleep(0.6)
    assert writes(admin) == 1  # the vendor acted after all
    admin.add_fault("hang", "/v1/things", method="POST", seconds=0.1, perform=False)
    assert requests.post(f"{server.url}/v1/things", timeout=5).status_code == 504
    assert writes(admin) == 1


def test_reset_fault_closes_the_connection_and_does_nothing(
    server: EmulatorHandle, admin: EmulatorAdmin
) -> None:
    admin.add_fault("reset", "/v1/things", method="POST")
    with pytest.raises(requests.ConnectionError):
        requests.post(f"{server.url}/v1/things", timeout=5)
    assert writes(admin) == 0
    assert admin.ledger()[-1]["status"] is None


def test_lose_response_performs_then_drops(server: EmulatorHandle, admin: EmulatorAdmin) -> None:
    admin.add_fault("lose_response", "/v1/things", method="POST")
    with pytest.raises(requests.ConnectionError):
        requests.post(f"{server.url}/v1/things", timeout=5)
    assert writes(admin) == 1
    entry = admin.ledger()[-1]
    assert entry["status"] == 201 and entry["fault"] == "lose_response"


def test_truncate_sends_less_than_content_length(
    server: EmulatorHandle, admin: EmulatorAdmin
) -> None:
    admin.add_fault("truncate", "/v1/things", method="GET")
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
        sock.sendall(b"GET /v1/things HTTP/1.1\r\nHost: x\r\n\r\n")
        raw = b""
        while chunk := sock.recv(65536):
            raw += chunk
    head, _, body = raw.partition(b"\r\n\r\n")
    length = int(
        next(h for h in head.split(b"\r\n") if h.lower().startswith(b"content-length")).split(b":")[
            1
        ]
    )
    assert head.startswith(b"HTTP/1.1 200") and 0 < len(body) < length


def test_vendor_fault_action_and_account_scope(
    server: EmulatorHandle, admin: EmulatorAdmin
) -> None:
    admin.add_fault("teapot", "/v1/things", account="7", params={"say": "short and stout"})
    assert requests.get(f"{server.url}/v1/things", timeout=5).status_code == 200
    response = requests.get(f"{server.url}/v1/things", params={"account": "7"}, timeout=5)
    assert response.status_code == 418 and response.text == "short and stout"


def test_bad_fault_rules_are_refused(admin: EmulatorAdmin) -> None:
    for rule in (
        {"action": "explode"},
        {"action": "status", "status": 99},
        {"action": "status", "path": "("},
        {"action": "status", "times": 0},
        {"action": "status", "colour": "red"},
    ):
        with pytest.raises(EmulatorAdminError):
            admin.call("POST", "faults", json=rule)
    rule = admin.add_fault("status", status=500)
    admin.remove_fault(rule["id"])
    with pytest.raises(EmulatorAdminError):
        admin.remove_fault(rule["id"])


def test_knobs_validate_apply_and_reset(server: EmulatorHandle, admin: EmulatorAdmin) -> None:
    assert admin.knobs() == {"latency_ms": 0.0, "jitter_ms": 0.0, "mode": "odd"}
    admin.set_knobs(mode="normal", latency_ms=150)
    started = time.perf_counter()
    assert requests.get(f"{server.url}/v1/things", timeout=5).json()["mode"] == "normal"
    assert time.perf_counter() - started >= 0.15
    for bad in ({"mode": "weird"}, {"latency_ms": -1}, {"nope": 1}, {"jitter_ms": "x"}):
        with pytest.raises(EmulatorAdminError):
            admin.set_knobs(**bad)
    assert admin.knobs()["latency_ms"] == 150  # a refused update changes nothing
    admin.reset()
    assert admin.knobs()["mode"] == "odd" and admin.knobs()["latency_ms"] == 0


def test_jitter_adds_random_delay_within_bounds(
    server: EmulatorHandle, admin: EmulatorAdmin
) -> None:
    admin.set_knobs(jitter_ms=40)
    for _ in range(3):
        requests.get(f"{server.url}/v1/things", timeout=5)
    durations = [e["duration_ms"] for e in admin.ledger()]
    assert all(0 <= d <= 200 for d in durations) and max(durations) > 0.5


def test_admin_prefix_and_errors(server: EmulatorHandle, admin: EmulatorAdmin) -> None:
    assert admin.health() == {"vendor": "counter", "ok": True}
    response = requests.patch(f"{server.url}/__emulator__/knobs", data="not json", timeout=5)
    assert response.status_code == 400 and "error" in response.json()
    bad = requests.get(f"{server.url}/__emulator__/ledger", params={"since": "x"}, timeout=5)
    assert bad.status_code == 400
    assert admin.ledger() == []  # none of the admin calls above was recorded


def test_thread_runner_picks_a_free_port_and_stops() -> None:
    handle = start_in_thread(build_app(Counter()))
    assert handle.port > 0 and handle.url == f"http://127.0.0.1:{handle.port}"
    assert requests.get(handle.url + "/v1/things", timeout=5).status_code == 200
    handle.stop()
    with pytest.raises(requests.ConnectionError):
        requests.get(handle.url + "/v1/things", timeout=1)
    handle.stop()  # idempotent


def test_stop_does_not_wait_for_a_hung_request() -> None:
    handle = start_in_thread(build_app(Counter()))
    handle.admin().add_fault("hang", "/v1/things", seconds=30)
    with pytest.raises(requests.Timeout):
        requests.get(handle.url + "/v1/things", timeout=0.2)
    started = time.perf_counter()
    handle.stop()
    assert time.perf_counter() - started < 5
