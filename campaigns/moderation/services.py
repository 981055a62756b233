"""Reviewing signatures: the queue of flagged and fraudulent ones, and an
organizer's decision on each. Guarded updates, so a decision taken twice (two
tabs, a double click) acts once. Flush only: the request commits."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import ColumnElement, select

from ..accounts.audit import record
from ..extensions import db
from ..jobs import SEND_CONFIRMATION_EMAIL
from ..mail.services import queue_email
from ..models import EmailKind, Signature, SignatureState
from ..models.types import utcnow
from ..outbox import enqueue
from ..privacy.crypto import DecryptionError
from ..privacy.personal import PersonalData, read_personal_data
from ..signing.lifecycle import clear_flag, flagged, reinstate, reject, under_review

PAGE_SIZE = 50


class NotReviewable(Exception):
    """The signature is not (or no longer) awaiting a decision."""


# What the queue can show: everything, or one of its two parts.
QUEUE_PARTS = ("all", "flagged", "fraudulent")


def awaiting_review(part: str = "all") -> ColumnElement[bool]:
    """Fraudulent signatures, and live ones that trending detection flagged."""
    if part == "flagged":
        return flagged()
    if part == "fraudulent":
        return Signature.state == SignatureState.fraudulent
    return under_review()


def review_queue(
    campaign_ids: Iterable[int] | None, page: int = 1, part: str = "all"
) -> list[Signature]:
    """One page of signatures awaiting review, newest first; ``campaign_ids``
    None means every campaign."""
    query = select(Signature).where(awaiting_review(part))
    if campaign_ids is not None:
        query = query.where(Signature.campaign_id.in_(list(campaign_ids)))
    query = query.order_by(Signature.id.desc()).limit(PAGE_SIZE).offset((page - 1) * PAGE_SIZE)
    return list(db.session.execute(query).scalars())


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


def accept_signature(signature: Signature) -> int | None:
    """Clear a signature's flags. A fraudulent one goes back to pending, as if
    it had passed the checks, and gets its confirmation email: returns that
    email's id for ``queue_confirmation`` (None when there is none)."""
    before, reason = signature.state, signature.fraud_reason or signature.flag_reason
    fraudulent = before is SignatureState.fraudulent
    won = reinstate(signature.id, utcnow()) if fraudulent else clear_flag(signature.id)
    _decided("signature_accepted", signature, won, before, reason)
    if not fraudulent:
        return None
    # Fraudulent signatures never had a confirmation email: the dedupe key is free.
    return queue_email(EmailKind.confirm, signature.id, f"confirm:{signature.id}")


def reject_signature(signature: Signature) -> None:
    """Invalidate a signature under review; the count job takes it out of the
    figures if it was counted."""
    before, reason = signature.state, signature.fraud_reason or signature.flag_reason
    _decided("signature_rejected", signature, reject(signature.id, utcnow()), before, reason)


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


def queue_confirmation(email_id: int | None) -> None:
    """Hand an accepted signature's confirmation email to the workers: its task
    goes into the caller's transaction (flush only), and the outbox relays it
    once that commits (the 15-second sweep of due emails would send it too)."""
    if email_id is not None:
        enqueue(SEND_CONFIRMATION_EMAIL.name, email_id)
