"""Outbound webhook delivery shared by both emulators: a `WebhookSender` queues the events
a vendor's notify hook hands it and POSTs them to one target in batches, with the vendor's
retries, and with duplicates and reordering behind switches.

A vendor supplies a `Renderer` (body bytes and signature headers for a batch at a given
attempt) and a `RetryPolicy` (its retry schedule, timeout, concurrency and whether later
events wait behind a failing batch). Everything runs on the emulator's event loop, like
the handlers that call `WebhookSender.notify`; nothing is sent while no target is set.

Admin surface (each vendor mounts it under its own prefix with `add_admin_routes`)::

    PUT    <prefix>/webhooks   {"target_url", …vendor options}  → the subscription (201)
    GET    <prefix>/webhooks   subscription (secret hidden), counters, recent deliveries
    DELETE <prefix>/webhooks   stop sending (if it was); queued events are dropped (204)
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections import deque
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web

from emulators.core.admin import admin_handler, read_object
from emulators.core.http import json_response

Event = dict[str, Any]
# (batch of events, 0-based attempt, subscription) -> (body, headers)
Renderer = Callable[[list[Event], int, "Subscription"], tuple[bytes, dict[str, str]]]

MAX_BATCH = 100  # both vendors: at most 100 events per POST
RECENT = 500  # deliveries kept for the admin view


@dataclass(frozen=True)
class RetryPolicy:
    """How a vendor retries: ``delays`` (seconds, real speed) after each failed attempt,
    the last one repeated until ``max_attempts``; ``timeout`` per POST; ``hold_back``: later
    events wait until the failing batch is acknowledged (QuickBooks)."""

    delays: tuple[float, ...]
    max_attempts: int
    timeout: float
    max_concurrent: int
    hold_back: bool

    def delay(self, attempt: int) -> float:
        return self.delays[min(attempt, len(self.delays) - 1)]


@dataclass
class Subscription:
    """Where and how to send. ``signed_url`` is the URL the vendor believes it calls (the
    public one registered in its portal) and signs; ``target_url`` is where the emulator
    connects (they differ behind a reverse proxy)."""

    target_url: str
    secret: str
    signed_url: str
    batch_window_ms: float = 50.0
    retry_scale: float = 1.0
    duplicate_rate: float = 0.0
    reorder: bool = False
    options: dict[str, Any] = field(default_factory=dict)

    def view(self) -> dict[str, Any]:
        return {
            "target_url": self.target_url,
            "signed_url": self.signed_url,
            "secret": "[hidden]",
            "batch_window_ms": self.batch_window_ms,
            "retry_scale": self.retry_scale,
            "duplicate_rate": self.duplicate_rate,
            "reorder": self.reorder,
            **self.options,
        }


def subscription_from(
    body: Mapping[str, Any], *, default_secret: str, options: Mapping[str, Any]
) -> Subscription:
    """A `Subscription` from an admin request body; ValueError names a bad field."""
    target = body.get("target_url")
    if not isinstance(target, str) or not target.startswith(("http://", "https://")):
        raise ValueError("target_url must be an http(s) URL")
    secret = body.get("secret", default_secret)
    if not isinstance(secret, str) or not secret:
        raise ValueError("secret must be a non-empty string")
    signed = body.get("signed_url") or target
    if not isinstance(signed, str):
        raise ValueError("signed_url must be a URL")
    rate = float(body.get("duplicate_rate", 0.0))
    if not 0.0 <= rate <= 1.0:
        raise ValueError("duplicate_rate must be between 0 and 1")
    scale = float(body.get("retry_scale", 1.0))
    window = float(body.get("batch_window_ms", 50.0))
    if scale < 0 or window < 0:
        raise ValueError("retry_scale and batch_window_ms must not be negative")
    return Subscription(
        target_url=target,
        secret=secret,
        signed_url=signed,
        batch_window_ms=window,
        retry_scale=scale,
        duplicate_rate=rate,
        reorder=bool(body.get("reorder", False)),
        options=dict(options),
    )


@dataclass
class _Batch:
    events: list[Event]
    attempt: int = 0
    duplicate: bool = False


class WebhookSender:
    """One vendor app's webhook subscription and its delivery loop."""

    def __init__(self, renderer: Renderer, policy: RetryPolicy, *, seed: int = 0) -> None:
        self.renderer = renderer
        self.policy = policy
        self.subscription: Subscription | None = None
        self._rng = random.Random(seed)
        self._queue: list[Event] = []
        self._wake: asyncio.Event | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._slots: asyncio.Semaphore | None = None
        self._http: aiohttp.ClientSession | None = None
        self._generation = 0
        self.recent: deque[dict[str, Any]] = deque(maxlen=RECENT)
        self.counts = {
            "events": 0,
            "posts": 0,
            "failed_posts": 0,
            "acked_events": 0,
            "given_up_events": 0,
            "duplicates": 0,
        }
        self._in_flight = 0

    # -- the notify side -----------------------------------------------------------------

    def notify(self, event: Event) -> None:
        """Queue one event (called from the vendor's notify hook, on the event loop)."""
        if self.subscription is None:
            return
        self._queue.append(event)
        self.counts["events"] += 1
        self._ensure_loop()
        assert self._wake is not None
        self._wake.set()

    @property
    def pending(self) -> int:
        """Events queued or in a batch not yet acknowledged (nor given up)."""
        return len(self._queue) + self._in_flight

    # -- configuration -------------------------------------------------------------------

    def configure(self, subscription: Subscription) -> None:
        self.stop()
        self.subscription = subscription

    def stop(self) -> None:
        """Forget the subscription and everything queued or retrying."""
        self.subscription = None
        self._generation += 1
        self._queue.clear()
        self._in_flight = 0
        for task in list(self._tasks):
            task.cancel()
        self._tasks.clear()
        self._wake = None
        self._slots = None

    async def close(self) -> None:
        self.stop()
        if self._http is not None:
            await self._http.close()
            self._http = None

    def view(self) -> dict[str, Any]:
        return {
            "subscription": None if self.subscription is None else self.subscription.view(),
            "pending": self.pending,
            **self.counts,
            "deliveries": list(self.recent),
        }

    # -- the delivery loop ---------------------------------------------------------------

    def _ensure_loop(self) -> None:
        if self._wake is not None:
            return
        self._wake = asyncio.Event()
        self._slots = asyncio.Semaphore(self.policy.max_concurrent)
        self._spawn(self._run(self._generation))

    def _spawn(self, coro: Awaitable[None]) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _run(self, generation: int) -> None:
        while generation == self._generation:
            wake, slots, sub = self._wake, self._slots, self.subscription
            if wake is None or slots is None or sub is None:
                return
            await wake.wait()
            wake.clear()
            # Events written close together travel together, as the vendors batch them.
            await asyncio.sleep(sub.batch_window_ms / 1000)
            while self._queue and generation == self._generation:
                events = self._queue[:MAX_BATCH]
                del self._queue[:MAX_BATCH]
                if sub.reorder:
                    self._rng.shuffle(events)
                self._in_flight += len(events)
                await slots.acquire()
                self._spawn(self._deliver(_Batch(events), generation))

    async def _deliver(self, batch: _Batch, generation: int) -> None:
        assert self._slots is not None
        slots = self._slots
        held = True
        try:
            while generation == self._generation:
                sub = self.subscription
                assert sub is not None
                if sub.reorder and not self.policy.hold_back:
                    # Let a later batch overtake this one now and then.
                    await asyncio.sleep(self._rng.random() * sub.batch_window_ms / 1000)
                ok = await self._post(batch, sub)
                if ok:
                    self.counts["acked_events"] += len(batch.events)
                    if self._rng.random() < sub.duplicate_rate:
                        self.counts["duplicates"] += 1
                        # The vendor sends the same events again (it missed our ack).
                        await self._post(_Batch(batch.events, batch.attempt, True), sub)
                    return
                batch.attempt += 1
                if batch.attempt >= self.policy.max_attempts:
                    self.counts["given_up_events"] += len(batch.events)
                    return
                wait = self.policy.delay(batch.attempt - 1) * sub.retry_scale
                if not self.policy.hold_back and held:
                    slots.release()  # other batches go on while this one waits
                    held = False
                await asyncio.sleep(wait)
                if not held:
                    await slots.acquire()
                    held = True
        finally:
            if generation == self._generation:
                self._in_flight -= len(batch.events)
            if held:
                slots.release()

    async def _post(self, batch: _Batch, sub: Subscription) -> bool:
        body, headers = self.renderer(batch.events, batch.attempt, sub)
        headers = {"Content-Type": "application/json", **headers}
        started = time.time()
        status: int | None = None
        error: str | None = None
        try:
            http = self._client()
            timeout = aiohttp.ClientTimeout(total=self.policy.timeout)
            async with http.post(
                sub.target_url, data=body, headers=headers, timeout=timeout
            ) as response:
                status = response.status
                await response.read()
        except (TimeoutError, aiohttp.ClientError) as exc:
            error = type(exc).__name__
        self.counts["posts"] += 1
        ok = status is not None and 200 <= status < 300
        if not ok:
            self.counts["failed_posts"] += 1
        self.recent.append(
            {
                "at": started,
                "attempt": batch.attempt,
                "events": len(batch.events),
                "status": status,
                "error": error,
                "duplicate": batch.duplicate,
                "ms": round((time.time() - started) * 1000, 1),
            }
        )
        return ok

    def _client(self) -> aiohttp.ClientSession:
        if self._http is None or self._http.closed:
            self._http = aiohttp.ClientSession()
        return self._http


# Set by each vendor app that sends webhooks: its sender and its subscription parser.
SENDER = web.AppKey("webhook_sender", WebhookSender)
PARSER = web.AppKey("webhook_parser", Callable[[dict[str, Any]], Subscription])


def subscribe(app: web.Application, options: dict[str, Any]) -> None:
    """Set ``app``'s webhook target from subscription ``options`` (as the admin PUT
    takes them); ValueError names a bad option. For the CLI, before the app serves."""
    app[SENDER].configure(app[PARSER](options))


def add_admin_routes(
    router: web.UrlDispatcher,
    prefix: str,
    sender: WebhookSender,
    parse: Callable[[dict[str, Any]], Subscription],
) -> None:
    """``PUT/GET/DELETE <prefix>/webhooks`` for ``sender``; ``parse`` reads the vendor's
    subscription options (ValueError → 400)."""

    async def put(request: web.Request) -> web.StreamResponse:
        sender.configure(parse(await read_object(request)))
        return json_response(sender.view(), 201)

    async def get(request: web.Request) -> web.StreamResponse:
        return json_response(sender.view())

    async def delete(request: web.Request) -> web.StreamResponse:
        sender.stop()
        return web.Response(status=204)

    route = prefix.rstrip("/") + "/webhooks"
    router.add_put(route, admin_handler(put))
    router.add_get(route, admin_handler(get))
    router.add_delete(route, admin_handler(delete))


def attach(
    app: web.Application, sender: WebhookSender, parse: Callable[[dict[str, Any]], Subscription]
) -> None:
    """Make ``sender`` the app's (for `subscribe`) and close its HTTP client when the app
    shuts down."""
    app[SENDER] = sender
    app[PARSER] = parse

    async def cleanup(_: web.Application) -> None:
        with contextlib.suppress(Exception):
            await sender.close()

    app.on_cleanup.append(cleanup)
