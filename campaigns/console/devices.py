"""The device cookie (OWASP's scheme against lockout by an attacker): after a
successful login the browser gets a signed cookie naming a random device id
and the account (as a keyed hash of its email, so that the cookie does not
say who logs in there). Login attempts that bring a valid one for the email
typed are throttled per device only (accounts/throttle.py)."""

from __future__ import annotations

import secrets
from datetime import timedelta

from flask import current_app, request
from itsdangerous import BadData, URLSafeTimedSerializer
from werkzeug.wrappers import Response

from ..privacy.crypto import fingerprint

COOKIE = "zaytoun_device"
MAX_AGE = timedelta(days=180)


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.secret_key or "", salt="console-device")


def _account_tag(email: str) -> str:
    return fingerprint("device", email.strip().lower()).hex()[:32]


def device_for(email: str) -> str | None:
    """This browser's device id if its cookie was issued for ``email``."""
    raw = request.cookies.get(COOKIE)
    if not raw:
        return None
    try:
        data = _serializer().loads(raw, max_age=int(MAX_AGE.total_seconds()))
    except BadData:
        return None
    if not isinstance(data, dict) or data.get("a") != _account_tag(email):
        return None
    device = data.get("d")
    return device if isinstance(device, str) and len(device) == 32 else None


def remember_device(response: Response, email: str) -> None:
    """Give the browser that just logged in a new device cookie for ``email``."""
    value = _serializer().dumps({"a": _account_tag(email), "d": secrets.token_hex(16)})
    response.set_cookie(
        COOKIE,
        value,
        max_age=int(MAX_AGE.total_seconds()),
        path="/console",
        secure=current_app.config["SESSION_COOKIE_SECURE"],
        httponly=True,
        samesite="Strict",
    )
