"""Confirmation tokens: the signature's public UUID, signed and dated. Nothing
is stored for them; only our key can make one."""

from __future__ import annotations

import uuid

from flask import current_app

from ..models import Signature
from ..tokens import ExpiredToken, InvalidToken, UUIDTokens

# The errors are the shared ones (``campaigns.tokens``), named here for the views.
__all__ = [
    "ExpiredToken",
    "InvalidToken",
    "confirm_url",
    "make_confirm_token",
    "read_confirm_token",
]

_TOKENS = UUIDTokens("confirm-signature", dated=True)


def make_confirm_token(signature_uuid: uuid.UUID) -> str:
    return _TOKENS.make(signature_uuid)


def read_confirm_token(token: str) -> uuid.UUID:
    return _TOKENS.read(token, max_age=current_app.config["CONFIRM_TOKEN_MAX_AGE"])


def confirm_url(signature: Signature) -> str:
    """The link in the confirmation email (the public contract's confirm URL)."""
    site = current_app.config["SITE_URL"]
    return f"{site}/{signature.locale}/confirm/{make_confirm_token(signature.uuid)}"
