from __future__ import annotations

import enum
from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .organization import Organization
from .types import BigId, StrEnumType, UTCDateTime, enum_check, utcnow

# Damascus and Istanbul, where the union's organizers work, share UTC+3 all
# year: most readers never need to change it.
DEFAULT_TIME_ZONE = "Asia/Damascus"


class Role(enum.Enum):
    admin = "admin"
    organizer = "organizer"
    partner = "partner"

    @property
    def title(self) -> str:
        titles = {"admin": _l("Admin"), "organizer": _l("Organizer"), "partner": _l("Partner")}
        return str(titles[self.value])


class User(db.Model):  # type: ignore[name-defined,misc]
    """An account of the console: the union's admins and organizers, and
    partner organizations' read-only viewers. Signers never have accounts."""

    __tablename__ = "users"
    __table_args__ = (CheckConstraint(enum_check("role", Role), name="role"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    password_hash: Mapped[str] = mapped_column(String(200))
    role: Mapped[Role] = mapped_column(StrEnumType(Role))
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # The TOTP secret, encrypted like personal data.
    totp_secret: Mapped[bytes | None] = mapped_column(LargeBinary)
    totp_enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    # The last accepted 30-second step: a code of that step or older is refused
    # (one use per code, accounts/totp.py).
    totp_last_step: Mapped[int | None] = mapped_column(BigInteger)
    # A secret shown for enrolment, sealed like totp_secret until a code proves
    # it: kept here, never in the (signed, readable) session cookie.
    totp_pending: Mapped[bytes | None] = mapped_column(LargeBinary)
    # Bumped on logout and on password, role or second-factor change: every
    # session cookie issued before stops working.
    session_version: Mapped[int] = mapped_column(Integer, default=1)
    # The IANA zone the console shows this person's dates and times in
    # (i18n.console_time_zone); stored times stay UTC.
    time_zone: Mapped[str] = mapped_column(
        String(64), default=DEFAULT_TIME_ZONE, server_default=DEFAULT_TIME_ZONE
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    organization: Mapped[Organization] = relationship()

    # Flask-Login
    @property
    def is_active(self) -> bool:
        return self.active

    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_anonymous(self) -> bool:
        return False

    def get_id(self) -> str:
        return f"{self.id}:{self.session_version}"


class LoginThrottle(db.Model):  # type: ignore[name-defined,misc]
    """Failed logins per key (an account, an account from one address, an
    address, or a trusted device) since the key was last forgotten; the next
    attempt waits a delay that grows with them (accounts/throttle.py)."""

    __tablename__ = "login_throttle"

    key: Mapped[str] = mapped_column(String(80), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    last_failure_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class AuditEntry(db.Model):  # type: ignore[name-defined,misc]
    """A sensitive action: who, what, on which object, when. No personal data
    of signers in ``details``."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    action: Mapped[str] = mapped_column(String(64))
    target_type: Mapped[str] = mapped_column(String(32))
    target_id: Mapped[str | None] = mapped_column(String(64))
    details: Mapped[dict[str, object]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)

    user: Mapped[User | None] = relationship()
