"""The token store over the ``credentials`` table, with single-flight refresh.

Refresh is serialized per (account, system) by a row lock: ``SELECT … FOR UPDATE``, then
re-read; when another process refreshed meanwhile (``version`` moved and the token is
fresh) its token is used and no token request is made. Otherwise the refresh happens
while the lock is held and the new tokens, including a rotated refresh token, are
committed in the same transaction. ``invalid_grant`` marks the row ``needs_reauth``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.dialects.postgresql import insert

from models.credential import Credential
from models.db import session_scope
from workers.auth.crypto import TokenCipher
from workers.auth.oauth import TokenGrant
from workers.errors import ReauthRequired
from workers.secret import Secret

log = logging.getLogger(__name__)

# Refresh this long before the vendor's expiry, so no request goes out with a token that
# dies on the way (QBO tokens live 1 h, HubSpot OAuth tokens 30 min).
REFRESH_SKEW = timedelta(minutes=5)


@dataclass(frozen=True)
class TokenState:
    kind: str  # "private_app" or "oauth"
    access_token: Secret
    access_expires_at: datetime | None
    version: int

    def expiring(self, skew: timedelta = REFRESH_SKEW, now: datetime | None = None) -> bool:
        if self.access_expires_at is None:
            return False
        return self.access_expires_at - skew <= (now or datetime.now(UTC))


class CredentialStore:
    def __init__(self, database_url: str, cipher: TokenCipher) -> None:
        self.database_url = database_url
        self.cipher = cipher

    def load(self, account_id: int, system: str) -> TokenState:
        """The stored token; `ReauthRequired` when there is none or it needs a person."""
        with session_scope(self.database_url) as session:
            row = session.execute(_row(account_id, system)).scalar_one_or_none()
            return self._state(row, system)

    def save(
        self,
        account_id: int,
        system: str,
        kind: str,
        grant: TokenGrant,
        *,
        time_zone: str | None = None,
    ) -> None:
        """Store new tokens (connect flow): status back to ok, version bumped. A known
        ``time_zone`` of the vendor account is recorded too (else the stored one stays)."""
        values: dict[str, Any] = {
            "account_id": account_id,
            "system": system,
            "kind": kind,
            "access_token_enc": self.cipher.encrypt(grant.access_token),
            "refresh_token_enc": (
                self.cipher.encrypt(grant.refresh_token) if grant.refresh_token else None
            ),
            "access_expires_at": grant.access_expires_at,
            "refresh_expires_at": grant.refresh_expires_at,
            "scopes": grant.scopes,
            "status": "ok",
            "status_reason": None,
            "version": 1,
            "refreshed_at": datetime.now(UTC),
            "created_at": datetime.now(UTC),
            "updated_at": datetime.now(UTC),
        }
        if time_zone:
            values["time_zone"] = time_zone
        statement = insert(Credential).values(**values)
        update = {
            k: statement.excluded[k]
            for k in values
            if k not in ("account_id", "system", "created_at", "version")
        }
        update["version"] = Credential.version + 1
        statement = statement.on_conflict_do_update(
            index_elements=["account_id", "system"], set_=update
        )
        with session_scope(self.database_url) as session:
            session.execute(statement)

    def mark_needs_reauth(self, account_id: int, system: str, reason: str) -> None:
        with session_scope(self.database_url) as session:
            row = session.execute(_row(account_id, system).with_for_update()).scalar_one_or_none()
            if row is not None:
                row.status, row.status_reason = "needs_reauth", reason

    def refresh(
        self,
        account_id: int,
        system: str,
        *,
        seen_version: int,
        refresher: Callable[[Secret], TokenGrant],
    ) -> TokenState:
        """A fresh token, refreshing at most once across every process (see module doc)."""
        failure: ReauthRequired | None = None
        with session_scope(self.database_url) as session:
            row = session.execute(_row(account_id, system).with_for_update()).scalar_one_or_none()
            state = self._state(row, system)
            assert row is not None  # _state raised otherwise
            if state.version != seen_version and not state.expiring():
                return state  # someone else refreshed while we waited for the lock
            if row.refresh_token_enc is None:
                raise ReauthRequired(
                    f"the {system} credential has no refresh token; reconnect the account "
                    f"with `productsync connect {system}`",
                    system=system,
                )
            try:
                grant = refresher(self.cipher.decrypt(row.refresh_token_enc))
            except ReauthRequired as exc:
                row.status, row.status_reason = "needs_reauth", exc.message
                failure = exc
            else:
                now = datetime.now(UTC)
                row.access_token_enc = self.cipher.encrypt(grant.access_token)
                if grant.refresh_token is not None:  # rotated: the old one dies soon
                    row.refresh_token_enc = self.cipher.encrypt(grant.refresh_token)
                row.access_expires_at = grant.access_expires_at
                row.refresh_expires_at = grant.refresh_expires_at or row.refresh_expires_at
                row.version += 1
                row.refreshed_at = now
                state = TokenState(
                    row.kind, grant.access_token, grant.access_expires_at, row.version
                )
        if failure is not None:
            log.warning("%s account %s: refresh refused, needs reauth", system, account_id)
            raise failure
        log.info(
            "%s account %s: access token refreshed (version %s)", system, account_id, state.version
        )
        return state

    def _state(self, row: Credential | None, system: str) -> TokenState:
        if row is None or row.access_token_enc is None:
            raise ReauthRequired(
                f"no {system} credential for this account; connect it with "
                f"`productsync connect {system}`",
                system=system,
            )
        if row.status == "needs_reauth":
            raise ReauthRequired(
                f"the {system} connection needs a person to reconnect it "
                f"(`productsync connect {system}`): {row.status_reason or 'token refused'}",
                system=system,
            )
        return TokenState(
            row.kind,
            self.cipher.decrypt(row.access_token_enc),
            row.access_expires_at,
            row.version,
        )


def _row(account_id: int, system: str) -> Select[Any]:
    return select(Credential).where(
        Credential.account_id == account_id, Credential.system == system
    )
