from __future__ import annotations

import re

import pytest
from flask import Flask
from flask.testing import FlaskClient

from console.web import create_app
from console.web.auth import LoginThrottle
from models.migrate import upgrade
from workers.secret import Secret
from workers.settings import Settings

USERNAME = "operator"
PASSWORD = "correct horse battery staple"
SECRET_KEY = "web-test-secret-key-0123456789"


@pytest.fixture(scope="session")
def web_database(database_url: str) -> str:
    upgrade(database_url)
    return database_url


@pytest.fixture
def settings(web_database: str, redis_url: str) -> Settings:
    return Settings().replace(
        database_url=web_database,
        redis_url=redis_url,
        web_username=USERNAME,
        web_password=Secret(PASSWORD),
        web_secret_key=Secret(SECRET_KEY),
    )


@pytest.fixture
def throttle() -> LoginThrottle:
    return LoginThrottle(limit=3, base_delay_seconds=0.0, max_delay_seconds=0.0)


@pytest.fixture
def app(settings: Settings, throttle: LoginThrottle) -> Flask:
    return create_app(settings, login_throttle=throttle)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def token_from(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "the page has no CSRF token"
    return match.group(1)


def login(client: FlaskClient, password: str = PASSWORD) -> str:
    """Log in through the form; returns the session's CSRF token."""
    token = token_from(client.get("/login").get_data(as_text=True))
    response = client.post(
        "/login", data={"username": USERNAME, "password": password, "csrf_token": token}
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    return token_from(client.get("/accounts").get_data(as_text=True))


@pytest.fixture
def user(client: FlaskClient) -> str:
    """A logged-in client; the value is its CSRF token."""
    return login(client)
