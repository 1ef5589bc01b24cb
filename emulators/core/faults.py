"""Scripted faults: "the next N requests matching (method, path, account) → action".

Core actions (handled by `emulators.core.app`):

``status``         answer ``status`` with ``body`` (JSON object/array or text) and ``headers``
                   instead of running the real handler (429 with or without Retry-After, 5xx…).
``hang``           sleep ``seconds`` first (past the client's timeout). With ``perform``
                   (default true) the real operation then runs and answers, as a slow vendor
                   does; with ``perform: false`` the answer is a 504 and nothing happens.
``reset``          close the TCP connection (RST) without answering; nothing happens.
``truncate``       run the real operation, send headers whose Content-Length exceeds the body,
                   send part of the body, then close.
``lose_response``  run the real operation, then drop the connection without answering
                   (the server acted, the response was lost).

A vendor may add actions (``Vendor.extra_fault_actions``) such as token expiry or a stale
SyncToken race; their rules carry free-form ``params``.
"""

from __future__ import annotations

import itertools
import re
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

CORE_ACTIONS = ("status", "hang", "reset", "truncate", "lose_response")


class FaultError(ValueError):
    """A fault rule is malformed; the message says which field."""


@dataclass
class FaultRule:
    id: int
    action: str
    path: str = ".*"
    method: str = "*"
    account: str | None = None
    times: int = 1
    status: int = 500
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0
    perform: bool = True
    params: dict[str, Any] = field(default_factory=dict)
    _pattern: re.Pattern[str] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._pattern = re.compile(self.path)

    def matches(self, method: str, path: str, account: str | None) -> bool:
        return (
            self.times > 0
            and (self.method == "*" or self.method == method)
            and (self.account is None or self.account == account)
            and self._pattern.search(path) is not None
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "action": self.action,
            "path": self.path,
            "method": self.method,
            "account": self.account,
            "times": self.times,
            "status": self.status,
            "body": self.body,
            "headers": self.headers,
            "seconds": self.seconds,
            "perform": self.perform,
            "params": self.params,
        }


def _typed(raw: Mapping[str, Any], name: str, kind: type | tuple[type, ...], default: Any) -> Any:
    value = raw.get(name, default)
    if value is default:
        return value
    if isinstance(value, bool) and kind is not bool:
        raise FaultError(f"fault field {name!r} has the wrong type")
    if not isinstance(value, kind):
        raise FaultError(f"fault field {name!r} has the wrong type")
    return value


class FaultBook:
    """The pending fault rules of one emulator; the first matching rule wins and is consumed."""

    def __init__(self, extra_actions: Iterable[str] = ()) -> None:
        self.actions = frozenset(CORE_ACTIONS) | frozenset(extra_actions)
        self._rules: list[FaultRule] = []
        self._ids = itertools.count(1)
        self._lock = threading.Lock()

    def add(self, raw: Mapping[str, Any]) -> FaultRule:
        """Validate a rule given as JSON and queue it."""
        known = set(FaultRule.__dataclass_fields__) - {"id", "_pattern"}
        unknown = set(raw) - known
        if unknown:
            raise FaultError(f"unknown fault fields: {', '.join(sorted(unknown))}")
        action = raw.get("action")
        if action not in self.actions:
            raise FaultError(f"action must be one of {', '.join(sorted(self.actions))}")
        path = _typed(raw, "path", str, ".*")
        try:
            re.compile(path)
        except re.error as exc:
            raise FaultError(f"path is not a valid regular expression: {exc}") from None
        status = _typed(raw, "status", int, 500)
        if not 100 <= status <= 599:
            raise FaultError("status must be an HTTP status code")
        times = _typed(raw, "times", int, 1)
        if times < 1:
            raise FaultError("times must be at least 1")
        seconds = float(_typed(raw, "seconds", (int, float), 0.0))
        if seconds < 0:
            raise FaultError("seconds must not be negative")
        headers = _typed(raw, "headers", dict, {})
        rule = FaultRule(
            id=next(self._ids),
            action=action,
            path=path,
            method=_typed(raw, "method", str, "*").upper(),
            account=_typed(raw, "account", (str, type(None)), None),
            times=times,
            status=status,
            body=raw.get("body"),
            headers={str(k): str(v) for k, v in headers.items()},
            seconds=seconds,
            perform=_typed(raw, "perform", bool, True),
            params=dict(_typed(raw, "params", dict, {})),
        )
        with self._lock:
            self._rules.append(rule)
        return rule

    def take(self, method: str, path: str, account: str | None) -> FaultRule | None:
        """The first pending rule matching this request, with one use consumed."""
        if not self._rules:  # the common case costs one truthiness check
            return None
        with self._lock:
            for rule in self._rules:
                if rule.matches(method, path, account):
                    rule.times -= 1
                    if rule.times == 0:
                        self._rules.remove(rule)
                    return rule
        return None

    def rules(self) -> list[FaultRule]:
        with self._lock:
            return list(self._rules)

    def remove(self, rule_id: int) -> bool:
        with self._lock:
            before = len(self._rules)
            self._rules = [r for r in self._rules if r.id != rule_id]
            return len(self._rules) != before

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()
