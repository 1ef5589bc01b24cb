"""`productsync audit`: a read-only pre-flight report before a first full sync."""

from __future__ import annotations

from typing import Any

import click
from sqlalchemy import select

from console import views
from console.audit import audit_catalogs
from console.output import (
    account_named,
    account_option,
    echo_json,
    json_option,
    redis_client,
    session,
)
from console.output import settings as get_settings
from models import ProductLink
from workers.catalog.factory import catalog_for
from workers.catalog.port import source_of
from workers.engine.account_view import load_mappings

_LIST_LIMIT = 20


@click.command("audit")
@account_option()
@json_option
def command(account_name: str, as_json: bool) -> None:
    """What a full sync of ACCOUNT would do, and what to clean up first. Writes nothing.

    Reads every product from HubSpot and QuickBooks (inactive items included) and reports:
    products without SKU, duplicate SKUs per side (with ids), SKUs that differ only by
    case or surrounding spaces (they will not match: SKUs match exactly), QuickBooks name
    collisions (such items get " [SKU]" appended), inactive QuickBooks items that would
    be matched, linked products archived on one side and active on the other, and the
    plan: how many products would be created, updated or unchanged.
    """
    settings = get_settings()
    with session() as db:
        account = account_named(db, account_name)
        account_id, direction = account.id, account.direction
        policy = account.lifecycle_policy
        mappings = load_mappings(db, account_id)
        source = source_of(direction)  # type: ignore[arg-type]
        links = {
            (link.hubspot_id if source == "hubspot" else link.quickbooks_id): (
                link.quickbooks_id if source == "hubspot" else link.hubspot_id
            )
            for link in db.scalars(select(ProductLink).where(ProductLink.account_id == account_id))
        }
    with redis_client(settings.redis_url) as client:
        catalogs = {
            system: catalog_for(
                system,
                account_id,
                settings=settings,
                database_url=settings.database_url,
                redis_client=client,
            )
            for system in ("hubspot", "quickbooks")
        }
        report = audit_catalogs(
            catalogs["hubspot"].iter_all(),
            catalogs["quickbooks"].iter_all(include_inactive=True),
            direction=direction,  # type: ignore[arg-type]
            mappings=mappings,
            links={k: v for k, v in links.items() if k and v},
            lifecycle_policy=policy,
        )
    report["account"] = account_name
    if as_json:
        echo_json(report)
        return
    click.echo(render(report))


def render(report: dict[str, Any]) -> str:
    plan, counts = report["plan"], report["counts"]
    out = [
        f"audit of {report['account']} ({views.direction_label(report['direction'])})",
        f"  HubSpot: {counts['hubspot']} products; QuickBooks: {counts['quickbooks']} active "
        f"items, {counts['quickbooks_inactive']} inactive",
        "",
        f"plan: {plan['create']} to create, {plan['update']} to update, "
        f"{plan['unchanged']} unchanged, {plan['invalid']} refused (bad data), "
        f"{plan['conflict']} refused (duplicate SKU)",
    ]
    for code, n in plan["invalid_by_code"].items():
        out.append(f"  {code}: {n}")
    for system, ids in report["missing_sku"].items():
        _section(out, f"{system} products without SKU", ids, lambda i: i)
    for system, dupes in report["duplicate_skus"].items():
        _section(
            out,
            f"duplicate SKUs in {system}",
            dupes,
            lambda d: f"{d['sku']!r}: {', '.join(d['ids'])}",
        )
    _section(
        out,
        "SKUs that differ only by case or surrounding spaces (they will not match)",
        report["near_duplicate_skus"],
        lambda g: "; ".join(f"{s['sku']!r} ({', '.join(s['products'])})" for s in g["skus"]),
    )
    _section(
        out,
        "QuickBooks name collisions",
        report["name_collisions"],
        lambda c: (
            f"{c['name']!r} (SKU {c['sku']!r}) clashes with {c['clashes_with']}: "
            f"would become {c['would_become']!r}"
        ),
    )
    _section(
        out,
        "inactive QuickBooks items that would be matched (and updated)",
        report["inactive_matches"],
        lambda m: f"{m['sku']!r}: item {m['quickbooks_id']} (source {m['source_id']})",
    )
    lifecycle = report["lifecycle"]
    mirror = lifecycle["policy"] == "mirror"
    _section(
        out,
        "linked products archived in the source, active in the destination"
        + (" (a full sync archives them)" if mirror else " (lifecycle policy ignore: left)"),
        lifecycle["archived_in_source"],
        lambda d: f"{d['sku']!r}: source {d['source_id']}, destination {d['destination_id']}",
    )
    _section(
        out,
        "linked products active in the source, archived or inactive in the destination"
        + (" (a full sync restores them)" if mirror else " (lifecycle policy ignore: left)"),
        lifecycle["inactive_in_destination"],
        lambda d: f"source {d['source_id']}, destination {d['destination_id']}",
    )
    _section(
        out,
        "products that would be refused",
        report["invalid_products"],
        lambda p: (
            f"{p['id']} ({'no SKU' if p['sku'] is None else repr(p['sku'])}): "
            f"{p['code']}: {p['message']}"
        ),
    )
    return "\n".join(out)


def _section(out: list[str], title: str, items: list[Any], line: Any) -> None:
    if not items:
        return
    out += ["", f"{title}: {len(items)}"]
    out += [f"  {line(item)}" for item in items[:_LIST_LIMIT]]
    if len(items) > _LIST_LIMIT:
        out.append(f"  ... and {len(items) - _LIST_LIMIT} more (--json lists them all)")
