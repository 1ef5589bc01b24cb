"""`productsync emulators`: serve the HubSpot and QuickBooks Online emulators in one process."""

from __future__ import annotations

import json
from typing import Any

import click

from emulators.core import KnobError, serve_forever
from emulators.core.webhooks import subscribe

HUBSPOT_PRESETS = ("starter", "professional", "enterprise", "off")
QUICKBOOKS_PRESETS = ("production", "legacy", "off")


def _knobs(pairs: tuple[str, ...], option: str) -> dict[str, Any]:
    """``NAME=VALUE`` pairs; VALUE is read as JSON when it parses (numbers, true, "x"),
    else taken as a plain string."""
    out: dict[str, Any] = {}
    for pair in pairs:
        name, sep, raw = pair.partition("=")
        if not sep or not name:
            raise click.BadParameter(f"expected NAME=VALUE, got {pair!r}", param_hint=option)
        try:
            out[name] = json.loads(raw)
        except ValueError:
            out[name] = raw
    return out


@click.command("emulators")
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on.")
@click.option("--hubspot-port", type=click.IntRange(0, 65535), default=8801, show_default=True)
@click.option("--quickbooks-port", type=click.IntRange(0, 65535), default=8802, show_default=True)
@click.option(
    "--only",
    type=click.Choice(["both", "hubspot", "quickbooks"]),
    default="both",
    show_default=True,
)
@click.option(
    "--seed",
    "count",
    type=click.IntRange(min=0),
    default=0,
    show_default=True,
    help="Products (HubSpot) and items (QuickBooks) to seed in the default account.",
)
@click.option("--rng-seed", type=int, default=1, show_default=True, help="Seed of the catalog RNG.")
@click.option("--tricky", is_flag=True, help="Also seed the awkward products and items.")
@click.option("--latency-ms", type=click.FloatRange(min=0), default=0.0, show_default=True)
@click.option("--jitter-ms", type=click.FloatRange(min=0), default=0.0, show_default=True)
@click.option(
    "--preset",
    type=click.Choice(HUBSPOT_PRESETS),
    default="starter",
    show_default=True,
    help="HubSpot rate-limit preset.",
)
@click.option(
    "--quickbooks-preset",
    type=click.Choice(QUICKBOOKS_PRESETS),
    default="production",
    show_default=True,
    help="QuickBooks throttling preset.",
)
@click.option("--hubspot-knob", multiple=True, metavar="NAME=VALUE", help="Any HubSpot knob.")
@click.option("--quickbooks-knob", multiple=True, metavar="NAME=VALUE", help="Any QuickBooks knob.")
@click.option(
    "--hubspot-webhook-url",
    metavar="URL",
    help="Send product.* webhooks here (signed with the development app's client secret).",
)
@click.option(
    "--quickbooks-webhook-url",
    metavar="URL",
    help="Send Item webhooks here (signed with the development verifier token).",
)
@click.option(
    "--quickbooks-webhook-format",
    type=click.Choice(["cloudevents", "legacy"]),
    default="cloudevents",
    show_default=True,
)
def command(
    host: str,
    hubspot_port: int,
    quickbooks_port: int,
    only: str,
    count: int,
    rng_seed: int,
    tricky: bool,
    latency_ms: float,
    jitter_ms: float,
    preset: str,
    quickbooks_preset: str,
    hubspot_knob: tuple[str, ...],
    quickbooks_knob: tuple[str, ...],
    hubspot_webhook_url: str | None,
    quickbooks_webhook_url: str | None,
    quickbooks_webhook_format: str,
) -> None:
    """Serve the local HubSpot and QuickBooks Online emulators until Ctrl-C.

    The admin API of each is under /__emulator__/ (see the README, "Emulators"); webhook
    targets can also be set there (PUT /__emulator__/<vendor>/webhooks)."""
    latency = {"latency_ms": latency_ms, "jitter_ms": jitter_ms}
    hub_knobs = {**latency, "rate_limit_preset": preset, **_knobs(hubspot_knob, "--hubspot-knob")}
    qbo_knobs = {
        **latency,
        "throttle_preset": quickbooks_preset,
        **_knobs(quickbooks_knob, "--quickbooks-knob"),
    }
    apps = []
    try:
        if only in ("both", "hubspot"):
            from emulators.hubspot import create_app as hubspot_app

            apps.append(
                (
                    "HubSpot",
                    hubspot_app(seed=rng_seed, products=count, tricky=tricky, knobs=hub_knobs),
                    hubspot_port,
                )
            )
        if only in ("both", "quickbooks"):
            # Imported here so the HubSpot emulator still serves if QuickBooks is broken.
            from emulators.quickbooks.app import create_app as quickbooks_app

            apps.append(
                (
                    "QuickBooks",
                    quickbooks_app(
                        seed_items=count, tricky=tricky, rng_seed=rng_seed, knobs=qbo_knobs
                    ),
                    quickbooks_port,
                )
            )
    except KnobError as exc:
        raise click.ClickException(f"bad knob: {exc}") from None
    try:
        for (label, app, _) in apps:
            url = hubspot_webhook_url if label == "HubSpot" else quickbooks_webhook_url
            if url:
                subscribe(app, {"target_url": url, "format": quickbooks_webhook_format})
    except ValueError as exc:
        raise click.ClickException(f"bad webhook option: {exc}") from None

    def ready(urls: list[str]) -> None:
        for (label, _, _), url in zip(apps, urls, strict=True):
            click.echo(f"{label} emulator on {url} (admin: {url}/__emulator__/)")
        click.echo("Ctrl-C to stop.")

    try:
        serve_forever([(app, host, port) for _, app, port in apps], ready)
    except OSError as exc:
        raise click.ClickException(f"cannot listen: {exc.strerror or exc}") from None
