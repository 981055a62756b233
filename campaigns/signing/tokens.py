"""Confirmation tokens: the signature's public UUID, signed and dated. Nothing
is stored for them; only our key can make one."""

from __future__ import annotations

import uuid

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from ..models import Signature
from ..privacy.crypto import keyring


class InvalidToken(ValueError):
    """Not a token we made."""


class ExpiredToken(ValueError):
    """A token we made, too old to use."""


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(keyring().token, salt="confirm-signature")


def make_confirm_token(signature_uuid: uuid.UUID) -> str:
    return str(_serializer().dumps(signature_uuid.hex))


def read_confirm_token(token: str) -> uuid.UUID:
    if len(token) > 200:
        raise InvalidToken(token[:20])
    try:
        value = _serializer().loads(token, max_age=current_app.config["CONFIRM_TOKEN_MAX_AGE"])
        return uuid.UUID(hex=value)
    except SignatureExpired as exc:
        raise ExpiredToken from exc
    except (BadSignature, ValueError, TypeError) as exc:
        raise InvalidToken from exc


def confirm_url(signature: Signature) -> str:
    """The link in the confirmation email (the public contract's confirm URL)."""
    site = current_app.config["SITE_URL"]
    return f"{site}/{signature.locale}/confirm/{make_confirm_token(signature.uuid)}"
