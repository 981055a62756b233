"""Signed public ids in links: a signature's UUID signed with the token key,
under a salt per purpose, so that a token made for one purpose is invalid for
any other. Nothing is stored for them; only our key can make one."""

from __future__ import annotations

import uuid

from itsdangerous import BadSignature, SignatureExpired, URLSafeSerializer, URLSafeTimedSerializer

from .privacy.crypto import keyring

# Longer than any token we make: refused before any work.
MAX_LENGTH = 200


class InvalidToken(ValueError):
    """Not a token we made (for this purpose)."""


class ExpiredToken(ValueError):
    """A token we made, too old to use."""


class UUIDTokens:
    """The tokens of one purpose (its salt); dated ones can expire."""

    def __init__(self, salt: str, *, dated: bool) -> None:
        self.salt = salt
        self.dated = dated

    def _serializer(self) -> URLSafeTimedSerializer | URLSafeSerializer:
        kind = URLSafeTimedSerializer if self.dated else URLSafeSerializer
        return kind(keyring().token, salt=self.salt)

    def make(self, value: uuid.UUID) -> str:
        return str(self._serializer().dumps(value.hex))

    def read(self, token: str, max_age: int | None = None) -> uuid.UUID:
        """The UUID a token names; a dated token older than ``max_age``
        seconds is expired."""
        if len(token) > MAX_LENGTH:
            raise InvalidToken(token[:20])
        serializer = self._serializer()
        try:
            if isinstance(serializer, URLSafeTimedSerializer):
                value = serializer.loads(token, max_age=max_age)
            else:
                value = serializer.loads(token)
            return uuid.UUID(hex=value)
        except SignatureExpired as exc:
            raise ExpiredToken from exc
        except (BadSignature, ValueError, TypeError) as exc:
            raise InvalidToken from exc
