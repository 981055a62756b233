"""Site-wide switches stored in the database and changed from the console
(read through the cache: every sign request asks)."""

from __future__ import annotations

from .cache import cache
from .extensions import db
from .models import SiteSetting
from .models.types import utcnow

SIGNING_PAUSED = "signing_paused"
_TTL = 2.0


def get_setting(key: str) -> str:
    cached = cache().get(f"setting:{key}")
    if cached is not None:
        return cached.decode()
    row = db.session.get(SiteSetting, key)
    value = row.value if row else ""
    cache().set(f"setting:{key}", value.encode(), _TTL)
    return value


def set_setting(key: str, value: str) -> None:
    """Change a switch (flush only); other processes see it within two seconds."""
    row = db.session.get(SiteSetting, key)
    if row is None:
        db.session.add(SiteSetting(key=key, value=value, updated_at=utcnow()))
    else:
        row.value, row.updated_at = value, utcnow()
    cache().set(f"setting:{key}", value.encode(), _TTL)


def signing_paused() -> bool:
    return get_setting(SIGNING_PAUSED) == "1"
