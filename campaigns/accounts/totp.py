"""Time-based one-time passwords (RFC 6238) with pyotp; the secret is stored
encrypted with the personal data key."""

from __future__ import annotations

import pyotp
import segno

from ..models import User
from ..privacy.crypto import decrypt, encrypt

PURPOSE = b"user.totp_secret"
ISSUER = "Zaytoun"


def new_secret() -> str:
    return pyotp.random_base32()


def seal_secret(secret: str) -> bytes:
    return encrypt(secret.encode(), PURPOSE)


def user_secret(user: User) -> str | None:
    return decrypt(user.totp_secret, PURPOSE).decode() if user.totp_secret else None


def verify_code(secret: str, code: str) -> bool:
    code = "".join(ch for ch in code if ch.isdigit())
    return len(code) == 6 and pyotp.TOTP(secret).verify(code, valid_window=1)


def provisioning_uri(secret: str, email: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=email, issuer_name=ISSUER)


def qr_svg(uri: str) -> str:
    """An inline SVG QR code of the provisioning URI (made here, no third party)."""
    return str(segno.make(uri, error="m").svg_inline(scale=4, dark="#1d1d1b", light="#ffffff"))
