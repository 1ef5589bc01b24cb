"""Configuration, read once from the environment into an immutable object.

Every knob is an environment variable named ``PRODUCTSYNC_<FIELD>`` (upper case).
The defaults run the whole service against the local emulators; pointing it at the
real vendors is a matter of setting the base URLs and credentials, never of code.
Secrets are held as `Secret`, so printing the settings never shows them.
"""

from __future__ import annotations

import dataclasses
import functools
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from workers.secret import Secret

PREFIX = "PRODUCTSYNC_"

# Used only in development, so the demo runs with nothing configured. Outside
# development the settings refuse to load without a real key (see `_check`). 32 bytes,
# url-safe base64, as Fernet requires.
DEVELOPMENT_ENCRYPTION_KEY = "ZGV2ZWxvcG1lbnQta2V5LW5vdC1mb3ItcHJvZC11c2U="

HUBSPOT_PRODUCTION = "https://api.hubapi.com"
QUICKBOOKS_PRODUCTION = "https://quickbooks.api.intuit.com"
QUICKBOOKS_SANDBOX = "https://sandbox-quickbooks.api.intuit.com"


class ConfigError(ValueError):
    """A setting is missing or malformed; the message says which and what to do."""


@dataclass(frozen=True)
class Settings:
    environment: str = "development"
    database_url: str = "postgresql+psycopg://postgres@127.0.0.1:5432/productsync"
    redis_url: str = "redis://127.0.0.1:6379/0"
    broker_url: str = ""  # empty: same as redis_url
    encryption_key: Secret = field(default_factory=lambda: Secret(""))

    # Vendor endpoints. Defaults are the emulators started by `productsync run`.
    hubspot_api_base: str = "http://127.0.0.1:8801"
    hubspot_token_url: str = ""  # empty: <hubspot_api_base>/oauth/v1/token
    hubspot_authorize_url: str = ""  # empty: HubSpot's for the real API, else the emulator's
    hubspot_client_id: str = ""
    hubspot_client_secret: Secret = field(default_factory=lambda: Secret(""))
    quickbooks_api_base: str = "http://127.0.0.1:8802"
    quickbooks_token_url: str = ""  # empty: <quickbooks_api_base>/oauth2/v1/tokens/bearer
    quickbooks_authorize_url: str = ""  # empty: Intuit's for the real API, else the emulator's
    quickbooks_client_id: str = ""
    quickbooks_client_secret: Secret = field(default_factory=lambda: Secret(""))
    quickbooks_minor_version: int = 75
    oauth_redirect_uri: str = "http://127.0.0.1:8765/callback"

    http_connect_timeout: float = 10.0
    http_read_timeout: float = 30.0

    # Pipeline timing. Every countdown and lease stays far below the broker's
    # visibility timeout, so a delayed message is never redelivered early.
    poll_overlap_seconds: float = 120.0
    poll_settle_seconds: float = 5.0
    default_poll_interval_seconds: float = 60.0
    job_lease_seconds: float = 120.0
    # A full-sync chunk's lease: short, because a working chunk renews it every third of
    # it, so the jobs of a chunk whose worker died go back to the queue this soon.
    chunk_lease_seconds: float = 30.0
    sweep_interval_seconds: float = 30.0
    max_attempts: int = 8
    retry_base_seconds: float = 2.0
    retry_cap_seconds: float = 300.0
    broker_visibility_timeout: int = 3600
    # Consecutive vendor failures (5xx, timeouts) per account that open the circuit, and
    # how long calls then pause (jobs park meanwhile); 0 turns the circuit off.
    circuit_failure_threshold: int = 5
    circuit_cooldown_seconds: float = 30.0
    # A worker that takes no message for this long while messages wait on it (and it has
    # a free process) is deaf and exits with status 1 for its supervisor to replace it
    # (`tasks.liveness`); 0 turns the watchdog off.
    worker_liveness_deadline_seconds: float = 40.0

    # Lifecycle (accounts whose policy is `mirror`): one poll or full sync that would
    # archive more than this share of the account's linked products, and at least the
    # minimum, holds the account's archiving jobs until a person releases them.
    mass_archive_percent: int = 20
    mass_archive_minimum: int = 10

    # Operator surfaces.
    web_host: str = "127.0.0.1"
    web_port: int = 8000
    web_username: str = "admin"
    web_password: Secret = field(default_factory=lambda: Secret("admin"))
    web_secret_key: Secret = field(default_factory=lambda: Secret("development-only-secret"))
    flower_port: int = 5555
    flower_username: str = "admin"
    flower_password: Secret = field(default_factory=lambda: Secret("admin"))
    # The address people reach the web page at; an https one makes the session cookie
    # Secure (the page itself may sit behind a TLS-terminating proxy).
    public_url: str = ""
    # Bearer token Prometheus sends to /metrics; empty: /metrics is behind the web login.
    metrics_token: Secret = field(default_factory=lambda: Secret(""))

    # Webhooks, received by the web process at <public URL>/webhooks/hubspot and
    # /webhooks/quickbooks (`workers.webhooks`). A vendor without its secret gets 404.
    hubspot_webhook_secret: Secret = field(default_factory=lambda: Secret(""))
    hubspot_webhook_signatures: str = "v3"  # also accept "v2", "v1": no replay window
    quickbooks_webhook_verifier_token: Secret = field(default_factory=lambda: Secret(""))
    webhook_max_body_bytes: int = 1_048_576
    # An account's webhook jobs are gathered this long and run as one chunk (batch reads
    # and writes); 0 runs each delivery's at once. Latency for vendor calls.
    webhook_coalesce_seconds: float = 1.0

    # Operations: how long finished work is kept (each product's last attempt always is).
    history_retention_days: int = 90
    job_retention_days: int = 90
    log_format: str = "text"  # "text" for people, "json" for log shippers

    @property
    def is_development(self) -> bool:
        return self.environment == "development"

    @property
    def effective_chunk_lease_seconds(self) -> float:
        """A chunk's lease: never longer than a job's."""
        return min(self.chunk_lease_seconds, self.job_lease_seconds)

    @property
    def listing_time_limit_seconds(self) -> float:
        """The soft time limit of polls and full-sync listings (celeryconfig): they read
        whole windows or catalogs, so they get more room than a product's job lease, still
        far below the broker's visibility timeout."""
        return self.broker_visibility_timeout / 4

    @property
    def full_sync_listing_time_limit_seconds(self) -> float:
        """The soft time limit of a full sync's listing: a catalog listed page by page
        (100,000 HubSpot products are 1,000 pages) gets half the visibility timeout; one
        that cannot be listed in it fails its run with `listing_too_long`, never loops."""
        return self.broker_visibility_timeout / 2

    @property
    def poll_tick_seconds(self) -> float:
        """How often beat's tick looks for accounts due a poll (celeryconfig's schedule)."""
        return min(self.default_poll_interval_seconds, 10.0)

    @property
    def effective_hubspot_webhook_secret(self) -> Secret:
        """HubSpot signs with the app's client secret: the webhook setting, else the
        OAuth client secret (the same app's)."""
        return self.hubspot_webhook_secret or self.hubspot_client_secret

    @property
    def hubspot_webhook_signature_versions(self) -> frozenset[str]:
        return frozenset(v.strip() for v in self.hubspot_webhook_signatures.split(",") if v.strip())

    @property
    def effective_broker_url(self) -> str:
        return self.broker_url or self.redis_url

    @property
    def effective_hubspot_token_url(self) -> str:
        return self.hubspot_token_url or f"{self.hubspot_api_base.rstrip('/')}/oauth/v1/token"

    @property
    def effective_quickbooks_token_url(self) -> str:
        if self.quickbooks_token_url:
            return self.quickbooks_token_url
        base = self.quickbooks_api_base.rstrip("/")
        if base in (QUICKBOOKS_PRODUCTION, QUICKBOOKS_SANDBOX):
            return "https://oauth.platform.intuit.com/oauth2/v1/tokens/bearer"
        return f"{base}/oauth2/v1/tokens/bearer"

    @property
    def effective_hubspot_authorize_url(self) -> str:
        if self.hubspot_authorize_url:
            return self.hubspot_authorize_url
        base = self.hubspot_api_base.rstrip("/")
        if base == HUBSPOT_PRODUCTION:
            return "https://app.hubspot.com/oauth/authorize"
        return f"{base}/oauth/authorize"

    @property
    def effective_quickbooks_authorize_url(self) -> str:
        if self.quickbooks_authorize_url:
            return self.quickbooks_authorize_url
        base = self.quickbooks_api_base.rstrip("/")
        if base in (QUICKBOOKS_PRODUCTION, QUICKBOOKS_SANDBOX):
            return "https://appcenter.intuit.com/connect/oauth2"
        return f"{base}/connect/oauth2"

    @property
    def effective_encryption_key(self) -> Secret:
        if self.encryption_key:
            return self.encryption_key
        return Secret(DEVELOPMENT_ENCRYPTION_KEY)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for f in dataclasses.fields(cls):
            raw = env.get(PREFIX + f.name.upper())
            if raw is None:
                continue
            values[f.name] = _parse(f.name, f.type, raw)
        settings = cls(**values)
        _check(settings)
        return settings

    def replace(self, **changes: Any) -> Settings:
        updated = dataclasses.replace(self, **changes)
        _check(updated)
        return updated


def _parse(name: str, kind: Any, raw: str) -> Any:
    kind = kind if isinstance(kind, str) else getattr(kind, "__name__", str(kind))
    var = PREFIX + name.upper()
    if kind == "Secret":
        return Secret(raw)
    if kind == "int":
        try:
            return int(raw)
        except ValueError:
            raise ConfigError(f"{var} must be a whole number, got {raw!r}") from None
    if kind == "float":
        try:
            value = float(raw)
        except ValueError:
            raise ConfigError(f"{var} must be a number of seconds, got {raw!r}") from None
        if value < 0:
            raise ConfigError(f"{var} must not be negative, got {raw!r}")
        return value
    return raw


def _check(s: Settings) -> None:
    if s.environment not in ("development", "test", "production"):
        raise ConfigError(
            "PRODUCTSYNC_ENVIRONMENT must be development, test or production, "
            f"got {s.environment!r}"
        )
    if not s.is_development and not s.encryption_key:
        raise ConfigError(
            "PRODUCTSYNC_ENCRYPTION_KEY is required outside development: generate one with "
            "`productsync keygen` and keep it safe (tokens at rest are encrypted with it)"
        )
    if s.encryption_key:
        from cryptography.fernet import Fernet

        try:
            Fernet(s.encryption_key.reveal().encode())
        except (ValueError, TypeError):
            raise ConfigError(
                "PRODUCTSYNC_ENCRYPTION_KEY is not a valid key (32 url-safe base64-encoded "
                "bytes); generate one with `productsync keygen`"
            ) from None
    if not s.is_development:
        for name in ("web_password", "flower_password", "web_secret_key"):
            default = Settings.__dataclass_fields__[name].default_factory()  # type: ignore[misc]
            if getattr(s, name) == default:
                raise ConfigError(
                    f"PRODUCTSYNC_{name.upper()} must be set outside development "
                    "(the development default is public)"
                )
    for name in ("hubspot_api_base", "quickbooks_api_base"):
        url = getattr(s, name)
        if not url.startswith(("http://", "https://")):
            raise ConfigError(f"PRODUCTSYNC_{name.upper()} must be an http(s) URL, got {url!r}")
    if s.chunk_lease_seconds <= 0:
        raise ConfigError(
            f"PRODUCTSYNC_CHUNK_LEASE_SECONDS must be positive, got {s.chunk_lease_seconds}"
        )
    if s.public_url and not s.public_url.startswith(("http://", "https://")):
        raise ConfigError(f"PRODUCTSYNC_PUBLIC_URL must be an http(s) URL, got {s.public_url!r}")
    if s.metrics_token and len(s.metrics_token.reveal()) < 16:
        raise ConfigError(
            "PRODUCTSYNC_METRICS_TOKEN must be at least 16 characters (a long random string)"
        )
    versions = s.hubspot_webhook_signature_versions
    if not versions or not versions <= {"v1", "v2", "v3"}:
        raise ConfigError(
            "PRODUCTSYNC_HUBSPOT_WEBHOOK_SIGNATURES must list v3, v2 and/or v1 (comma-"
            f"separated), got {s.hubspot_webhook_signatures!r}"
        )
    if s.webhook_max_body_bytes < 1024:
        raise ConfigError(
            "PRODUCTSYNC_WEBHOOK_MAX_BODY_BYTES must be at least 1024, "
            f"got {s.webhook_max_body_bytes}"
        )
    if not 0 <= s.webhook_coalesce_seconds <= 30:
        raise ConfigError(
            "PRODUCTSYNC_WEBHOOK_COALESCE_SECONDS must be between 0 and 30, "
            f"got {s.webhook_coalesce_seconds}"
        )
    for name in ("history_retention_days", "job_retention_days"):
        if getattr(s, name) < 1:
            raise ConfigError(f"PRODUCTSYNC_{name.upper()} must be at least 1 day")
    if not 1 <= s.mass_archive_percent <= 100:
        raise ConfigError(
            f"PRODUCTSYNC_MASS_ARCHIVE_PERCENT must be 1 to 100, got {s.mass_archive_percent}"
        )
    if s.mass_archive_minimum < 1:
        raise ConfigError(
            f"PRODUCTSYNC_MASS_ARCHIVE_MINIMUM must be at least 1, got {s.mass_archive_minimum}"
        )
    if s.log_format not in ("text", "json"):
        raise ConfigError(f"PRODUCTSYNC_LOG_FORMAT must be text or json, got {s.log_format!r}")
    if s.job_lease_seconds * 4 > s.broker_visibility_timeout:
        raise ConfigError(
            "PRODUCTSYNC_JOB_LEASE_SECONDS must stay well below the broker visibility timeout "
            f"({s.job_lease_seconds} vs {s.broker_visibility_timeout})"
        )


@functools.cache
def get_settings() -> Settings:
    """The process-wide settings, read on first use."""
    return Settings.from_env()
