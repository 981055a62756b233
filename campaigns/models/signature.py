from __future__ import annotations

import enum
import uuid
from datetime import datetime
from uuid import UUID

from flask_babel import lazy_gettext as _l
from sqlalchemy import (
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    SmallInteger,
    String,
    Uuid,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .campaign import Campaign
from .types import BigId, StrEnumType, UTCDateTime, enum_check, partial_index, utcnow


class SignatureState(enum.Enum):
    pending = "pending"
    validated = "validated"
    fraudulent = "fraudulent"
    invalidated = "invalidated"
    # Confirmed, but from an address over its rate limits: waits for an
    # organizer's decision on its network's group (released or rejected).
    held = "held"
    # The signer took it back from its private link: personal data erased at once.
    withdrawn = "withdrawn"

    @property
    def title(self) -> str:
        titles = {
            "pending": _l("Pending"),
            "validated": _l("Validated"),
            "fraudulent": _l("Fraudulent"),
            "invalidated": _l("Invalidated"),
            "held": _l("Held for review"),
            "withdrawn": _l("Withdrawn"),
        }
        return str(titles[self.value])


COUNTED = frozenset({SignatureState.validated})
CONFIRMABLE = frozenset({SignatureState.pending})
# Counted, or will be once confirmed: what a flag or an invalidation acts on.
LIVE = frozenset({SignatureState.pending, SignatureState.validated})
# What a signer may still change or withdraw from their private link: live,
# or confirmed and held for review.
MANAGEABLE = LIVE | {SignatureState.held}


class SignatureSource(enum.Enum):
    web = "web"
    paper = "paper"
    # Signed in front of a collector on a kiosk at a stand (no email asked).
    in_person = "in_person"
    # Made up by `flask campaigns seed --demo` on the embedded default only.
    demo = "demo"


# The count job's predicate, read by its query word for word as the index has it.
UNCOUNTED = "counted <> (state = 'validated')"

# The partial index of held, fraudulent and invalidated signatures.
REVIEW_STATES = "state IN ('held', 'fraudulent', 'invalidated')"

# What the encrypted blob is bound to: it cannot be replayed into another column.
PERSONAL_DATA_PURPOSE = b"signature.personal_data"

# What the signer was asked, so that each signature keeps only what its words covered:
# 1: "Show my name publicly on the list of signers" (before 2026-12): the first
#    name on the public list, never the city, never the delivery document;
# 2: two choices, "first name and city on the public list" (``show_name``) and
#    "full name in the delivered petition" (``deliver_name``).
CONSENT_NAME_ONLY = 1
CONSENT_NAME_CITY_DELIVERY = 2
CURRENT_CONSENT = CONSENT_NAME_CITY_DELIVERY


class Signature(db.Model):  # type: ignore[name-defined,misc]
    """One person's signature (or pledge) on one campaign.

    Personal data (name, email, phone, typed region) lives only in ``personal_data``,
    encrypted. ``fingerprint`` is a keyed hash of the canonical email that
    makes one person one signature per campaign, enforced by a unique index.
    """

    __tablename__ = "signatures"
    __table_args__ = (
        CheckConstraint(enum_check("state", SignatureState), name="state"),
        CheckConstraint(enum_check("source", SignatureSource), name="source"),
        CheckConstraint("amount IS NULL OR amount > 0", name="amount_positive"),
        CheckConstraint("consent_version IN (1, 2)", name="consent_version"),
        Index("uq_signatures_campaign_fingerprint", "campaign_id", "fingerprint", unique=True),
        Index("ix_signatures_rate", "campaign_id", "ip_hash", "created_at"),
        # A kiosk's entry sent twice (a resend after a bad connection) is one row;
        # also the stand's signatures for review and invalidation.
        Index("uq_signatures_kiosk_entry", "kiosk_id", "entry_key", unique=True),
        # Recent signatures of a campaign: trending detection, moderation.
        Index("ix_signatures_campaign_created", "campaign_id", "created_at"),
        # The sweeper's view: signatures whose validation task may have been lost.
        partial_index("ix_signatures_unchecked", "created_at", where="checked_at IS NULL"),
        # The latest public signers of a campaign, newest first.
        partial_index(
            "ix_signatures_public",
            "campaign_id",
            "validated_at",
            where="show_name AND state = 'validated'",
        ),
        # Signatures that will not be counted as they are: the review queue of
        # held ones grouped by network, and the results page's figures.
        partial_index(
            "ix_signatures_review",
            "campaign_id",
            "state",
            "fraud_reason",
            "ip_hash",
            where=REVIEW_STATES,
        ),
        # The count job's work queue: rows whose counted flag disagrees with their state.
        partial_index("ix_signatures_uncounted", "id", where=UNCOUNTED),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    uuid: Mapped[uuid.UUID] = mapped_column(Uuid, unique=True, default=uuid.uuid4)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id"))
    state: Mapped[SignatureState] = mapped_column(
        StrEnumType(SignatureState), default=SignatureState.pending
    )
    source: Mapped[SignatureSource] = mapped_column(
        StrEnumType(SignatureSource), default=SignatureSource.web
    )
    fingerprint: Mapped[bytes | None] = mapped_column(LargeBinary(32))
    personal_data: Mapped[bytes | None] = mapped_column(LargeBinary)
    country: Mapped[str] = mapped_column(String(2))
    # ISO 3166-2 code matched from the typed region (sealed in ``personal_data``)
    # where breakdowns exist (Syria, Turkey).
    region_code: Mapped[str | None] = mapped_column(String(8))
    amount: Mapped[int | None] = mapped_column(Integer)
    # First name (and, from consent version 2, city) on the public list of signers.
    show_name: Mapped[bool] = mapped_column(Boolean, default=False)
    # Full name printed in the petition delivered to its addressee.
    deliver_name: Mapped[bool] = mapped_column(Boolean, default=False)
    consent_version: Mapped[int] = mapped_column(SmallInteger, default=CURRENT_CONSENT)
    contact_ok: Mapped[bool] = mapped_column(Boolean, default=False)
    locale: Mapped[str] = mapped_column(String(8))
    ip_hash: Mapped[bytes | None] = mapped_column(LargeBinary(16))
    # Keyed hash of the email's domain: bulk invalidation and trending by domain.
    email_domain_hash: Mapped[bytes | None] = mapped_column(LargeBinary(16))
    fraud_reason: Mapped[str | None] = mapped_column(String(32))
    # Over its address's rate limits: checked and emailed as usual, but once
    # confirmed it is held for review instead of validated (lifecycle.HoldReason).
    hold_reason: Mapped[str | None] = mapped_column(String(32))
    # The trusted network (``trusted_networks.id``) the client address was in
    # when signing, decided then; never the address itself. No foreign key: a
    # network removed later leaves its id behind, and the rules then use the
    # default limits.
    network_id: Mapped[int | None] = mapped_column(Integer)
    # The share link's or embed's source code (``source_codes.id``) it came
    # through, when one was given and known then; never anything of the person.
    source_code_id: Mapped[int | None] = mapped_column(ForeignKey("source_codes.id"))
    # Set by trending detection for organizers to look at; the signer sees nothing.
    flag_reason: Mapped[str | None] = mapped_column(String(32))
    invalidation_id: Mapped[int | None] = mapped_column(ForeignKey("invalidations.id"))
    # In person: the kiosk (stand and collector) it was signed at, and the
    # random key its device gave the entry, so that a resend is absorbed.
    kiosk_id: Mapped[int | None] = mapped_column(ForeignKey("kiosks.id"))
    entry_key: Mapped[UUID | None] = mapped_column(Uuid)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    checked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    validated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    invalidated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Personal data, fingerprint and hashes removed by the retention job.
    erased_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # True once this row's validation is reflected in the count tables.
    counted: Mapped[bool] = mapped_column(Boolean, default=False)
    # SHA-256 of the receipt code the signer was shown on confirming (or of a
    # random code nobody was shown): the only name of this signature in the
    # public ledger. The code itself is never stored.
    receipt_hash: Mapped[bytes | None] = mapped_column(LargeBinary(32))

    campaign: Mapped[Campaign] = relationship()
