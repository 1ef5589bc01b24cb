"""Full syncs: the start button's endpoint, the live run page and its JSON progress feed."""

from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, abort, flash, jsonify, redirect, render_template, url_for
from werkzeug import Response

from console import actions
from console.views import active_runs
from console.web import queries
from console.web.state import account_or_404, db, settings
from models import Account, SyncRun, utcnow

bp = Blueprint("runs", __name__)


# A full sync still going after this long is not one a second click should wait for
# (its jobs end on their own; a new run simply finds most products unchanged).
ACTIVE_RUN_BLOCKS_FOR = timedelta(hours=6)


@bp.post("/accounts/<int:account_id>/full-sync")
def start(account_id: int) -> Response:
    with db() as session:
        account_or_404(session, account_id)
        recent = [
            run
            for run in active_runs(session, account_id)
            if run.started_at > utcnow() - ACTIVE_RUN_BLOCKS_FOR
        ]
    if recent:
        # A double click, or a second operator: show the run that is going instead.
        flash("A full sync of this account is already running; here is its progress.", "ok")
        return redirect(url_for("runs.show", run_id=recent[-1].id))
    try:
        run_id = actions.start_full_sync(settings(), account_id)
    except actions.QueueUnavailable as exc:
        abort(503, description=str(exc))
    return redirect(url_for("runs.show", run_id=run_id))


def _run_or_404(run_id: int) -> tuple[SyncRun, Account]:
    with db() as session:
        run = session.get(SyncRun, run_id)
        if run is None:
            abort(404, description=f"There is no sync run with id {run_id}.")
        account = session.get(Account, run.account_id)
        assert account is not None  # the foreign key cascades deletes
        return run, account


@bp.get("/runs/<int:run_id>")
def show(run_id: int) -> str:
    run, account = _run_or_404(run_id)
    return render_template("run.html", progress=queries.run_progress(run), account=account)


@bp.get("/runs/<int:run_id>.json")
def progress(run_id: int) -> Response:
    run, _ = _run_or_404(run_id)
    return jsonify(queries.run_progress(run).as_json())
