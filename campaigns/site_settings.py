"""Site-wide switches stored in the database and changed from the console.
Every sign request asks, so each process keeps what it read for two seconds:
a change shows everywhere within that time, without a round trip per request."""

from __future__ import annotations

from .cache import memo
from .extensions import db
from .models import SiteSetting
from .models.types import utcnow

SIGNING_PAUSED = "signing_paused"
_TTL = 2.0


def _read_setting(key: str) -> str:
    row = db.session.get(SiteSetting, key)
    return row.value if row else ""


def get_setting(key: str) -> str:
    # Single-flight: when the copy expires under a surge, one thread reads it
    # while the others wait, instead of every thread holding a pooled
    # connection for the read and then asking for a second one to sign.
    value: str = memo().get_or_compute(f"setting:{key}", _TTL, lambda: _read_setting(key))
    return value


def set_setting(key: str, value: str) -> None:
    """Change a switch (flush only); other processes see it within two seconds."""
    row = db.session.get(SiteSetting, key)
    if row is None:
        db.session.add(SiteSetting(key=key, value=value, updated_at=utcnow()))
    else:
        row.value, row.updated_at = value, utcnow()
    memo().set(f"setting:{key}", value, _TTL)


def signing_paused() -> bool:
    return get_setting(SIGNING_PAUSED) == "1"
