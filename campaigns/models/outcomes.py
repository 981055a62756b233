"""What a campaign leads to: the commitments organizers make at thresholds,
the deliveries of the petition to its addressee, and the addressee's
responses. Each is public on the campaign page and in the API."""

from __future__ import annotations

import enum
from datetime import date, datetime

from flask_babel import LazyString
from flask_babel import lazy_gettext as _l
from sqlalchemy import (
    JSON,
    CheckConstraint,
    Date,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from .types import BigId, StrEnumType, UTCDateTime, enum_check, utcnow


class CampaignThreshold(db.Model):  # type: ignore[name-defined,misc]
    """A commitment at a count: "at 10,000 signatures we deliver to the
    missions in Geneva"."""

    __tablename__ = "campaign_thresholds"
    __table_args__ = (
        CheckConstraint("count > 0", name="count_positive"),
        UniqueConstraint("campaign_id", "count"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    count: Mapped[int] = mapped_column(Integer)
    # {"ar": "...", "en": "..."}: the commitment per language; Arabic required.
    texts: Mapped[dict[str, str]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class CampaignResponse(db.Model):  # type: ignore[name-defined,misc]
    """The addressee's answer, published by organizers, with an optional PDF
    (the letter itself), served as an attachment from our own route."""

    __tablename__ = "campaign_responses"
    __table_args__ = (
        CheckConstraint("pdf_size IS NULL OR pdf_size > 0", name="pdf_size_positive"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    # The PDF's URL names this, never the integer id.
    public_id: Mapped[str] = mapped_column(String(32), unique=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    responded_on: Mapped[date] = mapped_column(Date)
    # {"ar": {"by": "who answered", "text": "..."}, ...}: Arabic required.
    texts: Mapped[dict[str, dict[str, str]]] = mapped_column(JSON)
    pdf: Mapped[bytes | None] = mapped_column(LargeBinary, deferred=True)
    pdf_size: Mapped[int | None] = mapped_column(Integer)
    # The update that told the signers (sent through the updates' machinery).
    update_id: Mapped[int | None] = mapped_column(ForeignKey("campaign_updates.id"))
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class DeliveryMethod(enum.Enum):
    in_person = "in_person"
    email = "email"
    post = "post"

    @property
    def label(self) -> LazyString:
        return _METHOD_LABELS[self.value]

    @property
    def title(self) -> str:
        return str(self.label)


_METHOD_LABELS = {
    "in_person": _l("In person"),
    "email": _l("By email"),
    "post": _l("By post"),
}


class CampaignDelivery(db.Model):  # type: ignore[name-defined,misc]
    """One delivery of the petition to its addressee, recorded by organizers."""

    __tablename__ = "campaign_deliveries"
    __table_args__ = (
        CheckConstraint(enum_check("method", DeliveryMethod), name="method"),
        CheckConstraint("chain_head IS NULL OR length(chain_head) = 64", name="chain_head_length"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    delivered_on: Mapped[date] = mapped_column(Date)
    method: Mapped[DeliveryMethod] = mapped_column(StrEnumType(DeliveryMethod))
    # {"ar": {"recipient": "...", "place": "..."}, ...}: Arabic required.
    texts: Mapped[dict[str, dict[str, str]]] = mapped_column(JSON)
    # The final value of the delivery document's hash chain (lowercase hex).
    chain_head: Mapped[str | None] = mapped_column(String(64))
    # The number of the campaign's signed ledger head handed over with it
    # (``LedgerHead.number``; null: none).
    ledger_head: Mapped[int | None] = mapped_column(Integer)
    # A photo of the handing over, re-encoded without metadata (one WebP
    # variant): served at /deliveries/<photo_name>, a name holding its hash.
    photo_name: Mapped[str | None] = mapped_column(String(64), unique=True)
    photo_width: Mapped[int | None] = mapped_column(Integer)
    photo_height: Mapped[int | None] = mapped_column(Integer)
    photo: Mapped[bytes | None] = mapped_column(LargeBinary, deferred=True)
    update_id: Mapped[int | None] = mapped_column(ForeignKey("campaign_updates.id"))
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
