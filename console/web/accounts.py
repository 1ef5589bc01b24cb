"""Accounts: the list with full-sync buttons, and each account's direction, lifecycle
policy (and mass-archive hold) and mappings."""

from __future__ import annotations

from collections.abc import Sequence

from flask import (
    Blueprint,
    abort,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from werkzeug import Response
from werkzeug.datastructures import MultiDict

from console import actions
from console.views import direction_label, poll_wait, worker_liveness
from console.views import lifecycle as lifecycle_of
from console.web import queries
from console.web.state import account_or_404, db, redis_client, settings
from models.account import LIFECYCLE_POLICIES
from models.field_mapping import CONVERTERS
from workers.catalog.port import DIRECTIONS
from workers.engine import lifecycle_policy
from workers.mapping import FieldMapping, MappingInvalid

bp = Blueprint("accounts", __name__)


@bp.get("/accounts")
def index() -> str:
    with db() as session:
        rows = [
            (
                account,
                queries.credentials(session, account.id),
                queries.recent_runs(session, account.id, limit=1),
                poll_wait(session, account.id),
            )
            for account in queries.accounts(session)
        ]
    return render_template("accounts.html", rows=rows, workers=worker_liveness(redis_client()))


def _render_settings(
    account_id: int,
    *,
    mappings: Sequence[FieldMapping] | None = None,
    problems: Sequence[str] = (),
    status: int = 200,
) -> tuple[str, int]:
    with db() as session:
        account = account_or_404(session, account_id)
        creds = queries.credentials(session, account.id)
        runs = queries.recent_runs(session, account.id)
        lifecycle_state = lifecycle_of(session, account)
    if mappings is None:
        mappings = actions.current_mappings(settings(), account_id)
    page = render_template(
        "account.html",
        account=account,
        credentials=creds,
        runs=runs,
        mappings=mappings,
        problems=problems,
        converters=CONVERTERS,
        directions=DIRECTIONS,
        progress=queries.run_progress,
        lifecycle=lifecycle_state,
        policies=LIFECYCLE_POLICIES,
    )
    return page, status


@bp.get("/accounts/<int:account_id>")
def show(account_id: int) -> tuple[str, int]:
    return _render_settings(account_id)


@bp.post("/accounts/<int:account_id>/direction")
def direction(account_id: int) -> Response:
    wanted = request.form.get("direction", "")
    if wanted not in DIRECTIONS:
        abort(400, description="Choose one of the two directions.")
    with db() as session:
        account = account_or_404(session, account_id)
        current = account.direction
    if wanted == current:
        flash("The direction was already set that way; nothing changed.", "ok")
    else:
        skipped = actions.set_direction(settings(), account_id, wanted)  # type: ignore[arg-type]
        note = f" {skipped} waiting sync(s) of the old direction were skipped." if skipped else ""
        flash(f"Direction switched to {direction_label(wanted)}.{note}", "ok")
    return redirect(url_for("accounts.show", account_id=account_id))


@bp.post("/accounts/<int:account_id>/lifecycle")
def lifecycle(account_id: int) -> Response:
    """The lifecycle policy, or (``release``) the mass-archive hold's release."""
    wanted = request.form.get("policy", "")
    release = request.form.get("release") == "1"
    if not release and wanted not in LIFECYCLE_POLICIES:
        abort(400, description="Choose ignore or mirror.")
    with db() as session:
        account = account_or_404(session, account_id)
        if release:
            released = lifecycle_policy.release(session, account, by="web page")
            message = f"Hold released: {len(released)} held archive jobs run now."
        elif wanted == account.lifecycle_policy:
            released, message = [], "The lifecycle policy was already set that way."
        else:
            released = lifecycle_policy.set_policy(session, account, wanted, by="web page")
            message = f"Lifecycle policy set to {wanted}."
    if released:
        actions.announce(settings(), released)
    flash(message, "ok")
    return redirect(url_for("accounts.show", account_id=account_id))


def mappings_from_form(form: MultiDict[str, str]) -> list[FieldMapping]:
    """The table as submitted: kept rows (not ticked for removal) plus the new row if
    filled in. Values are taken verbatim; validation happens on save."""
    rows: list[FieldMapping] = []
    try:
        count = min(int(form.get("rows", "0")), 200)
    except ValueError:
        count = 0
    for i in range(count):
        if form.get(f"remove-{i}"):
            continue
        hubspot_field = form.get(f"hubspot-{i}", "").strip()
        quickbooks_field = form.get(f"quickbooks-{i}", "").strip()
        converter = form.get(f"converter-{i}", "").strip()
        if hubspot_field or quickbooks_field:
            rows.append(FieldMapping(hubspot_field, quickbooks_field, converter))  # type: ignore[arg-type]
    new_hubspot = form.get("new-hubspot", "").strip()
    new_quickbooks = form.get("new-quickbooks", "").strip()
    if new_hubspot or new_quickbooks:
        rows.append(
            FieldMapping(new_hubspot, new_quickbooks, form.get("new-converter", "text").strip())  # type: ignore[arg-type]
        )
    return rows


@bp.post("/accounts/<int:account_id>/mappings")
def save_mappings(account_id: int) -> Response | tuple[str, int]:
    with db() as session:
        account_or_404(session, account_id)
    wanted = mappings_from_form(request.form)
    try:
        actions.save_mappings(settings(), account_id, wanted, redis_client=redis_client())
    except MappingInvalid as exc:
        # Nothing was saved: show the table as submitted, with every problem named.
        return _render_settings(account_id, mappings=wanted, problems=exc.problems, status=422)
    flash(f"Saved {len(wanted)} field mappings.", "ok")
    return redirect(url_for("accounts.show", account_id=account_id))


@bp.post("/accounts/<int:account_id>/mappings/reset")
def reset_mappings(account_id: int) -> Response:
    with db() as session:
        account_or_404(session, account_id)
    actions.reset_mappings(settings(), account_id)
    flash("Field mappings reset to the defaults.", "ok")
    return redirect(url_for("accounts.show", account_id=account_id))
