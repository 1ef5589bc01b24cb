"""The web page end to end in headless Debian chromium, against the real stack.

Emulators, a real Celery worker subprocess and `productsync web` as a subprocess, all
configured only through ``PRODUCTSYNC_*`` (tests/support/stack.py). The browser proves
that nothing works anonymously, then logs in, filters the history to failures, opens a
failed product, starts a full sync and watches the run page reach 100 %.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from models import utcnow
from tests.support.services import free_port, fresh_database
from tests.support.stack import ROOT, Stack, running_stack

pytestmark = pytest.mark.e2e

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
PASSWORD = "browser-test-password"
GOOD = [
    ("WIDGET-1", "Widget", "10.00"),
    ("WIDGET-2", "Gadget", "12.50"),
    ("WIDGET-3", "Gizmo", "7"),
]
FIXABLE_SKU = "BROKEN-1"
BAD_SKU = "BROKEN-9"

if not (os.path.exists(CHROMIUM) and os.path.exists(CHROMEDRIVER)):  # pragma: no cover
    pytest.fail("chromium and chromium-driver are required (.ci/run installs them)")


@pytest.fixture(scope="module")
def stack() -> Iterator[Stack]:
    with fresh_database() as url, running_stack(url) as stack:
        stack.start_worker("w1")
        yield stack


@pytest.fixture(scope="module")
def web(stack: Stack) -> Iterator[str]:
    """`productsync web` as a subprocess; yields its base URL."""
    port = free_port()
    env = stack.env(WEB_PASSWORD=PASSWORD, WEB_SECRET_KEY="browser-test-secret-key")
    log = stack.workdir / "web.log"
    with log.open("ab") as out:
        proc = subprocess.Popen(
            [str(Path(sys.executable).with_name("productsync")), "web", "--port", str(port)],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        stack.wait_for(lambda: _up(url), timeout=30)
        yield url
    finally:
        proc.terminate()
        proc.wait(10)
        # Nothing the page logged may contain the password or a vendor token.
        assert PASSWORD not in log.read_text(errors="replace")


def _up(url: str) -> bool:
    try:
        return requests.get(url + "/login", timeout=1).status_code == 200
    except requests.ConnectionError:
        return False


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="productsync-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        f"--user-data-dir={profile}",
        "--window-size=1400,1000",
    ):
        options.add_argument(arg)
    with pytest.MonkeyPatch.context() as patch:
        # Never let Selenium Manager look for (or download) a driver or a browser.
        patch.setenv("SE_OFFLINE", "true")
        driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def _post_anonymously(driver, url: str) -> int:  # type: ignore[no-untyped-def]
    """POST from the page's origin, with whatever cookies the browser has; the status."""
    return int(
        driver.execute_async_script(
            "const done = arguments[arguments.length - 1];"
            "fetch(arguments[0], {method: 'POST', redirect: 'manual', credentials: 'same-origin'})"
            ".then(r => done(r.status)).catch(() => done(-1));",
            url,
        )
    )


def test_operator_story_in_a_real_browser(stack: Stack, web: str, browser, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.select import Select
    from selenium.webdriver.support.ui import WebDriverWait

    driver = browser
    wait = WebDriverWait(driver, 60, poll_frequency=0.2)
    account = stack.new_account("hubspot_to_quickbooks")
    for sku, name, price in GOOD:
        account.hubspot_create(name=name, hs_sku=sku, price=price)
    fixable = account.hubspot_create(name="Broken thing", hs_sku=FIXABLE_SKU, price="-5")
    account.hubspot_create(name="Still broken", hs_sku=BAD_SKU, price="-1")
    # A first full sync gives the history something to show (two products fail).
    first = account.full_sync()
    stack.wait_for(lambda: account.run(first).status == "finished", timeout=60)

    # 1. Anonymous: every page sends to the login, the feed and the buttons refuse.
    driver.get(f"{web}/products?status=failed")
    assert "/login" in driver.current_url
    assert driver.find_element(By.ID, "login")
    driver.get(f"{web}/runs/{first}.json")
    assert "login_required" in driver.page_source
    driver.get(f"{web}/login")
    assert _post_anonymously(driver, f"{web}/accounts/{account.id}/full-sync") == 401
    assert _post_anonymously(driver, f"{web}/product/retry") == 401
    runs_before = _run_ids(stack, account.id)
    assert runs_before == [first]

    # 2. Log in (a wrong password first).
    _login(driver, web, "not-the-password")
    assert "Wrong username or password" in driver.page_source
    _login(driver, web, PASSWORD)
    wait.until(lambda d: "Data → Products" in d.title)

    # 3. Filter the history to failures of this account.
    name = _name(stack, account.id)
    Select(driver.find_element(By.ID, "status")).select_by_value("failed")
    Select(driver.find_element(By.ID, "account")).select_by_visible_text(name)
    driver.find_element(By.ID, "apply").click()
    wait.until(lambda d: "status=failed" in d.current_url)
    # The URL changes when the navigation starts: wait for the new page's rows.
    failures = sorted([FIXABLE_SKU, BAD_SKU])
    try:
        wait.until(lambda d: _settled_skus(d) == failures)
    finally:
        shown = _table_skus(driver)
        assert shown == failures, (
            driver.current_url,
            driver.find_element(By.TAG_NAME, "body").text[:1500],
            [(e.sku, e.status, e.error_code) for e in account.history()],
        )
    assert all("negative_price" in row.text for row in _rows(driver))
    driver.save_screenshot(str(tmp_path / "history.png"))

    # 4. Open a failed product: the attempt with its code and message. Fix the product
    #    in HubSpot, press Retry, and watch the new attempt create it in QuickBooks.
    driver.find_element(By.LINK_TEXT, FIXABLE_SKU).click()
    wait.until(lambda d: d.find_elements(By.ID, "attempts"))
    attempts = driver.find_element(By.ID, "attempts").text
    assert "negative_price" in attempts and "-5" in attempts
    driver.save_screenshot(str(tmp_path / "product.png"))
    account.hubspot_update(fixable, price="5.00")
    driver.find_element(By.ID, "retry").click()
    wait.until(lambda d: "queued" in d.find_element(By.CSS_SELECTOR, ".flash-ok").text)

    def created(d) -> bool:  # type: ignore[no-untyped-def]
        d.refresh()
        first_row = d.find_element(By.CSS_SELECTOR, "#attempts tbody tr")
        return "created" in first_row.text

    wait.until(created)
    assert "UnitPrice" in driver.find_element(By.ID, "attempts").text  # the field diff
    assert [i for i in account.quickbooks_items() if i.get("Sku") == FIXABLE_SKU]
    driver.get(f"{web}/accounts/{account.id}")
    driver.save_screenshot(str(tmp_path / "account.png"))

    # 5. Start a full sync from the accounts page and watch it reach 100 %.
    driver.get(f"{web}/accounts")
    driver.find_element(By.CSS_SELECTOR, f"button.full-sync[data-account='{name}']").click()
    wait.until(lambda d: "/runs/" in d.current_url)
    run_id = int(driver.current_url.rsplit("/", 1)[1])
    assert run_id not in runs_before
    wait.until(lambda d: d.find_element(By.ID, "percent").text == "100 %")
    wait.until(lambda d: d.find_element(By.ID, "run-status").text == "finished")
    assert driver.find_element(By.ID, "total").text == str(len(GOOD) + 2)
    assert driver.find_element(By.ID, "failed").text == "1"
    assert driver.find_element(By.ID, "unchanged").text == str(len(GOOD) + 1)
    assert "1 product(s) failed" in driver.find_element(By.ID, "run-message").text
    driver.save_screenshot(str(tmp_path / "run.png"))
    # Its failures, one click away.
    driver.find_element(By.ID, "see-failures").click()
    wait.until(lambda d: f"run={run_id}" in d.current_url)
    assert _table_skus(driver) == [BAD_SKU]
    if os.environ.get("PRODUCTSYNC_SCREENSHOTS"):  # for people reviewing the layout
        for shot in ("history.png", "product.png", "account.png", "run.png"):
            shutil.copy(tmp_path / shot, Path(os.environ["PRODUCTSYNC_SCREENSHOTS"]) / shot)

    # 6. Log out: the pages are closed again.
    driver.find_element(By.CSS_SELECTOR, "form.logout button").click()
    wait.until(lambda d: "/login" in d.current_url)
    driver.get(f"{web}/runs/{run_id}")
    assert "/login" in driver.current_url


def test_run_page_updates_itself_without_a_reload(stack: Stack, web: str, browser) -> None:  # type: ignore[no-untyped-def]
    """The page is rendered once; only its script's polling can move the numbers."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    from models import SyncRun
    from models.db import session_scope

    driver = browser
    wait = WebDriverWait(driver, 30, poll_frequency=0.2)
    account = stack.new_account("hubspot_to_quickbooks")
    with session_scope(stack.database_url) as session:
        run = SyncRun(
            account_id=account.id,
            kind="full_sync",
            direction="hubspot_to_quickbooks",
            status="running",
            total=8,
        )
        session.add(run)
        session.flush()
        run_id = run.id

    def advance(**values: object) -> None:
        with session_scope(stack.database_url) as session:
            found = session.get(SyncRun, run_id)
            assert found is not None
            for name, value in values.items():
                setattr(found, name, value)

    _login(driver, web, PASSWORD)
    driver.get(f"{web}/runs/{run_id}")
    assert driver.find_element(By.ID, "percent").text == "0 %"
    driver.execute_script("document.body.dataset.loadedOnce = 'yes'")
    advance(done=4, created=3, failed=1)
    wait.until(lambda d: d.find_element(By.ID, "percent").text == "50 %")
    assert driver.find_element(By.ID, "failed").text == "1"
    assert "4 of 8" in driver.find_element(By.ID, "run-message").text
    advance(done=8, created=7, status="finished", finished_at=utcnow())
    wait.until(lambda d: d.find_element(By.ID, "percent").text == "100 %")
    assert driver.find_element(By.ID, "run-status").text == "finished"
    assert int(driver.find_element(By.ID, "bar").get_attribute("value")) == 100
    # Still the same document: nothing reloaded the page.
    assert driver.execute_script("return document.body.dataset.loadedOnce") == "yes"


def _rows(driver):  # type: ignore[no-untyped-def]
    from selenium.webdriver.common.by import By

    return driver.find_elements(By.CSS_SELECTOR, "#history tbody tr")


def _table_skus(driver) -> list[str]:  # type: ignore[no-untyped-def]
    from selenium.webdriver.common.by import By

    return sorted(r.find_element(By.CSS_SELECTOR, "td.sku").text for r in _rows(driver))


def _settled_skus(driver) -> list[str] | None:  # type: ignore[no-untyped-def]
    """The table's SKUs, or None while the page is being replaced under us."""
    from selenium.common.exceptions import StaleElementReferenceException

    try:
        return _table_skus(driver)
    except StaleElementReferenceException:
        return None


def _login(driver, web: str, password: str) -> None:  # type: ignore[no-untyped-def]
    from selenium.common.exceptions import WebDriverException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    driver.get(f"{web}/login")
    driver.find_element(By.ID, "username").send_keys("admin")
    driver.find_element(By.ID, "password").send_keys(password)
    # click() returns before the POST's answer arrives (and the old page still says
    # readyState "complete"): wait until the login page itself has been replaced. A
    # marker on the old window does that; staleness_of(button) does not, because
    # chromium answers a node lookup made mid-navigation with a generic "node does
    # not belong to the document" error instead of a stale-element one.
    driver.execute_script("window.productsyncLeaving = true")
    driver.find_element(By.ID, "login").click()
    WebDriverWait(
        driver, 20, poll_frequency=0.1, ignored_exceptions=(WebDriverException,)
    ).until(lambda d: d.execute_script("return window.productsyncLeaving !== true"))
    deadline = time.monotonic() + 10
    while driver.execute_script("return document.readyState") != "complete":
        assert time.monotonic() < deadline


def _run_ids(stack: Stack, account_id: int) -> list[int]:
    from sqlalchemy import select

    from models import SyncRun
    from models.db import session_scope

    with session_scope(stack.database_url) as session:
        return list(session.scalars(select(SyncRun.id).where(SyncRun.account_id == account_id)))


def _name(stack: Stack, account_id: int) -> str:
    from models import Account
    from models.db import session_scope

    with session_scope(stack.database_url) as session:
        account = session.get(Account, account_id)
        assert account is not None
        return account.name
