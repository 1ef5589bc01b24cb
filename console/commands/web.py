"""`productsync web`: serve the "Data → Products" page."""

from __future__ import annotations

import logging

import click

from workers.logs import use_format
from workers.settings import get_settings


@click.command("web")
@click.option("--host", default=None, help="Address to listen on [default: PRODUCTSYNC_WEB_HOST].")
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=None,
    help="Port to listen on [default: PRODUCTSYNC_WEB_PORT].",
)
@click.option(
    "--threads",
    type=click.IntRange(1, 64),
    default=8,
    show_default=True,
    help="Requests served at once.",
)
def command(host: str | None, port: int | None, threads: int) -> None:
    """Serve the web page (history, product detail, full sync, account settings).

    Login with PRODUCTSYNC_WEB_USERNAME / PRODUCTSYNC_WEB_PASSWORD. Served by waitress in
    one process (the failed-login throttle is kept in that process); put a TLS-terminating
    proxy in front of it when it is reachable from other machines.
    """
    import waitress

    from console.web import create_app

    settings = get_settings()
    host = host or settings.web_host
    port = settings.web_port if port is None else port
    app = create_app(settings)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    use_format(logging.getLogger(), settings.log_format)
    click.echo(f"web page on http://{host}:{port}/ (Ctrl-C to stop)")
    if settings.is_development:
        click.echo(f"login: {settings.web_username} (password from PRODUCTSYNC_WEB_PASSWORD)")
    waitress.serve(app, host=host, port=port, threads=threads, ident="productsync")
