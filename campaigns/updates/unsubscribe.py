"""Unsubscribe links: the signature's public UUID, signed with the token key
under its own salt. Nothing is stored for them, and they do not expire: a
way out of a mailing list must keep working."""

from __future__ import annotations

import uuid

from flask import current_app
from sqlalchemy import select, update

from ..extensions import db
from ..i18n import DEFAULT_LANGUAGE
from ..models import Signature
from ..tokens import UUIDTokens

_TOKENS = UUIDTokens("unsubscribe-signature", dated=False)


def make_unsubscribe_token(signature_uuid: uuid.UUID) -> str:
    return _TOKENS.make(signature_uuid)


def read_unsubscribe_token(token: str) -> uuid.UUID:
    """The UUID an unsubscribe token names; raises ``InvalidToken``."""
    return _TOKENS.read(token)


def unsubscribe_url(signature: Signature) -> str:
    """The link in every update email, to a page in the signer's language."""
    lang = signature.locale
    if lang not in current_app.config["LANGUAGES"]:
        lang = DEFAULT_LANGUAGE
    site = current_app.config["SITE_URL"]
    return f"{site}/{lang}/unsubscribe/{make_unsubscribe_token(signature.uuid)}"


def signature_for_unsubscribe(token: str) -> Signature | None:
    """The signature a token names (no state change); None once erased."""
    signature_uuid = read_unsubscribe_token(token)
    return db.session.execute(
        select(Signature).where(Signature.uuid == signature_uuid)
    ).scalar_one_or_none()


def unsubscribe(signature: Signature) -> bool:
    """Stop updates to this signer; True if it changed anything (flush only)."""
    changed = db.session.execute(
        update(Signature)
        .where(Signature.id == signature.id, Signature.contact_ok.is_(True))
        .values(contact_ok=False)
        .returning(Signature.id)
        .execution_options(synchronize_session=False)
    ).scalar()
    db.session.expire(signature, ["contact_ok"])
    return changed is not None
