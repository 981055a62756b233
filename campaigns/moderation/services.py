"""Reviewing signatures: the queue of flagged and fraudulent ones, filtered
by campaign, part and reason, and an organizer's decision on one signature or
on every signature a filter shows. Guarded updates, so a decision taken twice
(two tabs, a double click) acts once. Flush only: the request commits."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import ColumnElement, func, or_, select

from ..accounts.audit import record
from ..extensions import db
from ..jobs import SEND_CONFIRMATION_EMAIL
from ..mail.services import queue_emails
from ..models import Campaign, EmailKind, Signature, SignatureState
from ..models.types import utcnow
from ..outbox import enqueue_all
from ..privacy.crypto import DecryptionError
from ..privacy.personal import PersonalData, read_personal_data
from ..signing.lifecycle import (
    REASON_LABELS,
    clear_flag,
    flagged,
    reinstate,
    reject,
    under_review,
)

PAGE_SIZE = 50
# Confirmation emails queued per statement when a filter's signatures are accepted.
EMAIL_CHUNK = 500
DECISIONS = ("accept", "reject")


class NotReviewable(Exception):
    """The signature is not (or no longer) awaiting a decision."""


class QueueChanged(Exception):
    """The filter no longer shows the number of signatures the person saw:
    they must confirm the new number (``size``)."""

    def __init__(self, size: int) -> None:
        super().__init__(size)
        self.size = size


# What the queue can show: everything, or one of its two parts.
QUEUE_PARTS = ("all", "flagged", "fraudulent")
# The reasons a filter may name: the closed list every row already shows.
QUEUE_REASONS = tuple(REASON_LABELS)


@dataclass(frozen=True)
class QueueFilter:
    """What the review queue shows: the campaigns (None: every campaign), a
    part of the queue and a reason. Only categories every row of the queue
    already shows, never a name, an address or a hash: the number a filter
    shows is the number of rows anyone allowed to see the queue can count."""

    campaign_ids: tuple[int, ...] | None
    part: str = "all"
    reason: str = ""

    def __post_init__(self) -> None:
        if self.part not in QUEUE_PARTS or (self.reason and self.reason not in QUEUE_REASONS):
            raise ValueError(self)

    def where(self) -> list[ColumnElement[bool]]:
        found = [awaiting_review(self.part)]
        if self.campaign_ids is not None:
            found.append(Signature.campaign_id.in_(self.campaign_ids))
        if self.reason:
            found.append(
                or_(Signature.fraud_reason == self.reason, Signature.flag_reason == self.reason)
            )
        return found


def awaiting_review(part: str = "all") -> ColumnElement[bool]:
    """Fraudulent signatures, and live ones that trending detection flagged."""
    if part == "flagged":
        return flagged()
    if part == "fraudulent":
        return Signature.state == SignatureState.fraudulent
    return under_review()


def review_queue(shown: QueueFilter, page: int = 1) -> list[Signature]:
    """One page of the signatures the filter shows, newest first."""
    query = (
        select(Signature)
        .where(*shown.where())
        .order_by(Signature.id.desc())
        .limit(PAGE_SIZE)
        .offset((page - 1) * PAGE_SIZE)
    )
    return list(db.session.execute(query).scalars())


def queue_size(shown: QueueFilter) -> int:
    """How many signatures the filter shows, over every page."""
    return int(
        db.session.execute(select(func.count()).select_from(Signature).where(*shown.where()))
        .scalar_one()
    )


def reveal_personal_data(
    signatures: Iterable[Signature], **audit: object
) -> dict[int, PersonalData]:
    """Names and email addresses for an admin, each one shown recorded in the
    audit log (the entry holds which signature, never what was shown)."""
    shown: dict[int, PersonalData] = {}
    for signature in signatures:
        try:
            shown[signature.id] = read_personal_data(signature)
        except (LookupError, DecryptionError):
            continue
        record(
            "signer_viewed",
            "signature",
            signature.id,
            campaign_id=signature.campaign_id,
            fields=["name", "email"],
            **audit,
        )
    return shown


def accept_signature(signature: Signature) -> list[int]:
    """Clear a signature's flags. A fraudulent one goes back to pending, as if
    it had passed the checks, and gets its confirmation email: returns that
    email's id for ``queue_confirmation`` (none when there is none)."""
    before, reason = signature.state, signature.fraud_reason or signature.flag_reason
    reinstated, cleared = _accept([signature.id])
    _decided("signature_accepted", signature, bool(reinstated or cleared), before, reason)
    return _confirmation_emails(reinstated)


def reject_signature(signature: Signature) -> None:
    """Invalidate a signature under review; the count job takes it out of the
    figures if it was counted."""
    before, reason = signature.state, signature.fraud_reason or signature.flag_reason
    won = bool(reject([signature.id], utcnow()))
    _decided("signature_rejected", signature, won, before, reason)


def _accept(signature_ids: list[int]) -> tuple[list[int], list[int]]:
    """The fraudulent ones reinstated, the flagged live ones cleared: the ids
    each move changed."""
    return reinstate(signature_ids, utcnow()), clear_flag(signature_ids)


def _confirmation_emails(reinstated: list[int]) -> list[int]:
    # Fraudulent signatures never had a confirmation email: the dedupe keys are free.
    email_ids: list[int] = []
    for start in range(0, len(reinstated), EMAIL_CHUNK):
        chunk = reinstated[start : start + EMAIL_CHUNK]
        email_ids += queue_emails(EmailKind.confirm, {i: f"confirm:{i}" for i in chunk})
    return email_ids


def decide_shown(
    campaign: Campaign, shown: QueueFilter, decision: str, expected: int
) -> tuple[int, list[int]]:
    """Accept or reject every signature of ``campaign`` the filter shows, as
    ``accept_signature`` and ``reject_signature`` do one at a time (guarded
    updates; the count job folds the changes in), audited as one entry with
    the filter and the number. ``expected`` is the number the person
    confirmed: QueueChanged when the filter shows another number now.
    Returns how many this call decided and the confirmation emails to queue
    (``queue_confirmation``)."""
    if decision not in DECISIONS or shown.campaign_ids != (campaign.id,):
        raise ValueError(decision)
    ids = list(
        db.session.execute(select(Signature.id).where(*shown.where()).order_by(Signature.id))
        .scalars()
    )
    if len(ids) != expected:
        raise QueueChanged(len(ids))
    if not ids:
        return 0, []
    email_ids: list[int] = []
    if decision == "accept":
        reinstated, cleared = _accept(ids)
        decided = len(reinstated) + len(cleared)
        email_ids = _confirmation_emails(reinstated)
    else:
        decided = len(reject(ids, utcnow()))
    if decided:
        action = (
            "signatures_accepted_in_bulk" if decision == "accept" else "signatures_rejected_in_bulk"
        )
        record(
            action,
            "campaign",
            campaign.id,
            count=decided,
            part=shown.part,
            reason=shown.reason or None,
        )
    return decided, email_ids


def _decided(
    action: str, signature: Signature, won: bool, before: SignatureState, reason: str | None
) -> None:
    """Audit a decision the guarded update took; NotReviewable when it found
    the signature no longer awaiting one."""
    if not won:
        raise NotReviewable(signature.id)
    record(
        action,
        "signature",
        signature.id,
        campaign_id=signature.campaign_id,
        state=before.value,
        reason=reason,
    )


def queue_confirmation(email_ids: list[int]) -> None:
    """Hand accepted signatures' confirmation emails to the workers: their
    tasks go into the caller's transaction (flush only), and the outbox relays
    them once that commits (the 15-second sweep of due emails would send them
    too)."""
    enqueue_all(SEND_CONFIRMATION_EMAIL.name, email_ids)
