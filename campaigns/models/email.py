from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from .types import BigId, StrEnumType, UTCDateTime, enum_check, partial_index, utcnow


class EmailKind(enum.Enum):
    confirm = "confirm"
    already_signed = "already_signed"
    # The private link to manage (change, withdraw) a signature, asked for on
    # the campaign's "manage my signature" page.
    manage_link = "manage_link"
    # News from organizers to signers who agreed to be contacted.
    update = "update"
    # Milestones and closings, to the campaign's organizers.
    notice = "notice"


class EmailStatus(enum.Enum):
    queued = "queued"
    sending = "sending"
    sent = "sent"
    failed = "failed"


class EmailLog(db.Model):  # type: ignore[name-defined,misc]
    """One email we decided to send. ``dedupe_key`` is unique, so deciding twice
    (a task delivered twice, a worker killed and retried) cannot send twice.
    The recipient is read from the encrypted signature at send time and never
    stored here."""

    __tablename__ = "email_log"
    __table_args__ = (
        CheckConstraint(enum_check("kind", EmailKind), name="kind"),
        CheckConstraint(enum_check("status", EmailStatus), name="status"),
        partial_index(
            "ix_email_log_due", "next_attempt_at", where="status IN ('queued', 'sending')"
        ),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    dedupe_key: Mapped[str] = mapped_column(String(96), unique=True)
    kind: Mapped[EmailKind] = mapped_column(StrEnumType(EmailKind))
    signature_id: Mapped[int | None] = mapped_column(
        ForeignKey("signatures.id", ondelete="SET NULL"), index=True
    )
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    update_id: Mapped[int | None] = mapped_column(ForeignKey("campaign_updates.id"))
    notice_id: Mapped[int | None] = mapped_column(ForeignKey("campaign_notices.id"))
    status: Mapped[EmailStatus] = mapped_column(
        StrEnumType(EmailStatus), default=EmailStatus.queued
    )
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_error: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
