"""Data → Products: the history table, one product's story, and its Retry button."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from werkzeug import Response
from werkzeug.datastructures import MultiDict

from console import actions
from console.web import queries
from console.web.state import account_or_404, db, settings
from console.web.vendor_links import hubspot_product_url, quickbooks_item_url
from models import Account
from models.history import HISTORY_ACTIONS, HISTORY_STATUSES

bp = Blueprint("history", __name__)


def _filter_from_request() -> queries.HistoryFilter:
    args = request.args
    status = args.get("status") or None
    action = args.get("action") or None
    if status is not None and status not in HISTORY_STATUSES:
        abort(400, description=f"Unknown status {status!r}: use one of the choices in the list.")
    if action is not None and action not in HISTORY_ACTIONS:
        abort(400, description=f"Unknown action {action!r}: use one of the choices in the list.")
    match = args.get("match", "exact")
    if match not in ("exact", "prefix"):
        abort(400, description="SKU search is either exact or prefix.")
    account_id = _int_arg("account", "The account filter must be an account from the list.")
    run_id = _int_arg("run", "The run filter must be a run number.")
    # A SKU is searched exactly as typed: spaces and case are part of it.
    sku = args.get("sku") or None
    return queries.HistoryFilter(
        status=status,
        action=action,
        sku=sku,
        sku_match=match,  # type: ignore[arg-type]
        account_id=account_id,
        run_id=run_id,
    )


def _int_arg(name: str, problem: str) -> int | None:
    raw = request.args.get(name) or None
    if raw is None:
        return None
    try:
        return int(raw)
    except ValueError:
        abort(400, description=problem)


@bp.get("/products")
def index() -> str:
    flt = _filter_from_request()
    before = queries.Boundary.decode(request.args.get("before"))
    after = queries.Boundary.decode(request.args.get("after"))
    with db() as session:
        page = queries.history_page(session, flt, before=before, after=after)
        account_list = queries.accounts(session)
    return render_template(
        "history.html",
        page=page,
        flt=flt,
        accounts=account_list,
        statuses=HISTORY_STATUSES,
        actions=HISTORY_ACTIONS,
        links=_links,
        filter_args=_filter_args(flt),
        every_run_args={k: v for k, v in _filter_args(flt).items() if k != "run"},
    )


def _filter_args(flt: queries.HistoryFilter) -> dict[str, str]:
    """The current filter as query arguments, for page links that keep it."""
    args = {
        "status": flt.status or "",
        "action": flt.action or "",
        "sku": flt.sku or "",
        "match": flt.sku_match if flt.sku else "",
        "account": str(flt.account_id) if flt.account_id is not None else "",
        "run": str(flt.run_id) if flt.run_id is not None else "",
    }
    return {k: v for k, v in args.items() if v}


def _links(
    account: Account, hubspot_id: str | None, quickbooks_id: str | None
) -> dict[str, str | None]:
    """Vendor web-app links for both ids (None when not talking to the real vendor)."""
    s = settings()
    return {
        "hubspot": hubspot_product_url(s, account.hubspot_portal_id, hubspot_id)
        if hubspot_id
        else None,
        "quickbooks": quickbooks_item_url(s, quickbooks_id) if quickbooks_id else None,
    }


def _product_key(values: MultiDict[str, str]) -> tuple[int, str]:
    """(account id, SKU) from a product link or the Retry form; the SKU verbatim."""
    try:
        account_id = int(values.get("account", ""))
    except ValueError:
        abort(400, description="Open a product from the history table (account is missing).")
    sku = values.get("sku")
    if not sku:
        abort(400, description="Open a product from the history table (SKU is missing).")
    return account_id, sku


@bp.get("/product")
def product() -> str:
    account_id, sku = _product_key(request.args)
    with db() as session:
        account = account_or_404(session, account_id)
        story = queries.product_story(session, account, sku)
    if story.link is None and not story.attempts:
        abort(
            404,
            description=f"No product with SKU {sku!r} has been synced for account "
            f"{account.name!r}. Check the SKU (it is case-sensitive and exact).",
        )
    return render_template("product.html", story=story, links=_links)


@bp.post("/product/retry")
def retry() -> Response:
    account_id, sku = _product_key(request.form)
    with db() as session:
        account_or_404(session, account_id)
    outcome = actions.retry_product(settings(), account_id, sku)
    flash(outcome.message, "ok" if outcome.queued else "error")
    return redirect(url_for("history.product", account=account_id, sku=sku))
