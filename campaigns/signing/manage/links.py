"""The private link to manage a signature: the signature's public UUID,
signed with the token key under its own salt (a confirmation or unsubscribe
token is refused here, and this one there) and dated: it expires after
``MANAGE_TOKEN_MAX_AGE``, and a new one is a form away. Nothing is stored
for it.

Right after confirming, the campaign page shows the link once: the
signature's UUID waits in the session for that one page, then is dropped, so
that the next person on a shared device does not find it."""

from __future__ import annotations

import uuid

from flask import current_app, session, url_for

from ...i18n import DEFAULT_LANGUAGE
from ...models import Campaign, Signature
from ...tokens import UUIDTokens

_TOKENS = UUIDTokens("manage-signature", dated=True)
_KEY = "manage_link"


def make_manage_token(signature_uuid: uuid.UUID) -> str:
    return _TOKENS.make(signature_uuid)


def read_manage_token(token: str) -> uuid.UUID:
    """The UUID a manage token names; raises ``InvalidToken`` or ``ExpiredToken``."""
    return _TOKENS.read(token, max_age=current_app.config["MANAGE_TOKEN_MAX_AGE"])


def manage_url(signature: Signature) -> str:
    """The link in the signer's emails, to the page in their language."""
    lang = signature.locale
    if lang not in current_app.config["LANGUAGES"]:
        lang = DEFAULT_LANGUAGE
    site = current_app.config["SITE_URL"]
    return f"{site}/{lang}/manage/{make_manage_token(signature.uuid)}"


def remember_manage_link(campaign: Campaign, signature: Signature) -> None:
    """Keep the signature for the page the confirmation leads to."""
    session[_KEY] = {"campaign": campaign.slug, "signature": str(signature.uuid)}


def take_manage_link(campaign: Campaign) -> str | None:
    """The manage link (a path) for the signature this browser has just
    confirmed on ``campaign``, once; None otherwise."""
    kept = session.get(_KEY)
    if not isinstance(kept, dict) or kept.get("campaign") != campaign.slug:
        return None
    session.pop(_KEY, None)
    try:
        signature_uuid = uuid.UUID(str(kept.get("signature")))
    except ValueError:
        return None
    return url_for("manage.manage_page", token=make_manage_token(signature_uuid))
