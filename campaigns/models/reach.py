"""Where signatures come from: the codes partners (and the union's own
channels) put in their share links and embeds, and the per-source count
table the count job keeps. A signature records the code's id, nothing
about the person."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, Date, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .organization import Organization
from .types import BigId, UTCDateTime, utcnow

SOURCE_LABEL_MAX = 60


class SourceCode(db.Model):  # type: ignore[name-defined,misc]
    """A random, URL-safe code of one organization for one campaign. Revoked,
    it is ignored by the sign path from then on; the signatures it brought
    keep its id (and stay in its figures)."""

    __tablename__ = "source_codes"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    campaign_id: Mapped[int] = mapped_column(
        ForeignKey("campaigns.id", ondelete="CASCADE"), index=True
    )
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"))
    code: Mapped[str] = mapped_column(String(16), unique=True)
    # The channel it is for ("newsletter", "Telegram"), written by the union; may be empty.
    label: Mapped[str] = mapped_column(String(SOURCE_LABEL_MAX), default="")
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    organization: Mapped[Organization] = relationship()


class SourceCount(db.Model):  # type: ignore[name-defined,misc]
    """Validated signers and units per campaign, source code, day and country,
    written only by the count job (like the other count tables). Signatures
    without a code are not in it."""

    __tablename__ = "source_counts"

    campaign_id: Mapped[int] = mapped_column(
        ForeignKey("campaigns.id", ondelete="CASCADE"), primary_key=True
    )
    source_code_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    country: Mapped[str] = mapped_column(String(2), primary_key=True)
    signers: Mapped[int] = mapped_column(BigInteger, default=0)
    total: Mapped[int] = mapped_column(BigInteger, default=0)
