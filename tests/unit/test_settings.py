from __future__ import annotations

import pytest
from cryptography.fernet import Fernet

from workers.secret import Secret
from workers.settings import ConfigError, Settings


def test_defaults_point_at_the_emulators() -> None:
    s = Settings.from_env({})
    assert s.hubspot_api_base == "http://127.0.0.1:8801"
    assert s.effective_quickbooks_token_url == "http://127.0.0.1:8802/oauth2/v1/tokens/bearer"


def test_real_vendor_is_configuration_only() -> None:
    s = Settings.from_env({"PRODUCTSYNC_QUICKBOOKS_API_BASE": "https://quickbooks.api.intuit.com"})
    assert s.effective_quickbooks_token_url == (
        "https://oauth.platform.intuit.com/oauth2/v1/tokens/bearer"
    )


def test_authorize_urls_follow_the_api_base() -> None:
    s = Settings.from_env({})
    assert s.effective_hubspot_authorize_url == "http://127.0.0.1:8801/oauth/authorize"
    assert s.effective_quickbooks_authorize_url == "http://127.0.0.1:8802/connect/oauth2"
    real = Settings.from_env(
        {
            "PRODUCTSYNC_HUBSPOT_API_BASE": "https://api.hubapi.com",
            "PRODUCTSYNC_QUICKBOOKS_API_BASE": "https://sandbox-quickbooks.api.intuit.com",
        }
    )
    assert real.effective_hubspot_authorize_url == "https://app.hubspot.com/oauth/authorize"
    assert real.effective_quickbooks_authorize_url == "https://appcenter.intuit.com/connect/oauth2"


def test_production_refuses_to_start_without_encryption_key() -> None:
    with pytest.raises(ConfigError, match="PRODUCTSYNC_ENCRYPTION_KEY is required"):
        Settings.from_env({"PRODUCTSYNC_ENVIRONMENT": "production"})


def test_production_refuses_public_default_passwords() -> None:
    key = Fernet.generate_key().decode()
    with pytest.raises(ConfigError, match="WEB_PASSWORD"):
        Settings.from_env(
            {"PRODUCTSYNC_ENVIRONMENT": "production", "PRODUCTSYNC_ENCRYPTION_KEY": key}
        )


def test_bad_key_and_bad_number_are_named() -> None:
    with pytest.raises(ConfigError, match="not a valid key"):
        Settings.from_env({"PRODUCTSYNC_ENCRYPTION_KEY": "nope"})
    with pytest.raises(ConfigError, match="PRODUCTSYNC_MAX_ATTEMPTS must be a whole number"):
        Settings.from_env({"PRODUCTSYNC_MAX_ATTEMPTS": "many"})


def test_secrets_never_print() -> None:
    key = Fernet.generate_key().decode()
    s = Settings.from_env({"PRODUCTSYNC_ENCRYPTION_KEY": key})
    assert key not in repr(s) and key not in str(s)
    assert f"{Secret('tok')}" == "**********"
    with pytest.raises(TypeError):
        import pickle

        pickle.dumps(Secret("tok"))
