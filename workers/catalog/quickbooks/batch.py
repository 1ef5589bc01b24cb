"""QBO ``/batch`` for Item writes (api-reference §2.4, §2.8; checklist 27, 31).

A batch answers HTTP 200 even when items fail: each ``BatchItemResponse`` entry names its
``bId`` and carries either the Item or that item's own ``Fault``, classified by the same
`workers.http.quickbooks_errors.from_fault` as a single call's fault. Batch items carry no
``requestid`` of their own, only the batch does; it is derived from the items' request ids,
so a batch re-sent after a lost answer is the same batch and QBO replays the first answer
instead of creating everything again.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from typing import Any

from workers.catalog.port import Record
from workers.catalog.quickbooks.records import record_from
from workers.errors import DataError, SyncError, TransientError
from workers.http.jsonwire import WireError, dumps
from workers.http.quickbooks_errors import faults, from_fault

MAX_ITEMS = 30  # QBO's documented maximum of operations per batch

# Fixed, so batch request ids are the same in every process and release.
_NAMESPACE = uuid.UUID("5f0c7d1e-2b8a-4c53-9e61-7a3d2f4b8c90")
# A batch item's Fault has no HTTP status of its own: the status a single call with that
# fault type would have answered, so `from_fault` reads it the same way.
_STATUS_BY_FAULT_TYPE = {"SystemFault": 500, "AuthenticationFault": 401, "AuthorizationFault": 403}


def request_id(realm_id: str, item_request_ids: Iterable[str]) -> str:
    """The batch's ``requestid``: the same for the same set of items, in any order."""
    return str(uuid.uuid5(_NAMESPACE, "\n".join([realm_id, *sorted(item_request_ids)])))


def unsendable(body: Mapping[str, Any]) -> SyncError | None:
    """Why one item body cannot go on the wire (a float, a NaN), so that item fails alone
    instead of failing every item of its batch."""
    try:
        dumps(body)
    except WireError as exc:
        return DataError(f"the item cannot be sent to QuickBooks: {exc}", system="quickbooks")
    return None


def item_results(body: Any, bids: Iterable[str]) -> dict[str, Record | SyncError]:
    """Each ``bId``'s Record or error. An item the answer does not mention was perhaps
    written, perhaps not: a retryable error with ``outcome_unknown``."""
    answers = body.get("BatchItemResponse") if isinstance(body, dict) else None
    if not isinstance(answers, list):
        return {bid: outcome_unknown("a batch without BatchItemResponse") for bid in bids}
    by_bid = {str(a["bId"]): a for a in answers if isinstance(a, dict) and a.get("bId") is not None}
    results: dict[str, Record | SyncError] = {}
    for bid in bids:
        answer = by_bid.get(bid)
        if answer is None:
            results[bid] = outcome_unknown(f"a batch without item {bid}")
        elif "Fault" in answer or "fault" in answer:
            results[bid] = item_error(answer)
        elif isinstance(answer.get("Item"), dict):
            try:
                results[bid] = record_from(answer["Item"])
            except TransientError:
                results[bid] = outcome_unknown(f"batch item {bid} without an Id")
        else:
            results[bid] = outcome_unknown(f"batch item {bid} without an Item")
    return results


def item_error(answer: Mapping[str, Any]) -> SyncError:
    """One batch item's Fault in the error tree."""
    found = faults(answer)
    first = found[0] if found else None
    status = _STATUS_BY_FAULT_TYPE.get(first.type, 400) if first else 400
    code = first.code if first else ""
    text = (f"{first.message}: {first.detail}".strip(": ") if first else "") or "no details"
    common: dict[str, Any] = {"system": "quickbooks", "status": status, "vendor_code": code or None}
    if len(found) > 1:
        common["details"] = {"faults": [f"{f.code} {f.message}" for f in found]}
    return from_fault(status, code, text, "", None, common)


def outcome_unknown(what: str) -> TransientError:
    return TransientError(
        f"QuickBooks answered {what}; retrying with the same requestid",
        system="quickbooks",
        details={"outcome_unknown": True},
    )
