"""``POST /webhooks/hubspot`` and ``POST /webhooks/quickbooks``: the vendors' change
notifications. Open to anyone (no login, no CSRF token: the vendor's signature is the
proof, checked by `workers.webhooks`), answered fast: a size check, the signature, one
transaction of job rows, then the job ids go to the broker. No vendor is called here.

Behind a reverse proxy, set ``PRODUCTSYNC_PUBLIC_URL`` to the address the vendors call:
HubSpot signs the full URL it called, which the web process cannot see for itself.
"""

from __future__ import annotations

from datetime import UTC, datetime

from flask import Blueprint, Response, jsonify, request
from werkzeug.exceptions import RequestEntityTooLarge

from console.actions import announce_webhook_jobs
from console.web.state import redis_client, settings
from workers.webhooks import Answer, Delivery, receive
from workers.webhooks.receive import refuse
from workers.webhooks.signatures import public_uri

bp = Blueprint("webhooks", __name__)


@bp.post("/webhooks/hubspot")
def hubspot() -> tuple[Response, int]:
    return _receive("hubspot")


@bp.post("/webhooks/quickbooks")
def quickbooks() -> tuple[Response, int]:
    return _receive("quickbooks")


def _receive(system: str) -> tuple[Response, int]:
    s = settings()
    now = datetime.now(UTC)
    uri = public_uri(
        s.public_url, request.path, request.query_string.decode("latin-1"), request.url
    )
    request.max_content_length = s.webhook_max_body_bytes
    try:
        body = request.get_data(cache=False)
    except RequestEntityTooLarge:
        empty = Delivery(system, request.method, uri, b"", request.headers)
        return _answer(refuse(s, redis_client(), empty, "too_large", now))
    delivery = Delivery(system, request.method, uri, body, request.headers)
    answer = receive(s, redis_client(), delivery, now)
    if answer.by_account:
        announce_webhook_jobs(s, redis_client(), answer.by_account)
    return _answer(answer)


def _answer(answer: Answer) -> tuple[Response, int]:
    return jsonify(answer.body), answer.status
