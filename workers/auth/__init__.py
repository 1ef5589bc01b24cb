"""Credentials: Fernet-encrypted tokens in Postgres, OAuth code exchange and refresh,
single-flight refresh per account, and the per-connector `TokenSource`."""

from workers.auth.crypto import TokenCipher
from workers.auth.oauth import TokenGrant, exchange_code, refresh
from workers.auth.source import TokenSource
from workers.auth.store import REFRESH_SKEW, CredentialStore, TokenState

__all__ = [
    "REFRESH_SKEW",
    "CredentialStore",
    "TokenCipher",
    "TokenGrant",
    "TokenSource",
    "TokenState",
    "exchange_code",
    "refresh",
]
