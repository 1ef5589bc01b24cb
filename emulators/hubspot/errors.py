"""HubSpot's error envelopes, exactly as the vendor sends them.

Two shapes exist: the standard ``Error`` schema of the CRM APIs (``status``, ``message``,
``correlationId``, ``category``, optional ``errors``/``context``/``links``), and the
rate-limit bodies, which carry ``errorType``/``policyName`` instead of ``category``.
Property validation failures embed a JSON list of per-property results in ``message``.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from emulators.core import json_response

CORRELATION_HEADER = "X-HubSpot-Correlation-Id"


def correlation_id() -> str:
    return str(uuid.uuid4())


class HubSpotError(Exception):
    """An error answer. Raised anywhere below a handler; the API wrapper renders it."""

    def __init__(
        self,
        status: int,
        category: str,
        message: str,
        *,
        extra: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.category = category
        self.message = message
        self.extra = dict(extra or {})
        self.headers = dict(headers or {})

    def body(self, correlation: str) -> dict[str, Any]:
        return {
            "status": "error",
            "message": self.message,
            "correlationId": correlation,
            "category": self.category,
            **self.extra,
        }

    def response(self, correlation: str) -> web.Response:
        headers = {CORRELATION_HEADER: correlation, **self.headers}
        return json_response(self.body(correlation), self.status, headers)


def validation_error(message: str, **extra: Any) -> HubSpotError:
    return HubSpotError(400, "VALIDATION_ERROR", message, extra=extra)


@dataclass(frozen=True)
class PropertyProblem:
    """One property's refusal, as HubSpot lists it inside the error message."""

    name: str
    error: str  # PROPERTY_DOESNT_EXIST, READ_ONLY_VALUE, INVALID_OPTION, INVALID_FLOAT, ...
    message: str
    extra: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "isValid": False,
            "message": self.message,
            "error": self.error,
            "name": self.name,
            "localizedErrorMessage": self.message,
            **self.extra,
        }


def property_error(problems: Sequence[PropertyProblem]) -> HubSpotError:
    """400 VALIDATION_ERROR with the per-property list embedded in ``message`` (as the vendor
    does) and mirrored in ``errors`` with ``context.propertyName``."""
    listing = json.dumps([p.as_dict() for p in problems], separators=(",", ":"))
    return validation_error(
        f"Property values were not valid: {listing}",
        errors=[
            {"message": p.message, "code": p.error, "context": {"propertyName": [p.name]}}
            for p in problems
        ],
    )


def non_unique_id_property(name: str, portal_id: str) -> HubSpotError:
    # Wording from real responses (segmentio/action-destinations#3957); 0-7 = products.
    return validation_error(
        f"Unable to perform update/upsert by non-unique 0-7 property {name} "
        f"in portal ID {portal_id}"
    )


def rate_limit_body(policy: str, message: str, correlation: str, **extra: Any) -> dict[str, Any]:
    """The 429 body: ``errorType``/``policyName``, no ``category`` (as seen in the wild)."""
    return {
        "status": "error",
        "message": message,
        "errorType": "RATE_LIMIT",
        "correlationId": correlation,
        "policyName": policy,
        **extra,
    }


class RateLimited(HubSpotError):
    """429 with one of the vendor's rate-limit bodies."""

    def __init__(self, policy: str, message: str, headers: Mapping[str, str], **extra: Any):
        super().__init__(429, "RATE_LIMIT", message, extra=extra, headers=headers)
        self.policy = policy

    def body(self, correlation: str) -> dict[str, Any]:
        return rate_limit_body(self.policy, self.message, correlation, **self.extra)


class NotFound(HubSpotError):
    """404 whose body style is a knob: HubSpot sometimes sends nothing, or HTML."""

    def __init__(self, message: str = "resource not found") -> None:
        super().__init__(404, "OBJECT_NOT_FOUND", message)
        self.style = "json"

    def response(self, correlation: str) -> web.Response:
        headers = {CORRELATION_HEADER: correlation}
        if self.style == "empty":
            return web.Response(status=404, headers=headers)
        if self.style == "html":
            html = "<html><body><h1>404 Not Found</h1></body></html>"
            return web.Response(status=404, text=html, content_type="text/html", headers=headers)
        return super().response(correlation)
