"""`productsync connect` end to end: the real CLI process, the emulators' auto-approving
authorize pages, a local callback server, and the stored (encrypted) credentials."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import pytest
import requests
from sqlalchemy import select

from emulators.client import EmulatorAdmin
from emulators.core import EmulatorHandle
from models.account import Account
from models.credential import Credential
from models.db import session_scope
from tests.connectors.conftest import HUBSPOT_CLIENT, QBO_CLIENT, make_settings, new_account
from tests.support.services import free_port
from workers.catalog.factory import catalog_for

CLI = [sys.executable, "-c", "from console.cli import main; main()"]


def _env(
    database_url: str, qbo: EmulatorHandle | None = None, hub: EmulatorHandle | None = None
) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PRODUCTSYNC_")}
    env.update(
        {
            "PRODUCTSYNC_DATABASE_URL": database_url,
            "PRODUCTSYNC_OAUTH_REDIRECT_URI": f"http://127.0.0.1:{free_port()}/callback",
            "PRODUCTSYNC_QUICKBOOKS_CLIENT_ID": QBO_CLIENT[0],
            "PRODUCTSYNC_QUICKBOOKS_CLIENT_SECRET": QBO_CLIENT[1],
            "PRODUCTSYNC_HUBSPOT_CLIENT_ID": HUBSPOT_CLIENT[0],
            "PRODUCTSYNC_HUBSPOT_CLIENT_SECRET": HUBSPOT_CLIENT[1],
        }
    )
    if qbo is not None:
        env["PRODUCTSYNC_QUICKBOOKS_API_BASE"] = qbo.url
        env["PRODUCTSYNC_QUICKBOOKS_AUTHORIZE_URL"] = qbo.url + "/connect/oauth2"
    if hub is not None:
        env["PRODUCTSYNC_HUBSPOT_API_BASE"] = hub.url
        env["PRODUCTSYNC_HUBSPOT_AUTHORIZE_URL"] = hub.url + "/oauth/authorize"
    return env


def _browser_flow(args: list[str], env: dict[str, str], extra: str) -> tuple[int, str]:
    """Run the command, "open" the URL it prints (plus an emulator-only parameter), and
    return its exit status and whole output."""
    proc = subprocess.Popen(
        [*CLI, *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        cwd=os.getcwd(),
    )
    assert proc.stdout is not None
    lines: list[str] = []
    try:
        for line in proc.stdout:
            lines.append(line)
            if line.startswith("http"):
                answer = requests.get(line.strip() + extra, timeout=10)
                assert answer.status_code == 200, answer.text
                break
        lines += proc.stdout.readlines()
        return proc.wait(timeout=30), "".join(lines)
    finally:
        if proc.poll() is None:
            proc.kill()


def _credential(database_url: str, account_id: int, system: str) -> Credential:
    with session_scope(database_url) as session:
        return session.execute(
            select(Credential).where(
                Credential.account_id == account_id, Credential.system == system
            )
        ).scalar_one()


@pytest.fixture
def account_name(migrated_db: str) -> Iterator[tuple[int, str]]:
    account_id = new_account(migrated_db)
    with session_scope(migrated_db) as session:
        name = session.get(Account, account_id).name  # type: ignore[union-attr]
    yield account_id, name


def test_connect_quickbooks_runs_the_authorization_code_flow(
    qbo_server: EmulatorHandle, migrated_db: str, account_name: tuple[int, str], rclient: Any
) -> None:
    account_id, name = account_name
    realm = EmulatorAdmin(qbo_server.url).vendor("POST", "quickbooks/realms", json={})["realm_id"]
    status, output = _browser_flow(
        ["connect", "quickbooks", "--account", name, "--timeout", "20"],
        _env(migrated_db, qbo=qbo_server),
        f"&realm_id={realm}",
    )
    assert status == 0, output
    assert f"QuickBooks company {realm}" in output and "Traceback" not in output
    row = _credential(migrated_db, account_id, "quickbooks")
    assert row.kind == "oauth" and row.status == "ok" and row.refresh_token_enc
    assert row.access_expires_at is not None
    with session_scope(migrated_db) as session:
        assert session.get(Account, account_id).quickbooks_realm_id == realm  # type: ignore[union-attr]
    catalog = catalog_for(
        "quickbooks",
        account_id,
        settings=make_settings(qbo=qbo_server),
        database_url=migrated_db,
        redis_client=rclient,
    )
    assert catalog.find_by_sku("nothing") == []  # the stored token works


def test_connect_hubspot_oauth(
    hubspot_server: EmulatorHandle, migrated_db: str, account_name: tuple[int, str]
) -> None:
    account_id, name = account_name
    portal = str(
        EmulatorAdmin(hubspot_server.url).vendor("POST", "hubspot/portals", json={})["portal_id"]
    )
    status, output = _browser_flow(
        ["connect", "hubspot", "--account", name, "--oauth", "--timeout", "20"],
        _env(migrated_db, hub=hubspot_server),
        f"&portal_id={portal}",
    )
    assert status == 0, output
    assert f"HubSpot portal {portal} (OAuth)" in output
    row = _credential(migrated_db, account_id, "hubspot")
    assert row.kind == "oauth" and row.refresh_token_enc and row.access_expires_at


def test_connect_hubspot_private_token_from_stdin_is_checked_and_never_echoed(
    hubspot_server: EmulatorHandle, migrated_db: str
) -> None:
    made = EmulatorAdmin(hubspot_server.url).vendor("POST", "hubspot/portals", json={})
    account_id = new_account(migrated_db, hubspot_portal_id=str(made["portal_id"]))
    with session_scope(migrated_db) as session:
        name = session.get(Account, account_id).name  # type: ignore[union-attr]
    env = _env(migrated_db, hub=hubspot_server)
    bad = subprocess.run(
        [*CLI, "connect", "hubspot", "--account", name, "--token-stdin"],
        input="pat-na1-wrong-token\n",
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert bad.returncode == 1 and "Traceback" not in bad.stderr
    assert "did not accept the token" in bad.stderr and "pat-na1-wrong" not in bad.stderr
    good = subprocess.run(
        [*CLI, "connect", "hubspot", "--account", name, "--token-stdin"],
        input=made["token"] + "\n",
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert good.returncode == 0, good.stderr
    assert made["token"] not in good.stdout + good.stderr
    row = _credential(migrated_db, account_id, "hubspot")
    assert row.kind == "private_app" and row.refresh_token_enc is None
    assert made["token"].encode() not in (row.access_token_enc or b"")


def test_connect_hubspot_without_a_token_says_how(monkeypatch: pytest.MonkeyPatch) -> None:
    from click.testing import CliRunner

    from console.cli import cli

    monkeypatch.delenv("PRODUCTSYNC_HUBSPOT_TOKEN", raising=False)
    result = CliRunner().invoke(cli, ["connect", "hubspot", "--account", "any"])
    assert result.exit_code == 1
    assert "--token-stdin" in result.output and "PRODUCTSYNC_HUBSPOT_TOKEN" in result.output


class _AccountInfo(BaseHTTPRequestHandler):
    answers: dict[str, tuple[int, bytes]] = {}

    def do_GET(self) -> None:
        status, body = self.answers.get(self.headers["Authorization"], (404, b""))
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        (
            (200, b'{"portalId": 62515, "timeZone": "America/New_York"}'),
            {"portalId": "62515", "timeZone": "America/New_York"},
        ),
        ((200, b'{"portalId": 62515, "timeZone": "Mars/Olympus"}'), {"portalId": "62515"}),
        ((404, b"<html>no</html>"), {}),
        ((403, b'{"category": "MISSING_SCOPES"}'), {}),
    ],
)
def test_portal_details_are_best_effort(
    answer: tuple[int, bytes], expected: dict[str, str]
) -> None:
    from console.commands.connect import portal_details
    from workers.secret import Secret

    _AccountInfo.answers = {"Bearer tok": answer}
    server = HTTPServer(("127.0.0.1", 0), _AccountInfo)
    thread = threading.Thread(target=server.handle_request, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}"
        assert portal_details(Secret("tok"), make_settings(hubspot_api_base=url)) == expected
    finally:
        thread.join(5)
        server.server_close()
