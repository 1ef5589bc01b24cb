"""Tokens at rest: Fernet ciphertext under the key from the environment."""

from __future__ import annotations

from cryptography.fernet import Fernet, InvalidToken

from workers.errors import ReauthRequired
from workers.secret import Secret


class TokenCipher:
    def __init__(self, key: Secret) -> None:
        self._fernet = Fernet(key.reveal().encode())

    def encrypt(self, value: Secret) -> bytes:
        return self._fernet.encrypt(value.reveal().encode())

    def decrypt(self, blob: bytes) -> Secret:
        try:
            return Secret(self._fernet.decrypt(blob).decode())
        except InvalidToken:
            # Wrong PRODUCTSYNC_ENCRYPTION_KEY or a rotated key: the stored token is lost.
            raise ReauthRequired(
                "a stored token cannot be decrypted with the current encryption key; "
                "restore the previous PRODUCTSYNC_ENCRYPTION_KEY or reconnect the account",
                code="undecryptable_token",
            ) from None
