"""Confirm by code: the confirmation email also carries a code of 8 digits
that the person can type on the thanks page, for mail read on another device
or a link broken by a link scanner or a messaging app's preview.

Nothing is stored for a code: it is a keyed HMAC of the signature's public
UUID under its own key (derived from the token key for this purpose only), so
only our key can make one and a UUID tells nothing of its code.

The thanks page is the same for everyone; the browser that signed holds an
HttpOnly cookie per campaign, the *reference*: the signature's UUID and the
time of signing, encrypted and authenticated with our key. The answer to a
new signature names it; the answer to a duplicate address or a bot names a
random UUID that no signature has, so its form never accepts any code. Both
are the same length and opaque: the browser cannot tell them apart, and
since tries are counted per reference (not per signature row), nor can it by
guessing.

Tries are limited per reference (``ATTEMPTS_PER_SIGNATURE`` while the code
lives) and per client address (``ATTEMPTS_PER_ADDRESS`` with no pause of
``ADDRESS_WINDOW``), in the login throttle's table (accounts/throttle.py),
which works on the database alone; the retention job deletes the counts
nobody needs any more. Past either, the code path is closed and the person
is pointed to the link. docs/threat-model.md gives the odds."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import time
import unicodedata
import uuid
from datetime import timedelta

from flask import current_app, request
from werkzeug.http import dump_cookie
from werkzeug.wrappers import Response

from ..accounts.throttle import forget_rested
from ..kernel.normalize import ascii_digits
from ..models import Campaign
from ..privacy.crypto import DecryptionError, Keyring, decrypt, encrypt, keyring
from ..tokens import ExpiredToken, InvalidToken

CODE_DIGITS = 8
CODE_SPACE = 10**CODE_DIGITS
ATTEMPTS_PER_SIGNATURE = 5
ATTEMPTS_PER_ADDRESS = 20
ADDRESS_WINDOW = timedelta(hours=1)

_CODE_KEY_INFO = b"zaytoun confirm code v1"
_REFERENCE_PURPOSE = b"zaytoun confirm code reference v1"
# What may separate the digits as typed or pasted: spaces (any), hyphens, dots.
_SEPARATORS = re.compile(r"[\s\-\u2010-\u2015.]+")
_SIGNATURE_PREFIX = "confirm-code:"
_ADDRESS_PREFIX = "confirm-code-ip:"
# Longer than any reference we make: refused before any work.
_MAX_REFERENCE = 200


def _code_key(ring: Keyring) -> bytes:
    return hmac.new(ring.token, _CODE_KEY_INFO, hashlib.sha256).digest()


def confirm_code(signature_uuid: uuid.UUID, ring: Keyring | None = None) -> str:
    """The signature's code: ``CODE_DIGITS`` ASCII digits. 64 bits of the HMAC
    reduced modulo 10^8: the bias is below 10^-11."""
    digest = hmac.new(_code_key(ring or keyring()), signature_uuid.bytes, hashlib.sha256).digest()
    return f"{int.from_bytes(digest[:8], 'big') % CODE_SPACE:0{CODE_DIGITS}d}"


def shown_code(code: str) -> str:
    """The code as the email shows it: two groups of four, easier to copy."""
    return f"{code[:4]} {code[4:]}"


def typed_code(text: str) -> str | None:
    """The code as typed (any decimal digits, Arabic-Indic ones included,
    with spaces or hyphens anywhere, and the invisible direction marks a copy
    from the email may carry), or None when it is not 8 digits."""
    visible = "".join(ch for ch in text or "" if unicodedata.category(ch) != "Cf")
    digits = _SEPARATORS.sub("", ascii_digits(visible))
    if len(digits) == CODE_DIGITS and digits.isascii() and digits.isdigit():
        return digits
    return None


def code_matches(signature_uuid: uuid.UUID, code: str) -> bool:
    return hmac.compare_digest(confirm_code(signature_uuid), code)


def max_age() -> int:
    return int(current_app.config["CONFIRM_CODE_MAX_AGE"])


def make_reference(signature_uuid: uuid.UUID | None, now: float | None = None) -> str:
    """The opaque reference the thanks page's form is checked against: the
    new signature's UUID, or for a duplicate or a bot a random one."""
    named = signature_uuid or uuid.uuid4()
    made_at = int(time.time() if now is None else now)
    sealed = encrypt(f"{named.hex}:{made_at:012d}".encode(), _REFERENCE_PURPOSE)
    return base64.urlsafe_b64encode(sealed).decode().rstrip("=")


def read_reference(reference: str) -> uuid.UUID:
    """The UUID a reference names; ExpiredToken past ``CONFIRM_CODE_MAX_AGE``,
    InvalidToken when it is not one we made."""
    if len(reference) > _MAX_REFERENCE:
        raise InvalidToken(reference[:20])
    try:
        sealed = base64.urlsafe_b64decode(reference + "=" * (-len(reference) % 4))
        named, _, made_at = decrypt(sealed, _REFERENCE_PURPOSE).decode().partition(":")
        signature_uuid, made = uuid.UUID(hex=named), int(made_at)
    except (DecryptionError, ValueError) as exc:
        raise InvalidToken from exc
    if time.time() - made > max_age():
        raise ExpiredToken
    return signature_uuid


def signature_key(signature_uuid: uuid.UUID) -> str:
    """The throttle key of one reference's tries."""
    return f"{_SIGNATURE_PREFIX}{signature_uuid.hex}"


def address_key(client_ip: str) -> str:
    """The throttle key of one client address's tries: a keyed hash of its
    own purpose, not the ``ip_hash`` kept with signatures (which retention
    erases), and gone an hour after the last try (``forget_rested_tries``)."""
    digest = hmac.new(keyring().ip, b"confirm code\x1f" + client_ip.encode(), hashlib.sha256)
    return f"{_ADDRESS_PREFIX}{digest.hexdigest()[:32]}"


def forget_rested_tries() -> int:
    """Delete the tries nobody needs to count any more: an address's after an
    hour of quiet, a reference's once its code has expired (the retention
    job runs this)."""
    return forget_rested(_ADDRESS_PREFIX, ADDRESS_WINDOW) + forget_rested(
        _SIGNATURE_PREFIX, timedelta(seconds=max_age())
    )


def _cookie_name(campaign: Campaign) -> str:
    return f"code-{campaign.slug}"


def remember_reference(
    response: Response, campaign: Campaign, signature_uuid: uuid.UUID | None
) -> None:
    """Give the browser that signed its reference, HttpOnly. The header has
    the same shape and length whatever it names (see the module's note)."""
    response.headers.add(
        "Set-Cookie",
        dump_cookie(
            _cookie_name(campaign),
            make_reference(signature_uuid),
            max_age=max_age(),
            path="/",
            secure=request.is_secure,
            httponly=True,
            samesite="Lax",
            sync_expires=False,
        ),
    )


def reference_here(campaign: Campaign) -> str | None:
    """This browser's reference for ``campaign``, if it signed there."""
    return request.cookies.get(_cookie_name(campaign))
