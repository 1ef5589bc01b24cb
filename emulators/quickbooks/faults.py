"""The two error envelopes QuickBooks Online answers with.

* Data-service faults (validation, stale object, not found, query errors): HTTP 400 (or
  500) with capitalised keys, ``{"Fault": {"Error": [{"Message", "Detail", "code",
  "element"}], "type": "ValidationFault"}, "time": …}`` — names from
  ``IntuitRestServiceDef.xsd`` (Fault/Error). Raised as :class:`QboFault`.
* Gateway faults (401 authentication, 403 authorization, 429 throttle): lower-case keys
  and a different shape (api-reference §2.7). Raised as :class:`GatewayFault`.

Constructors below carry the vendor's codes and wording; every code used by the emulator
is produced here so the messages stay in one place.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "STALE_USER",
    "GatewayFault",
    "QboError",
    "QboFault",
    "bad_enum",
    "bad_property",
    "bad_reference",
    "business_rule",
    "duplicate_name",
    "forbidden",
    "not_found",
    "processing_error",
    "query_not_queryable",
    "query_parse_error",
    "required_missing",
    "stale_object",
    "string_length",
    "system_fault",
    "throttled",
    "unauthorized",
    "unsupported_operation",
]

STALE_USER = "Emulator User"


@dataclass(frozen=True)
class QboError:
    """One ``Error`` entry: ``Message``, ``Detail``, ``code`` (a string), ``element``."""

    code: str
    message: str
    detail: str
    element: str = ""

    def as_json(self) -> dict[str, str]:
        return {"Message": self.message, "Detail": self.detail, "code": self.code,
                "element": self.element}


class QboFault(Exception):
    """A data-service fault; ``status`` is the HTTP status (400 unless stated)."""

    def __init__(self, errors: list[QboError], *, fault_type: str = "ValidationFault",
                 status: int = 400) -> None:
        super().__init__(errors[0].message if errors else fault_type)
        self.errors = errors
        self.fault_type = fault_type
        self.status = status

    @property
    def code(self) -> str:
        return self.errors[0].code

    def fault_json(self) -> dict[str, Any]:
        """The ``Fault`` object (also what a batch item carries)."""
        return {"Error": [error.as_json() for error in self.errors], "type": self.fault_type}


def _fault(code: str, message: str, detail: str, element: str = "") -> QboFault:
    return QboFault([QboError(code, message, detail, element)])


def not_found(entity: str, entity_id: str) -> QboFault:
    return _fault(
        "610", "Object Not Found",
        "Object Not Found : Something you're trying to use has been made inactive. "
        f"Check the fields with accounts, customers, items, vendors or employees. "
        f"({entity} {entity_id})",
    )


def required_missing(element: str) -> QboFault:
    return _fault("2020", "Required param missing, need to supply the required value for the API",
                  f"Required parameter {element} is missing in the request", element)


def string_length(element: str, maximum: int, supplied: int) -> QboFault:
    return _fault(
        "2050", "String length is either shorter or longer than supported by specification",
        f"String length specified does not match the supported length. Min:0 Max:{maximum} "
        f"supported. Supplied length:{supplied}", element)


def bad_enum(element: str, value: object) -> QboFault:
    return _fault("2170", "Invalid Enumeration", f"Invalid Enumeration : {value}", element)


def bad_reference(element: str, value: object) -> QboFault:
    return _fault("2500", "Invalid Reference Id",
                  f"Invalid Reference Id : {element} assigned is invalid: {value}", element)


def bad_property(detail: str, element: str = "") -> QboFault:
    """2010: unknown property or a value of the wrong type (the deserializer's refusal)."""
    return _fault("2010", "Request has invalid or unsupported property",
                  f"Property Name:{detail} specified is unsupported or invalid", element)


def business_rule(detail: str, element: str = "") -> QboFault:
    return _fault("6000", "A business validation error has occurred while processing your "
                  "request", f"Business Validation Error: {detail}", element)


def duplicate_name() -> QboFault:
    return _fault("6240", "Duplicate Name Exists Error",
                  "The name supplied already exists. : Another product or service is already "
                  "using this name. Please use a different name.", "")


def stale_object(user: str = STALE_USER) -> QboFault:
    return _fault("5010", "Stale Object Error",
                  f"Stale Object Error : You and {user} were working on this at the same time. "
                  f"{user} finished before you did, so your work was not saved.")


def query_parse_error(token: str, column: int, expecting: str = "") -> QboFault:
    detail = f'QueryParserError: Encountered " {token} " at line 1, column {column}.'
    if expecting:
        detail += f"\nWas expecting one of: {expecting}"
    return _fault("4000", "Error parsing query", detail)


def query_not_queryable(detail: str) -> QboFault:
    return _fault("4001", "Invalid query", f"QueryValidationError: {detail}")


def processing_error(detail: str) -> QboFault:
    """4002: a well-formed request the service cannot run (CDC window, CDC size)."""
    return _fault("4002", "Error processing query", detail)


def system_fault() -> QboFault:
    """10000: the vendor's own failure (HTTP 500, SystemFault)."""
    return QboFault([QboError("10000", "An application error has occurred while processing "
                              "your request", "System Failure Error: An unexpected error "
                              "occurred while accessing or saving your data. Please wait a few "
                              "minutes and try again. If the problem persists, contact "
                              "customer support.")], fault_type="SystemFault", status=500)


def unsupported_operation(detail: str) -> QboFault:
    return _fault("500", "Unsupported Operation", detail)


@dataclass
class GatewayFault(Exception):
    """A gateway answer (401/403/429) with the lower-case ``fault`` body."""

    status: int
    message: str
    detail: str
    code: str
    fault_type: str
    headers: dict[str, str] = field(default_factory=dict)

    def body(self, now_ms: int) -> dict[str, Any]:
        return {
            "warnings": None, "intuitObject": None,
            "fault": {"error": [{"message": self.message, "detail": self.detail,
                                 "code": self.code, "element": None}],
                      "type": self.fault_type},
            "report": None, "queryResponse": None, "batchItemResponse": [],
            "attachableResponse": [], "syncErrorResponse": None, "requestId": None,
            "time": now_ms, "status": None, "cdcresponse": [],
        }


def unauthorized(detail: str) -> GatewayFault:
    return GatewayFault(
        401, "message=AuthenticationFailed; errorCode=003200; statusCode=401", detail, "3200",
        "AUTHENTICATION",
        {"WWW-Authenticate": 'Bearer realm="Intuit", error="invalid_token"'},
    )


def forbidden(detail: str) -> GatewayFault:
    return GatewayFault(403, "message=ApplicationAuthorizationFailed; errorCode=003100; "
                        "statusCode=403", detail, "3100", "AUTHORIZATION")


def throttled(detail: str, retry_after: int | None) -> GatewayFault:
    headers = {"Retry-After": str(retry_after)} if retry_after is not None else {}
    return GatewayFault(429, "message=ThrottleExceeded; errorCode=003001; statusCode=429",
                        detail, "3001", "SERVICE", headers)
