"""Login, logout, the login guard on every route, CSRF on every POST, the login throttle."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from console.web.auth import PUBLIC_ENDPOINTS, LoginThrottle, credentials_match
from models import SyncRun
from models.db import session_scope
from tests.web.conftest import PASSWORD, USERNAME, login, token_from
from tests.web.seed import make_account
from workers.secret import Secret
from workers.settings import Settings


def _routes(app: Flask, method: str) -> list[str]:
    """Every route of the app accepting ``method``, with placeholder arguments."""
    urls = []
    for rule in app.url_map.iter_rules():
        if method not in (rule.methods or ()) or rule.endpoint in PUBLIC_ENDPOINTS:
            continue
        urls.append(rule.build({arg: 1 for arg in rule.arguments}, append_unknown=False)[1])
    assert urls
    return urls


def test_every_page_redirects_anonymous_visitors_to_the_login(
    app: Flask, client: FlaskClient
) -> None:
    for url in _routes(app, "GET"):
        response = client.get(url)
        if url.endswith(".json"):
            assert response.status_code == 401, url
            assert response.json == {"error": "login_required", "message": "Log in first."}
        else:
            assert response.status_code == 302, url
            assert response.headers["Location"].startswith("/login"), url


def test_every_post_is_refused_without_a_login_and_does_nothing(
    app: Flask, client: FlaskClient, web_database: str
) -> None:
    account = make_account(web_database)
    # Even with a valid CSRF token (from the login page) nothing happens without a login.
    token = token_from(client.get("/login").get_data(as_text=True))
    posts = [u for u in _routes(app, "POST") if u != "/logout"]
    posts.append(f"/accounts/{account.id}/full-sync")
    for url in posts:
        response = client.post(url, data={"csrf_token": token, "account": account.id, "sku": "X"})
        assert response.status_code == 401, url
        assert "log in" in response.get_data(as_text=True).lower()
    with session_scope(web_database) as session:
        runs = session.scalar(select(func.count()).where(SyncRun.account_id == account.id))
    assert runs == 0


def test_unknown_urls_do_not_reveal_anything_to_anonymous_visitors(client: FlaskClient) -> None:
    response = client.get("/no/such/page")
    assert response.status_code == 302
    assert response.headers["Location"] == "/login"


def test_login_with_the_configured_credentials_opens_the_pages(client: FlaskClient) -> None:
    token = token_from(client.get("/login").get_data(as_text=True))
    response = client.post(
        "/login",
        data={"username": USERNAME, "password": PASSWORD, "csrf_token": token},
    )
    assert response.status_code == 302
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie
    assert client.get("/products").status_code == 200


@pytest.mark.parametrize(
    ("username", "password"),
    [(USERNAME, "wrong"), ("someone", PASSWORD), ("", ""), (USERNAME, PASSWORD + " ")],
)
def test_wrong_credentials_are_refused(client: FlaskClient, username: str, password: str) -> None:
    token = token_from(client.get("/login").get_data(as_text=True))
    response = client.post(
        "/login", data={"username": username, "password": password, "csrf_token": token}
    )
    assert response.status_code == 401
    assert "Wrong username or password" in response.get_data(as_text=True)
    assert client.get("/products").status_code == 302


def test_the_login_form_itself_needs_its_csrf_token(client: FlaskClient) -> None:
    client.get("/login")
    response = client.post("/login", data={"username": USERNAME, "password": PASSWORD})
    assert response.status_code == 400
    assert client.get("/products").status_code == 302


def test_failed_logins_are_throttled_per_address(
    client: FlaskClient, throttle: LoginThrottle
) -> None:
    token = token_from(client.get("/login").get_data(as_text=True))
    for _ in range(throttle.limit):
        bad = {"username": USERNAME, "password": "nope", "csrf_token": token}
        assert client.post("/login", data=bad).status_code == 401
    # Now even the right password is refused until the window passes.
    good = {"username": USERNAME, "password": PASSWORD, "csrf_token": token}
    response = client.post("/login", data=good)
    assert response.status_code == 429
    assert "Too many failed logins" in response.get_data(as_text=True)
    assert client.get("/products").status_code == 302


def test_throttle_delays_grow_and_the_window_expires() -> None:
    now = [1000.0]
    throttle = LoginThrottle(
        limit=3,
        window_seconds=60,
        base_delay_seconds=0.5,
        max_delay_seconds=1.5,
        clock=lambda: now[0],
    )
    assert [throttle.failure("a") for _ in range(3)] == [0.5, 1.0, 1.5]
    assert throttle.blocked_for("a") == pytest.approx(60)
    assert throttle.blocked_for("b") == 0
    now[0] += 61
    assert throttle.blocked_for("a") == 0
    throttle.failure("a")
    throttle.success("a")
    assert throttle.failure("a") == 0.5


def test_credentials_are_compared_exactly() -> None:
    s = Settings().replace(web_username="ops", web_password=Secret("pw"))
    assert credentials_match(s, "ops", "pw")
    assert not credentials_match(s, "OPS", "pw")
    assert not credentials_match(s, "ops", "PW")
    assert not credentials_match(s, "ops", "pw\x00")


def test_logout_needs_a_post_with_its_token_and_ends_the_session(
    client: FlaskClient, user: str
) -> None:
    assert client.get("/logout").status_code == 405
    assert client.post("/logout").status_code == 400
    assert client.get("/products").status_code == 200
    assert client.post("/logout", data={"csrf_token": user}).status_code == 302
    assert client.get("/products").status_code == 302


def test_login_redirects_only_to_paths_of_this_site(app: Flask) -> None:
    for target, expected in [
        ("/accounts", "/accounts"),
        ("//evil.example/x", "/products"),
        ("https://evil.example/", "/products"),
        ("/\\evil.example", "/products"),
    ]:
        client = app.test_client()
        token = token_from(client.get("/login").get_data(as_text=True))
        response = client.post(
            "/login",
            data={"username": USERNAME, "password": PASSWORD, "csrf_token": token, "next": target},
        )
        assert response.headers["Location"] == expected, target


def test_a_session_cookie_signed_with_another_key_is_worthless(
    settings: Settings, client: FlaskClient, throttle: LoginThrottle
) -> None:
    from console.web import create_app

    login(client)
    cookie = client.get_cookie("productsync_session")
    assert cookie is not None
    other = create_app(
        settings.replace(web_secret_key=Secret("another key entirely")), login_throttle=throttle
    ).test_client()
    other.set_cookie("productsync_session", cookie.value)
    assert other.get("/products").status_code == 302


def test_changing_the_password_ends_every_session(
    app: Flask, client: FlaskClient, settings: Settings
) -> None:
    login(client)
    assert client.get("/products").status_code == 200
    app.config["PRODUCTSYNC_SETTINGS"] = settings.replace(web_password=Secret("a new one"))
    assert client.get("/products").status_code == 302
    assert "Log out" not in client.get("/login").get_data(as_text=True)


def test_pages_carry_security_headers(client: FlaskClient, user: str) -> None:
    response = client.get("/products")
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Cache-Control"] == "no-store"


def test_unexpected_errors_show_advice_never_a_traceback(app: Flask, client: FlaskClient) -> None:
    def explode() -> str:
        raise RuntimeError("internal detail with a password=hunter2")

    app.add_url_rule("/explode", "explode", explode)
    login(client)
    response = client.get("/explode")
    assert response.status_code == 500
    html = response.get_data(as_text=True)
    assert "try again" in html
    assert "hunter2" not in html and "Traceback" not in html
    wrong_method = client.get("/product/retry")
    assert wrong_method.status_code == 405
    assert "Use the buttons on the pages" in wrong_method.get_data(as_text=True)
