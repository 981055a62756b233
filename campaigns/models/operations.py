"""Organizers' operations on signatures: bulk invalidations, paper imports,
updates to signers, and site-wide settings."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from .types import BigId, StrEnumType, UTCDateTime, enum_check, utcnow


class JobState(enum.Enum):
    pending = "pending"
    running = "running"
    completed = "completed"
    cancelled = "cancelled"
    failed = "failed"


ACTIVE_JOBS = frozenset({JobState.pending, JobState.running})


class Invalidation(db.Model):  # type: ignore[name-defined,misc]
    """A bulk invalidation: conditions, a reason, run by a worker in batches."""

    __tablename__ = "invalidations"
    __table_args__ = (CheckConstraint(enum_check("state", JobState), name="state"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    campaign_id: Mapped[int | None] = mapped_column(ForeignKey("campaigns.id"))
    # {"since": iso, "until": iso, "email_domain": "...", "ip_hash": hex,
    #  "country": "SY", "name_pattern": "..."}: at least one is required.
    conditions: Mapped[dict[str, str]] = mapped_column(JSON)
    reason: Mapped[str] = mapped_column(String(500))
    state: Mapped[JobState] = mapped_column(StrEnumType(JobState), default=JobState.pending)
    matched: Mapped[int] = mapped_column(Integer, default=0)
    invalidated: Mapped[int] = mapped_column(Integer, default=0)
    # The last signature id examined: a restarted run goes on from there.
    cursor: Mapped[int] = mapped_column(BigInteger, default=0)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class PaperImport(db.Model):  # type: ignore[name-defined,misc]
    """One uploaded CSV of paper signatures and its per-row report (row
    numbers, outcomes and reasons: no personal data)."""

    __tablename__ = "paper_imports"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id"))
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    filename: Mapped[str] = mapped_column(String(200), default="")
    accepted: Mapped[int] = mapped_column(Integer, default=0)
    duplicates: Mapped[int] = mapped_column(Integer, default=0)
    rejected: Mapped[int] = mapped_column(Integer, default=0)
    report: Mapped[list[dict[str, object]]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class UpdateState(enum.Enum):
    draft = "draft"
    sending = "sending"
    sent = "sent"


class CampaignUpdate(db.Model):  # type: ignore[name-defined,misc]
    """News from organizers to the signers who agreed to be contacted."""

    __tablename__ = "campaign_updates"
    __table_args__ = (CheckConstraint(enum_check("state", UpdateState), name="state"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id"))
    # {"ar": {"subject": "...", "body": "..."}, "en": {...}}; Arabic required.
    texts: Mapped[dict[str, dict[str, str]]] = mapped_column(JSON)
    state: Mapped[UpdateState] = mapped_column(
        StrEnumType(UpdateState), default=UpdateState.draft
    )
    recipients: Mapped[int] = mapped_column(Integer, default=0)
    # Signatures up to this id have had their email decided.
    cursor: Mapped[int] = mapped_column(BigInteger, default=0)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class CampaignNotice(db.Model):  # type: ignore[name-defined,misc]
    """A notice to organizers decided once: a milestone reached, a closing."""

    __tablename__ = "campaign_notices"
    __table_args__ = (UniqueConstraint("campaign_id", "kind"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id"))
    kind: Mapped[str] = mapped_column(String(32))  # "milestone-25", …, "closed"
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class TrendingFlag(db.Model):  # type: ignore[name-defined,misc]
    """An unusual burst of signatures from one client or one email domain."""

    __tablename__ = "trending_flags"
    __table_args__ = (UniqueConstraint("campaign_id", "kind", "key_hash", "window_start"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id"))
    kind: Mapped[str] = mapped_column(String(16))  # "ip" or "domain"
    key_hash: Mapped[str] = mapped_column(String(64))
    window_start: Mapped[datetime] = mapped_column(UTCDateTime)
    count: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class SiteSetting(db.Model):  # type: ignore[name-defined,misc]
    """Site-wide switches (e.g. ``signing_paused``), changed from the console."""

    __tablename__ = "site_settings"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text, default="")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
