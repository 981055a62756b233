"""Login throttling that an attacker cannot turn into a lockout.

Each failed login counts against keys; the next attempt on a key waits a
delay that grows with its failures (none for the first MAX_FAILURES, then
1, 2, 4, 8 minutes, then MAX_DELAY, a quarter of an hour). An attempt is answered "wait" (429)
before any password is checked, so the delays also hide nothing: the keys
are made from what was typed, whether or not the account exists.

Which keys (OWASP's "device cookie" scheme): a browser that once logged in to
an account holds a signed device cookie for it (console/devices.py); its
attempts count only against that device. Every other attempt counts against
the account, the account from that address, and the address: guesses from
many addresses slow the account for unknown browsers, never for the real
user's own browser.

The same table also holds plain attempt limits (``take_attempt``): the
confirmation codes' tries per signature and per client address; and the same
delays throttle public forms per client address (``address_keys``),
counting every request, not only failures."""

from __future__ import annotations

import hashlib
from datetime import timedelta

from sqlalchemy import case, delete, or_, select, update

from ..extensions import db
from ..models import LoginThrottle
from ..models.types import utcnow
from ..privacy.crypto import hash_ip
from ..upsert import insert_ignore

# Failures on a key before the delays start.
MAX_FAILURES = 5
FIRST_DELAY = timedelta(minutes=1)
MAX_DELAY = timedelta(minutes=15)
# A key with no failure for this long starts again from nothing.
FORGET_AFTER = timedelta(hours=24)


def delay_after(failures: int) -> timedelta:
    """How long the next attempt waits after ``failures`` failures."""
    if failures < MAX_FAILURES:
        return timedelta(0)
    # A minute after the fifth failure, doubling; the exponent is capped so
    # that the number stays small long after MAX_DELAY applies.
    return min(MAX_DELAY, FIRST_DELAY * 2 ** min(failures - MAX_FAILURES, 20))


def _digest(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:40]


def login_keys(
    email: str, client_ip: str | None, device: str | None
) -> tuple[list[str], list[str]]:
    """(the keys this attempt is throttled by, the keys a success forgets)."""
    account = email.strip().lower()[:60]
    if device:
        return [f"device:{device}"], [f"device:{device}"]
    keys = [f"account:{account}"]
    if client_ip:
        address = hash_ip(client_ip).hex()
        keys += [f"account-ip:{_digest(account, address)}", f"ip:{address}"]
    # A success does not forget the address: one account of the attacker's
    # own would otherwise clear the address's guesses at others.
    return keys, [k for k in keys if not k.startswith("ip:")]


def address_keys(scope: str, client_ip: str | None) -> list[str]:
    """The key that throttles a public form (``scope``) per client address:
    every request counts, so that the delays say nothing about what was
    typed (the "manage my signature" form)."""
    return [f"{scope}:{hash_ip(client_ip).hex()}"] if client_ip else []


def wait_left(keys: list[str]) -> timedelta:
    """How long before an attempt on these keys is heard (zero: now)."""
    now = utcnow()
    rows = db.session.execute(select(LoginThrottle).where(LoginThrottle.key.in_(keys))).scalars()
    waits = [
        row.last_failure_at + delay_after(row.failures) - now
        for row in rows
        if row.last_failure_at > now - FORGET_AFTER
    ]
    return max([timedelta(0), *waits])


def count_failure(keys: list[str]) -> None:
    now = utcnow()
    for key in keys:
        row = db.session.get(LoginThrottle, key)
        if row is None:
            db.session.add(LoginThrottle(key=key, failures=1, last_failure_at=now))
        elif row.last_failure_at <= now - FORGET_AFTER:
            row.failures, row.last_failure_at = 1, now
        else:
            row.failures, row.last_failure_at = row.failures + 1, now


def forget(keys: list[str]) -> None:
    db.session.execute(delete(LoginThrottle).where(LoginThrottle.key.in_(keys)))


def take_attempt(key: str, limit: int, window: timedelta) -> bool:
    """Count one attempt on ``key``: False, and nothing counted, once ``limit``
    attempts were made on it with no pause of ``window`` since the last one
    (a pause that long starts it again from one). One guarded UPDATE: attempts
    made at the same moment never pass the limit together."""
    now = utcnow()
    db.session.execute(
        insert_ignore(LoginThrottle, ["key"]),
        [{"key": key, "failures": 0, "last_failure_at": now}],
    )
    rested = LoginThrottle.last_failure_at <= now - window
    taken = db.session.execute(
        update(LoginThrottle)
        .where(LoginThrottle.key == key, or_(LoginThrottle.failures < limit, rested))
        .values(
            failures=case((rested, 1), else_=LoginThrottle.failures + 1),
            last_failure_at=now,
        )
        .returning(LoginThrottle.failures)
        .execution_options(synchronize_session=False)
    ).scalar_one_or_none()
    return taken is not None


def forget_rested(prefix: str, window: timedelta) -> int:
    """Delete the attempt counts of the keys starting with ``prefix`` that saw
    no attempt for ``window`` (they would start again from one anyway)."""
    result = db.session.execute(
        delete(LoginThrottle)
        .where(
            LoginThrottle.key.startswith(prefix, autoescape=True),
            LoginThrottle.last_failure_at <= utcnow() - window,
        )
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)
