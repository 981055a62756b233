from __future__ import annotations

import enum
from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Column,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Table,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship
from sqlalchemy.orm.collections import attribute_keyed_dict

from ..extensions import db
from .organization import Organization
from .types import BigId, StrEnumType, UTCDateTime, enum_check, utcnow

TARGET_MAX = 300


class CampaignKind(enum.Enum):
    petition = "petition"
    pledge = "pledge"


class CampaignStatus(enum.Enum):
    draft = "draft"
    open = "open"
    closed = "closed"
    archived = "archived"

    @property
    def title(self) -> str:
        titles = {
            "draft": _l("Draft"),
            "open": _l("Open"),
            "closed": _l("Closed"),
            "archived": _l("Archived"),
        }
        return str(titles[self.value])


# Named groups, so that views ask "is it signable?" rather than list states.
SIGNABLE = frozenset({CampaignStatus.open})
VISIBLE = frozenset({CampaignStatus.open, CampaignStatus.closed})

campaign_partners = Table(
    "campaign_partners",
    db.metadata,
    Column("campaign_id", ForeignKey("campaigns.id", ondelete="CASCADE"), primary_key=True),
    Column("organization_id", ForeignKey("organizations.id"), primary_key=True),
)


class Campaign(db.Model):  # type: ignore[name-defined,misc]
    """A petition (counted in signatures) or a pledge (counted in units pledged)."""

    __tablename__ = "campaigns"
    __table_args__ = (
        CheckConstraint(enum_check("kind", CampaignKind), name="kind"),
        CheckConstraint(enum_check("status", CampaignStatus), name="status"),
        CheckConstraint("goal IS NULL OR goal > 0", name="goal_positive"),
        CheckConstraint(
            "max_amount_per_signer IS NULL OR max_amount_per_signer > 0", name="cap_positive"
        ),
        CheckConstraint("kind = 'pledge' OR max_amount_per_signer IS NULL", name="cap_pledge"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    kind: Mapped[CampaignKind] = mapped_column(StrEnumType(CampaignKind))
    status: Mapped[CampaignStatus] = mapped_column(
        StrEnumType(CampaignStatus), default=CampaignStatus.draft
    )
    goal: Mapped[int | None] = mapped_column(Integer)
    # The unit counted: "signatures" for petitions, e.g. "trees" for a pledge.
    unit: Mapped[str] = mapped_column(String(32), default="signatures")
    max_amount_per_signer: Mapped[int | None] = mapped_column(Integer)
    opens_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closes_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    signing_paused: Mapped[bool] = mapped_column(Boolean, default=False)
    # Low-trace mail: every email about the campaign has a neutral sender and
    # subject and names neither the campaign nor the union (docs/threat-model.md).
    sensitive: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    organization: Mapped[Organization] = relationship()
    partners: Mapped[list[Organization]] = relationship(secondary=campaign_partners)
    texts: Mapped[dict[str, CampaignText]] = relationship(
        collection_class=attribute_keyed_dict("locale"),
        cascade="all, delete-orphan",
        back_populates="campaign",
    )
    # The campaign image, as re-encoded variants (none: no image).
    images: Mapped[list[CampaignImage]] = relationship(
        order_by="(CampaignImage.media_type, CampaignImage.width)",
        cascade="all, delete-orphan",
        passive_deletes=True,
    )

    @property
    def is_pledge(self) -> bool:
        return self.kind is CampaignKind.pledge

    def is_signable(self, now: datetime | None = None) -> bool:
        now = now or utcnow()
        if self.status not in SIGNABLE or self.signing_paused:
            return False
        if self.opens_at and now < self.opens_at:
            return False
        return not (self.closes_at and now >= self.closes_at)

    def takes_confirmations(self, now: datetime | None = None) -> bool:
        """Whether a pending signature may still be confirmed: the count is
        final at closing (a pause stops new signatures only)."""
        now = now or utcnow()
        if self.status not in SIGNABLE:
            return False
        return not (self.closes_at and now >= self.closes_at)

    def text(self, locale: str) -> CampaignText:
        """Content in ``locale``, falling back to Arabic (always present)."""
        return self.texts.get(locale) or self.texts["ar"]


class CampaignText(db.Model):  # type: ignore[name-defined,misc]
    """One language's title, summary and body of a campaign."""

    __tablename__ = "campaign_texts"

    campaign_id: Mapped[int] = mapped_column(
        ForeignKey("campaigns.id", ondelete="CASCADE"), primary_key=True
    )
    locale: Mapped[str] = mapped_column(String(8), primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    summary: Mapped[str] = mapped_column(String(500))
    body: Mapped[str] = mapped_column(Text)
    # The unit's name in this language ("signatures", "أشجار زيتون").
    unit_label: Mapped[str] = mapped_column(String(64), default="")
    # What the campaign image shows, for those who cannot see it (None: not
    # written in this language).
    image_alt: Mapped[str | None] = mapped_column(String(300))
    # Who the campaign is addressed to, in this language ("The UN Human
    # Rights Council"); None: not written in this language.
    target: Mapped[str | None] = mapped_column(String(TARGET_MAX))

    campaign: Mapped[Campaign] = relationship(back_populates="texts")


IMAGE_TYPES = ("image/avif", "image/webp")


class CampaignImage(db.Model):  # type: ignore[name-defined,misc]
    """One re-encoded variant (a format at a width) of a campaign's image,
    kept in the database: every web node serves it, and a backup holds it.
    The upload itself is never kept. ``name`` holds a hash of the bytes, so a
    URL always means the same bytes (cached for a year)."""

    __tablename__ = "campaign_images"
    __table_args__ = (
        CheckConstraint(
            "media_type IN ({})".format(", ".join(f"'{t}'" for t in IMAGE_TYPES)),
            name="media_type",
        ),
        CheckConstraint("width > 0 AND height > 0", name="size_positive"),
        # Named by their first column: the route finds a variant by name.
        UniqueConstraint("name", "campaign_id"),
        UniqueConstraint("campaign_id", "media_type", "width"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(64))
    media_type: Mapped[str] = mapped_column(String(16))
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    size: Mapped[int] = mapped_column(Integer)
    # Read only by the route that serves it, never with the campaign.
    data: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
