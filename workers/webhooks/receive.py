"""One webhook delivery, from raw request to committed jobs: verify, read, record.

::

    verify the signature (constant time)   refused → 401, counted per account it names
    read the JSON into changes             not the vendor's format → 400
    ONE transaction: job rows (`intake`)   database down → 503: the vendor retries later
    count it (Redis), return the new jobs  the caller answers 200, then announces them

No vendor is called: the worker that takes a job fetches the product as for a polled
change. Secrets come from the settings and go nowhere else.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import redis
from sqlalchemy.exc import SQLAlchemyError

from models.db import session_scope
from workers.engine.context import Dispatch
from workers.settings import Settings
from workers.webhooks import stats
from workers.webhooks.events import Change, MalformedPayload, hubspot_changes, intuit_changes
from workers.webhooks.intake import accounts_named, take_changes
from workers.webhooks.signatures import SignatureRefused, verify_hubspot, verify_intuit

log = logging.getLogger(__name__)

SYSTEMS = ("hubspot", "quickbooks")


@dataclass(frozen=True)
class Delivery:
    system: str  # "hubspot" or "quickbooks"
    method: str
    uri: str  # as the vendor called it (see `signatures.public_uri`)
    body: bytes
    headers: Mapping[str, str]


@dataclass(frozen=True)
class Answer:
    status: int
    body: dict[str, Any]
    dispatches: list[Dispatch] = field(default_factory=list)
    by_account: dict[int, list[Dispatch]] = field(default_factory=dict)  # to announce


def receive(settings: Settings, client: redis.Redis, delivery: Delivery, now: datetime) -> Answer:
    system = delivery.system
    try:
        _verify(settings, delivery, now)
    except SignatureRefused as refused:
        return refuse(settings, client, delivery, refused.reason, now)
    try:
        changes = _changes(system, json.loads(delivery.body))
    except (ValueError, MalformedPayload) as exc:
        stats.note_refused(client, system, (), "malformed", now)
        log.warning("%s webhook refused: malformed body (%s)", system, exc)
        return Answer(400, {"error": "malformed", "message": str(exc)[:200]})
    try:
        with session_scope(settings.database_url) as session:
            intake = take_changes(session, system, changes)
    except SQLAlchemyError as exc:
        log.warning("%s webhook not recorded, the vendor will retry: %s", system,
                    type(exc).__name__)
        return Answer(503, {"error": "unavailable", "message": "Try again later."})
    stats.note_intake(client, system, intake, now)
    accepted = sum(intake.accepted.values())
    dropped = sum(intake.dropped.values())
    log.info("%s webhook: %s events, %s new jobs, %s dropped, %s for no account", system,
             len(changes), len(intake.dispatches), dropped, intake.unknown)
    return Answer(
        200,
        {"accepted": accepted, "new_jobs": len(intake.dispatches), "dropped": dropped,
         "unknown": intake.unknown},
        intake.dispatches,
        intake.by_account,
    )


def refuse(
    settings: Settings, client: redis.Redis, delivery: Delivery, reason: str, now: datetime
) -> Answer:
    """Count a refused delivery against the accounts its body names (an unverified claim,
    but the operator's first clue: a wrong secret refuses every delivery of a portal)."""
    named = _named_accounts(settings, delivery)
    stats.note_refused(client, delivery.system, named, reason, now)
    log.warning("%s webhook refused: %s", delivery.system, reason)
    status = 413 if reason == "too_large" else 401
    if reason == "not_configured":
        status = 404
    return Answer(status, {"error": reason})


def _verify(settings: Settings, delivery: Delivery, now: datetime) -> None:
    if delivery.system == "hubspot":
        verify_hubspot(
            secret=settings.effective_hubspot_webhook_secret.reveal(),
            method=delivery.method,
            uri=delivery.uri,
            body=delivery.body,
            headers=delivery.headers,
            now_ms=int(now.timestamp() * 1000),
            versions=settings.hubspot_webhook_signature_versions,
        )
    else:
        verify_intuit(
            verifier_token=settings.quickbooks_webhook_verifier_token.reveal(),
            body=delivery.body,
            signature=delivery.headers.get("intuit-signature"),
        )


def _changes(system: str, payload: Any) -> list[Change]:
    return hubspot_changes(payload) if system == "hubspot" else intuit_changes(payload)


def _named_accounts(settings: Settings, delivery: Delivery) -> list[int]:
    try:
        keys = {c.account_key for c in _changes(delivery.system, json.loads(delivery.body))}
    except (ValueError, MalformedPayload):
        return []
    try:
        with session_scope(settings.database_url) as session:
            return [a.id for a in accounts_named(session, delivery.system, sorted(keys))]
    except SQLAlchemyError:
        return []
