"""Reviewing signatures: the queue of flagged and fraudulent ones, and an
organizer's decision on each. Guarded updates, so a decision taken twice (two
tabs, a double click) acts once. Flush only: the request commits."""

from __future__ import annotations

import logging
from collections.abc import Iterable

from celery import current_app as current_celery
from sqlalchemy import ColumnElement, and_, or_, select, update

from ..accounts.audit import record
from ..extensions import db
from ..mail.services import queue_email
from ..models import EmailKind, Signature, SignatureState
from ..models.types import utcnow
from ..privacy.crypto import DecryptionError
from ..privacy.personal import PersonalData, read_personal_data

log = logging.getLogger(__name__)

SEND_TASK = "zaytoun.send_confirmation_emails"
# The states a flag or an invalidation acts on: the signature still counts, or
# will once confirmed.
LIVE = (SignatureState.pending, SignatureState.validated)
PAGE_SIZE = 50


class NotReviewable(Exception):
    """The signature is not (or no longer) awaiting a decision."""


# What the queue can show: everything, or one of its two parts.
QUEUE_PARTS = ("all", "flagged", "fraudulent")


def awaiting_review(part: str = "all") -> ColumnElement[bool]:
    """Fraudulent signatures, and live ones that trending detection flagged."""
    fraudulent = Signature.state == SignatureState.fraudulent
    flagged = and_(Signature.flag_reason.is_not(None), Signature.state.in_(LIVE))
    if part == "flagged":
        return flagged
    if part == "fraudulent":
        return fraudulent
    return or_(fraudulent, flagged)


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


def reveal_personal_data(signatures: Iterable[Signature]) -> dict[int, PersonalData]:
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
        )
    return shown


def accept_signature(signature: Signature) -> int | None:
    """Clear a signature's flags. A fraudulent one goes back to pending, as if
    it had passed the checks, and gets its confirmation email: returns that
    email's id for delivery after the commit (None when there is none)."""
    before, reason = signature.state, signature.fraud_reason or signature.flag_reason
    if before is SignatureState.fraudulent:
        guard = Signature.state == SignatureState.fraudulent
        values: dict[str, object] = {
            "state": SignatureState.pending,
            "checked_at": utcnow(),
            "fraud_reason": None,
            "flag_reason": None,
        }
    else:
        guard = and_(Signature.flag_reason.is_not(None), Signature.state.in_(LIVE))
        values = {"flag_reason": None}
    won = db.session.execute(
        update(Signature)
        .where(Signature.id == signature.id, guard)
        .values(**values)
        .returning(Signature.id)
        .execution_options(synchronize_session=False)
    ).scalar()
    if won is None:
        raise NotReviewable(signature.id)
    record(
        "signature_accepted",
        "signature",
        signature.id,
        campaign_id=signature.campaign_id,
        state=before.value,
        reason=reason,
    )
    if before is not SignatureState.fraudulent:
        return None
    # Fraudulent signatures never had a confirmation email: the dedupe key is free.
    return queue_email(EmailKind.confirm, signature.id, f"confirm:{signature.id}")


def reject_signature(signature: Signature) -> None:
    """Invalidate a signature under review; the count job takes it out of the
    figures if it was counted."""
    before, reason = signature.state, signature.fraud_reason or signature.flag_reason
    won = db.session.execute(
        update(Signature)
        .where(Signature.id == signature.id, awaiting_review())
        .values(state=SignatureState.invalidated, invalidated_at=utcnow())
        .returning(Signature.id)
        .execution_options(synchronize_session=False)
    ).scalar()
    if won is None:
        raise NotReviewable(signature.id)
    record(
        "signature_rejected",
        "signature",
        signature.id,
        campaign_id=signature.campaign_id,
        state=before.value,
        reason=reason,
    )


def deliver_after_commit(email_ids: list[int]) -> None:
    """Hand emails decided in a request to a worker (in-process mode sends them
    now). A publish that fails leaves them queued for the 15-second sweep."""
    if not email_ids:
        return
    try:
        current_celery.tasks[SEND_TASK].apply_async(args=[email_ids])
    except Exception:
        log.exception("emails %s not published; the sweep will send them", email_ids)
