"""Requests to open signers' personal data under the two-person rule: one
person asks, with a reason; another admin approves or refuses; the asker then
collects a one-time grant, of which only the SHA-256 hash is kept."""

from __future__ import annotations

import enum
from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import CheckConstraint, ForeignKey, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from .types import BigId, StrEnumType, UTCDateTime, enum_check, utcnow

REASON_MAX = 500


class DisclosureKind(enum.Enum):
    export_personal = "export_personal"
    reveal_names = "reveal_names"
    # The delivery document with the full names of the signers who agreed.
    delivery_names = "delivery_names"

    @property
    def title(self) -> str:
        titles = {
            "export_personal": _l("Download the signatures with personal data"),
            "reveal_names": _l("Show names and email addresses in moderation"),
            "delivery_names": _l("Make the delivery document with full names"),
        }
        return str(titles[self.value])


class DisclosureState(enum.Enum):
    requested = "requested"
    approved = "approved"
    refused = "refused"
    used = "used"
    expired = "expired"

    @property
    def title(self) -> str:
        titles = {
            "requested": _l("Waiting for a second admin"),
            "approved": _l("Approved"),
            "refused": _l("Refused"),
            "used": _l("Used"),
            "expired": _l("Expired"),
        }
        return str(titles[self.value])


class DisclosureRequest(db.Model):  # type: ignore[name-defined,misc]
    """One request to open personal data, and its one-time grant. The reason
    is the requester's words (never a signer's data); the grant itself is
    shown once and only its hash is stored."""

    __tablename__ = "disclosure_requests"
    __table_args__ = (
        CheckConstraint(enum_check("kind", DisclosureKind), name="kind"),
        CheckConstraint(enum_check("state", DisclosureState), name="state"),
        # Nobody approves or refuses their own request.
        CheckConstraint(
            "decided_by_id IS NULL OR decided_by_id <> requester_id", name="two_people"
        ),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    kind: Mapped[DisclosureKind] = mapped_column(StrEnumType(DisclosureKind))
    # NULL: the moderation queue of every campaign (admins only).
    campaign_id: Mapped[int | None] = mapped_column(ForeignKey("campaigns.id"), index=True)
    requester_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    reason: Mapped[str] = mapped_column(String(REASON_MAX))
    state: Mapped[DisclosureState] = mapped_column(
        StrEnumType(DisclosureState), default=DisclosureState.requested
    )
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    grant_hash: Mapped[bytes | None] = mapped_column(LargeBinary(32))
    grant_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
