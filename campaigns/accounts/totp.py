"""Time-based one-time passwords (RFC 6238) with pyotp; the secret is stored
encrypted with the personal data key.

Clock skew: a code is accepted for the current 30-second step and for one
step before or after it (±30 s), and each step only once per account: a step
at or before the last accepted one is refused, at login, at enrolment and
at re-enrolment alike, so that an observed code cannot be replayed."""

from __future__ import annotations

import hmac
import time

import pyotp
import segno
from sqlalchemy import or_, update

from ..extensions import db
from ..models import User
from ..privacy.crypto import decrypt, encrypt

PURPOSE = b"user.totp_secret"
ISSUER = "Zaytoun"
# Steps accepted either side of the current one (the skew policy above).
SKEW_STEPS = 1


def new_secret() -> str:
    return pyotp.random_base32()


def seal_secret(secret: str) -> bytes:
    return encrypt(secret.encode(), PURPOSE)


def unseal_secret(blob: bytes | None) -> str | None:
    return decrypt(blob, PURPOSE).decode() if blob else None


def user_secret(user: User) -> str | None:
    return unseal_secret(user.totp_secret)


def pending_secret(user: User) -> str | None:
    """The secret offered for enrolment, if one was started."""
    return unseal_secret(user.totp_pending)


def start_enrolment(user: User) -> str:
    """A new secret to enrol, kept sealed on the user row (never in the
    session cookie) until a code proves it; starting again replaces it."""
    secret = new_secret()
    user.totp_pending = seal_secret(secret)
    return secret


def matching_step(secret: str, code: str, at: float | None = None) -> int | None:
    """The time step within the skew policy whose code this is, or None."""
    code = "".join(ch for ch in code if ch.isdigit())
    # Other scripts' digits (Arabic-Indic …) are not the code's digits.
    if len(code) != 6 or not code.isascii():
        return None
    totp = pyotp.TOTP(secret)
    current = totp.timecode(time.time() if at is None else at)
    for step in range(current - SKEW_STEPS, current + SKEW_STEPS + 1):
        if hmac.compare_digest(code, totp.generate_otp(step)):
            return step
    return None


def consume_step(user: User, step: int) -> bool:
    """Record ``step`` as used: False if it or a later step already was (a
    replay). A guarded update, so two requests cannot both use one code."""
    done = db.session.execute(
        update(User)
        .where(User.id == user.id)
        .where(or_(User.totp_last_step.is_(None), User.totp_last_step < step))
        .values(totp_last_step=step)
        .execution_options(synchronize_session=False)
    )
    if done.rowcount != 1:  # type: ignore[attr-defined]
        return False
    user.totp_last_step = step
    return True


def accept_code(user: User, secret: str, code: str) -> bool:
    """Whether ``code`` is a right, unused code of ``secret`` for this user
    (and if so, its step is now used)."""
    step = matching_step(secret, code)
    return step is not None and consume_step(user, step)


def provisioning_uri(secret: str, email: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=email, issuer_name=ISSUER)


def qr_svg(uri: str) -> str:
    """An inline SVG QR code of the provisioning URI (made here, no third party)."""
    return str(segno.make(uri, error="m").svg_inline(scale=4, dark="#1d1d1b", light="#ffffff"))
