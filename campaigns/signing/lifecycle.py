"""The signature's lifecycle, in one place: the row a new signature is
written as, every move its state may make, and the reasons that put a
signature under review, with their labels.

    web, paper with an email ─▶ pending ─mark_checked─▶ pending, checked ─confirm─▶ validated
                                   │ mark_fraudulent          ▲       │                   ▲
                                   ▼                          │       │ confirm           │ release
                               fraudulent ────────────────────┘       │ (hold reason set) │ _held
                                   │ reject             reinstate     └──────────▶ held ──┘
                                   ▼                                               │ reject_held
                               invalidated ◀───────────────────────────────────────┘
                               invalidated ◀─ reject (flagged), invalidate ─ pending or validated
    paper without an email, demo ─▶ validated                                         │
                                                              withdraw (by the signer) │
                                                                                       ▼
                                                                                   withdrawn

A signature over its address's rate limits is checked with a ``HoldReason``
and gets its confirmation email like any other; confirmed, it is held, and an
organizer releases or rejects its network's group as a whole.

Each move is one ``UPDATE … WHERE state IN (its sources)`` that returns the
ids it changed: a move made twice (a task delivered twice, a double click)
changes nothing the second time. They flush, never commit, and synchronize
nothing into loaded objects. Not moves of the state, and so kept by their
owners: the count job's ``counted`` flag (counting), erasing personal data
(retention), withdrawing the consent to updates (updates.unsubscribe).
A withdrawal is a move and an erasure: ``signing.manage`` calls ``withdraw``
then the retention module's ``erase_withdrawn`` in one transaction.
"""

from __future__ import annotations

import enum
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from flask_babel import LazyString
from flask_babel import lazy_gettext as _l
from sqlalchemy import ColumnElement, and_, case, literal, or_, select, update

from ..extensions import db
from ..kernel.regions import match_region
from ..models import (
    CONFIRMABLE,
    CURRENT_CONSENT,
    LIVE,
    MANAGEABLE,
    SIGNABLE,
    Campaign,
    Signature,
    SignatureSource,
    SignatureState,
)
from ..models.types import UTCDateTime, utcnow
from ..privacy.crypto import Keyring, hash_email_domain
from ..privacy.personal import PersonalData, seal_personal_data


class FraudReason(enum.StrEnum):
    """Why the checks marked a signature fraudulent (the signer is never
    told); stored by value in ``signatures.fraud_reason``."""

    # Before held signatures existed, over-limit signatures were marked
    # fraudulent with these; kept so that such rows still read.
    rate_burst = "rate_burst"
    rate_sustained = "rate_sustained"
    # A wave far above any trusted network's limits (RATE_WAVE_LIMIT).
    rate_wave = "rate_wave"
    disposable_domain = "disposable_domain"
    blocked_domain = "blocked_domain"
    unreadable = "unreadable"

    @property
    def label(self) -> str:
        return str(REASON_LABELS[self])


class HoldReason(enum.StrEnum):
    """Why a checked signature will be held for review once confirmed: more
    signatures from its address than its network's limits allow. Stored by
    value in ``signatures.hold_reason``; the signer is emailed as usual."""

    rate_burst = "rate_burst"
    rate_sustained = "rate_sustained"

    @property
    def label(self) -> str:
        return str(HOLD_LABELS[self])


class FlagReason(enum.StrEnum):
    """Why trending detection flagged a live signature for organizers to look
    at (its state is unchanged); stored by value in ``signatures.flag_reason``."""

    trending_ip = "trending_ip"
    trending_domain = "trending_domain"

    @property
    def label(self) -> str:
        return str(REASON_LABELS[self])


# By stored value: a reason read back as a plain string finds its label too.
REASON_LABELS: dict[str, LazyString] = {
    FraudReason.rate_burst: _l("Many signatures from one address within a minute"),
    FraudReason.rate_sustained: _l("Many signatures from one address within an hour"),
    FraudReason.rate_wave: _l("A wave of signatures from one address, far above any limit"),
    FraudReason.disposable_domain: _l("Disposable email address"),
    FraudReason.blocked_domain: _l("Blocked email domain"),
    FraudReason.unreadable: _l("Unreadable signature data"),
    FlagReason.trending_ip: _l("Burst from one address"),
    FlagReason.trending_domain: _l("Burst from one email domain"),
}

HOLD_LABELS: dict[str, LazyString] = {
    HoldReason.rate_burst: _l("More signatures from one network within a minute than its limit"),
    HoldReason.rate_sustained: _l("More signatures from one network within an hour than its limit"),
}

# Every column a new signature row is written with, whatever its source: the
# PostgreSQL sign statement binds exactly these, and the benchmark's bulk
# loader writes them too.
ROW_COLUMNS = (
    "uuid", "campaign_id", "state", "source", "fingerprint", "personal_data", "country",
    "region_code", "amount", "show_name", "deliver_name", "consent_version", "contact_ok",
    "locale", "ip_hash", "email_domain_hash", "created_at", "checked_at", "validated_at",
    "counted", "network_id", "source_code_id",
)  # fmt: skip


class Answers(Protocol):
    """What a signer answered that a row keeps as it is: the web form's
    ``SignatureInput`` and a paper ``PaperRow`` both have it, ``Choices``
    holds it for made-up signatures."""

    @property
    def country(self) -> str: ...
    @property
    def amount(self) -> int | None: ...
    @property
    def show_name(self) -> bool: ...
    @property
    def deliver_name(self) -> bool: ...
    @property
    def contact_ok(self) -> bool: ...


@dataclass(frozen=True)
class Choices:
    country: str
    amount: int | None = None
    show_name: bool = False
    deliver_name: bool = False
    contact_ok: bool = False


def signature_row(
    campaign: Campaign,
    answers: Answers,
    *,
    source: SignatureSource,
    personal: PersonalData,
    fingerprint: bytes,
    locale: str,
    ring: Keyring,
    canonical_email: str | None = None,
    ip_hash: bytes | None = None,
    network_id: int | None = None,
    source_code_id: int | None = None,
    created_at: datetime | None = None,
    validated_at: datetime | None = None,
    checked_at: datetime | None = None,
    signature_uuid: uuid.UUID | None = None,
) -> dict[str, Any]:
    """A new signature as the values of one row (``ROW_COLUMNS``), ready for
    an INSERT. ``personal`` is sealed; its typed region is matched to a code
    in the country answered; the amount is kept for a pledge only; ``canonical_email`` gives the
    domain hash. Pending, unless ``validated_at`` is given: a signature given
    in front of a collector (paper without an email, demo data) is stored
    validated, checked when ``checked_at`` says (by default then too)."""
    now = created_at or utcnow()
    if validated_at is not None and checked_at is None:
        checked_at = validated_at
    domain = canonical_email.rpartition("@")[2] if canonical_email else None
    return {
        "uuid": signature_uuid or uuid.uuid4(),
        "campaign_id": campaign.id,
        "state": SignatureState.pending if validated_at is None else SignatureState.validated,
        "source": source,
        "fingerprint": fingerprint,
        "personal_data": seal_personal_data(personal, ring),
        "country": answers.country,
        "region_code": match_region(answers.country, personal["region"]),
        "amount": answers.amount if campaign.is_pledge else None,
        "show_name": answers.show_name,
        "deliver_name": answers.deliver_name,
        "consent_version": CURRENT_CONSENT,
        "contact_ok": answers.contact_ok,
        "locale": locale,
        "ip_hash": ip_hash,
        "email_domain_hash": hash_email_domain(domain, ring) if domain else None,
        "created_at": now,
        "checked_at": checked_at,
        "validated_at": validated_at,
        "counted": False,
        "network_id": network_id,
        "source_code_id": source_code_id,
    }


def _move(where: Iterable[ColumnElement[bool]], values: dict[str, Any]) -> list[int]:
    """One guarded UPDATE of signatures; the ids it changed."""
    return list(
        db.session.execute(
            update(Signature)
            .where(*where)
            .values(**values)
            .returning(Signature.id)
            .execution_options(synchronize_session=False)
        ).scalars()
    )


def _unchecked(signature_ids: list[int]) -> tuple[ColumnElement[bool], ...]:
    return (
        Signature.id.in_(signature_ids),
        Signature.state == SignatureState.pending,
        Signature.checked_at.is_(None),
    )


def mark_checked(
    signature_ids: list[int], now: datetime, hold: HoldReason | None = None
) -> list[int]:
    """pending, unchecked → pending, checked: passed the fraud rules; the
    signer is asked to confirm. With ``hold``, over its network's rate limits:
    asked all the same, and held for review once confirmed."""
    values: dict[str, Any] = {"checked_at": now}
    if hold is not None:
        values["hold_reason"] = hold.value
    return _move(_unchecked(signature_ids), values)


def mark_fraudulent(signature_ids: list[int], reason: FraudReason, now: datetime) -> list[int]:
    """pending, unchecked → fraudulent, silently, with the rule that caught it."""
    return _move(
        _unchecked(signature_ids),
        {"checked_at": now, "state": SignatureState.fraudulent, "fraud_reason": reason.value},
    )


def confirm(
    signature_id: int, campaign_id: int, now: datetime, receipt_hash: bytes | None = None
) -> bool:
    """pending, checked → validated, while its campaign takes confirmations;
    → held instead when the checks gave it a hold reason (validated only when
    an organizer releases it). The campaign is checked in the same statement,
    so that a campaign closing meanwhile either counts this confirmation or
    refuses it. ``receipt_hash``, the hash of the receipt code the signer is
    about to be shown, is stored by the same statement."""
    campaign_open = (
        select(Campaign.id)
        .where(
            Campaign.id == campaign_id,
            Campaign.status.in_(SIGNABLE),
            or_(Campaign.closes_at.is_(None), Campaign.closes_at > now),
        )
        .exists()
    )
    return bool(
        _move(
            (
                Signature.id == signature_id,
                Signature.state.in_(CONFIRMABLE),
                Signature.checked_at.is_not(None),
                campaign_open,
            ),
            {
                "state": case(
                    (Signature.hold_reason.is_not(None), SignatureState.held.value),
                    else_=SignatureState.validated.value,
                ),
                **({"receipt_hash": receipt_hash} if receipt_hash else {}),
                "validated_at": case(
                    (Signature.hold_reason.is_(None), literal(now, UTCDateTime())), else_=None
                ),
            },
        )
    )


def _held(signature_ids: list[int], campaign_id: int) -> tuple[ColumnElement[bool], ...]:
    return (
        Signature.id.in_(signature_ids),
        Signature.campaign_id == campaign_id,
        Signature.state == SignatureState.held,
    )


def release_held(signature_ids: list[int], campaign_id: int, now: datetime) -> list[int]:
    """held → validated: an organizer released their network's group; the
    count job counts them from here."""
    return _move(
        _held(signature_ids, campaign_id),
        {"state": SignatureState.validated, "validated_at": now},
    )


def reject_held(signature_ids: list[int], campaign_id: int, now: datetime) -> list[int]:
    """held → invalidated: an organizer rejected their network's group."""
    return _move(
        _held(signature_ids, campaign_id),
        {"state": SignatureState.invalidated, "invalidated_at": now},
    )


def flagged() -> ColumnElement[bool]:
    """Live signatures that trending detection flagged."""
    return and_(Signature.flag_reason.is_not(None), Signature.state.in_(LIVE))


def under_review() -> ColumnElement[bool]:
    """What awaits an organizer's decision: fraudulent signatures, flagged live ones."""
    return or_(Signature.state == SignatureState.fraudulent, flagged())


def flag(where: Iterable[ColumnElement[bool]], reason: FlagReason) -> list[int]:
    """Live, unflagged signatures matching ``where`` → flagged for review
    (the state is unchanged and the signer notices nothing)."""
    return _move(
        (*where, Signature.flag_reason.is_(None), Signature.state.in_(LIVE)),
        {"flag_reason": reason.value},
    )


def clear_flag(signature_ids: list[int]) -> list[int]:
    """Flagged, live → unflagged: an organizer accepted them (the state is unchanged)."""
    return _move((Signature.id.in_(signature_ids), flagged()), {"flag_reason": None})


def reinstate(signature_ids: list[int], now: datetime) -> list[int]:
    """fraudulent → pending, checked: an organizer overrode the fraud rules;
    the reasons are cleared and the signer is asked to confirm."""
    return _move(
        (Signature.id.in_(signature_ids), Signature.state == SignatureState.fraudulent),
        {
            "state": SignatureState.pending,
            "checked_at": now,
            "fraud_reason": None,
            "flag_reason": None,
        },
    )


def reject(signature_ids: list[int], now: datetime) -> list[int]:
    """Under review (fraudulent, or flagged and live) → invalidated: an
    organizer's decision, one signature or a filtered queue at once; the
    count job takes the counted ones out of the figures."""
    return _move(
        (Signature.id.in_(signature_ids), under_review()),
        {"state": SignatureState.invalidated, "invalidated_at": now},
    )


def invalidate(signature_ids: list[int], invalidation_id: int, now: datetime) -> list[int]:
    """pending or validated → invalidated, by a bulk invalidation."""
    return _move(
        (Signature.id.in_(signature_ids), Signature.state.in_(LIVE)),
        {
            "state": SignatureState.invalidated,
            "invalidated_at": now,
            "invalidation_id": invalidation_id,
        },
    )


def withdraw(signature_id: int) -> bool:
    """pending, validated or held → withdrawn: the signer took it back. A counted
    signature leaves the figures at the count job's next run (its ``counted``
    flag no longer agrees with its state); its country, region code, amount
    and dates stay for that. No move leaves ``withdrawn``."""
    return bool(
        _move(
            (Signature.id == signature_id, Signature.state.in_(MANAGEABLE)),
            {"state": SignatureState.withdrawn},
        )
    )
