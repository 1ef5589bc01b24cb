"""`WebhookSink`: a tiny HTTP server on a free port that records every POST (raw body and
headers) and answers with scripted statuses, for the emulators' webhook contract tests."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    at: float
    answered: int

    def json(self) -> Any:
        return json.loads(self.body)


class WebhookSink:
    def __init__(self) -> None:
        self.received: list[Received] = []
        self.script: list[int] = []  # statuses for the next POSTs, then 200
        self._lock = threading.Lock()
        sink = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with sink._lock:
                    status = sink.script.pop(0) if sink.script else 200
                    sink.received.append(
                        Received(
                            self.path,
                            {k.lower(): v for k, v in self.headers.items()},
                            body,
                            time.time(),
                            status,
                        )
                    )
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    def ok(self) -> list[Received]:
        with self._lock:
            return [r for r in self.received if 200 <= r.answered < 300]

    def wait_for(self, predicate: Any, timeout: float = 10.0) -> list[Received]:
        """Wait until ``predicate(received)`` holds; returns what was received."""
        deadline = time.monotonic() + timeout
        while True:
            with self._lock:
                seen = list(self.received)
            if predicate(seen):
                return seen
            if time.monotonic() > deadline:
                raise AssertionError(f"webhook sink: condition not met; received {len(seen)}")
            time.sleep(0.02)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@contextmanager
def webhook_sink() -> Iterator[WebhookSink]:
    sink = WebhookSink()
    try:
        yield sink
    finally:
        sink.close()
