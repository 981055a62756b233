"""Aggregated counts: the truth the public reads. Written only by the count
job in batches, never per signature by the signing path."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, Date, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from .types import UTCDateTime, utcnow


class CampaignCount(db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "campaign_counts"

    campaign_id: Mapped[int] = mapped_column(
        ForeignKey("campaigns.id", ondelete="CASCADE"), primary_key=True
    )
    signers: Mapped[int] = mapped_column(BigInteger, default=0)
    # Signatures for a petition, units pledged for a pledge.
    total: Mapped[int] = mapped_column(BigInteger, default=0)
    # Of the signers, how many are demo data (embedded default only).
    demo_signers: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    # Of the signers, how many signed in person at a kiosk.
    in_person_signers: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    # Of the signers, how many signed on a paper sheet (imported).
    paper_signers: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class CountryCount(db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "country_counts"

    campaign_id: Mapped[int] = mapped_column(
        ForeignKey("campaigns.id", ondelete="CASCADE"), primary_key=True
    )
    country: Mapped[str] = mapped_column(String(2), primary_key=True)
    signers: Mapped[int] = mapped_column(BigInteger, default=0)
    total: Mapped[int] = mapped_column(BigInteger, default=0)


class DailyCount(db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "daily_counts"

    campaign_id: Mapped[int] = mapped_column(
        ForeignKey("campaigns.id", ondelete="CASCADE"), primary_key=True
    )
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    signers: Mapped[int] = mapped_column(BigInteger, default=0)
    total: Mapped[int] = mapped_column(BigInteger, default=0)


class RegionCount(db.Model):  # type: ignore[name-defined,misc]
    """Per region, for the countries in ``kernel.regions.REGION_COUNTRIES``;
    ``region`` is an ISO 3166-2 code or ``other``."""

    __tablename__ = "region_counts"

    campaign_id: Mapped[int] = mapped_column(
        ForeignKey("campaigns.id", ondelete="CASCADE"), primary_key=True
    )
    country: Mapped[str] = mapped_column(String(2), primary_key=True)
    region: Mapped[str] = mapped_column(String(8), primary_key=True)
    signers: Mapped[int] = mapped_column(BigInteger, default=0)
    total: Mapped[int] = mapped_column(BigInteger, default=0)
