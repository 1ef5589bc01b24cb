"""Serving apps: one in a background thread (tests, benchmarks), or several in the
foreground of one process (the CLI)."""

from __future__ import annotations

import asyncio
import signal
import socket
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from aiohttp import web

from emulators.core.vendor import Emulator

if TYPE_CHECKING:
    from emulators.client import EmulatorAdmin

SHUTDOWN_TIMEOUT = 0.5  # a hung request (fault "hang") must not hold up stop()


def _listen(host: str, port: int) -> socket.socket:
    """A bound, listening socket; port 0 picks a free port without a race."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(1024)
    sock.setblocking(False)
    return sock


async def _start(app: web.Application, sock: socket.socket) -> web.AppRunner:
    # Access logs cost more than the request itself at these rates; the ledger is the log.
    runner = web.AppRunner(
        app, access_log=None, handle_signals=False, shutdown_timeout=SHUTDOWN_TIMEOUT
    )
    await runner.setup()
    await web.SockSite(runner, sock).start()
    return runner


@dataclass
class EmulatorHandle:
    """A running app: ``url`` (no trailing slash), ``port``, ``stop()``; a context manager."""

    app: web.Application
    host: str
    port: int
    _loop: asyncio.AbstractEventLoop = field(repr=False)
    _thread: threading.Thread = field(repr=False)
    _runner: web.AppRunner = field(repr=False)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def emulator(self) -> Emulator:
        """The in-process state. Read it freely; change it through the admin API, which runs
        on the server's own thread."""
        from emulators.core.app import EMULATOR

        return self.app[EMULATOR]

    def admin(self) -> EmulatorAdmin:
        from emulators.client import EmulatorAdmin

        return EmulatorAdmin(self.url)

    def stop(self) -> None:
        if not self._thread.is_alive():
            return
        asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    def __enter__(self) -> EmulatorHandle:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start_in_thread(
    app: web.Application, *, host: str = "127.0.0.1", port: int = 0
) -> EmulatorHandle:
    """Serve ``app`` from a daemon thread with its own event loop; returns once it listens."""
    sock = _listen(host, port)
    loop = asyncio.new_event_loop()
    started = threading.Event()
    box: dict[str, object] = {}

    def main() -> None:
        asyncio.set_event_loop(loop)
        try:
            box["runner"] = loop.run_until_complete(_start(app, sock))
        except BaseException as exc:  # surfaced to the caller below
            box["error"] = exc
            started.set()
            return
        started.set()
        loop.run_forever()
        loop.close()

    thread = threading.Thread(target=main, name=f"emulator:{port}", daemon=True)
    thread.start()
    started.wait(30)
    if "error" in box:
        sock.close()
        raise RuntimeError(f"emulator failed to start: {box['error']}")
    runner = box["runner"]
    assert isinstance(runner, web.AppRunner)
    return EmulatorHandle(app, host, sock.getsockname()[1], loop, thread, runner)


def serve_forever(
    apps: Sequence[tuple[web.Application, str, int]],
    on_ready: Callable[[list[str]], None] = lambda urls: None,
) -> None:
    """Serve several apps in the foreground until SIGINT/SIGTERM. Binding happens before
    anything starts, so a busy port fails fast with OSError."""
    socks = [_listen(host, port) for _, host, port in apps]
    asyncio.run(_serve(apps, socks, on_ready))


async def _serve(
    apps: Sequence[tuple[web.Application, str, int]],
    socks: list[socket.socket],
    on_ready: Callable[[list[str]], None],
) -> None:
    runners = [await _start(app, sock) for (app, _, _), sock in zip(apps, socks, strict=True)]
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    hosts = [host for _, host, _ in apps]
    on_ready([f"http://{h}:{s.getsockname()[1]}" for h, s in zip(hosts, socks, strict=True)])
    try:
        await stop.wait()
    finally:
        for runner in runners:
            await runner.cleanup()
