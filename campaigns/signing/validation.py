"""What the workers do with a new signature: fraud rules, then the
confirmation email exactly once. Guarded on state, so running any of this
twice changes nothing the second time."""

from __future__ import annotations

import logging
from datetime import timedelta

from disposable_email_domains import blocklist as disposable_domains
from flask import current_app
from sqlalchemy import exists, func, select, update

from ..extensions import db
from ..mail.services import deliver_emails, queue_email
from ..models import EmailKind, OutboxMessage, Signature, SignatureState
from ..models.types import utcnow
from ..outbox import enqueue
from ..privacy.crypto import DecryptionError
from .personal import read_personal_data

log = logging.getLogger(__name__)

# A signature still unchecked this long after signing lost its task: send it again.
STALE_AFTER = timedelta(minutes=5)


def _rate_exceeded(signature: Signature) -> str | None:
    if signature.ip_hash is None:
        return None
    config = current_app.config
    rules = (
        ("rate_burst", config["RATE_BURST_LIMIT"], config["RATE_BURST_SECONDS"]),
        ("rate_sustained", config["RATE_SUSTAINED_LIMIT"], config["RATE_SUSTAINED_SECONDS"]),
    )
    for reason, limit, seconds in rules:
        earlier = db.session.execute(
            select(func.count())
            .select_from(Signature)
            .where(
                Signature.campaign_id == signature.campaign_id,
                Signature.ip_hash == signature.ip_hash,
                Signature.created_at > signature.created_at - timedelta(seconds=seconds),
                Signature.id < signature.id,
            )
        ).scalar_one()
        if earlier >= limit:
            return reason
    return None


def fraud_reason(signature: Signature) -> str | None:
    """Why this signature is fraudulent, or None. The reason is for organizers;
    the signer is never told."""
    try:
        email = read_personal_data(signature)["email"] or ""
    except (LookupError, DecryptionError):
        return "unreadable"
    domain = email.rpartition("@")[2].lower()
    # x@mail.mailinator.com is as disposable as x@mailinator.com.
    labels = domain.split(".")
    parents = {".".join(labels[i:]) for i in range(len(labels) - 1)}
    if parents & disposable_domains:
        return "disposable_domain"
    if parents & set(current_app.config["BLOCKED_EMAIL_DOMAINS"]):
        return "blocked_domain"
    return _rate_exceeded(signature)


def validate_signature(signature_id: int) -> int | None:
    """Check one pending signature; returns the confirmation email's id when one
    is to be sent (flush only)."""
    signature = db.session.get(Signature, signature_id)
    if signature is None or signature.state is not SignatureState.pending:
        return None
    if signature.checked_at is not None:
        return None
    reason = fraud_reason(signature)
    values: dict[str, object] = {"checked_at": utcnow()}
    if reason:
        values.update(state=SignatureState.fraudulent, fraud_reason=reason)
    won = db.session.execute(
        update(Signature)
        .where(
            Signature.id == signature_id,
            Signature.state == SignatureState.pending,
            Signature.checked_at.is_(None),
        )
        .values(**values)
        .returning(Signature.id)
        .execution_options(synchronize_session=False)
    ).scalar()
    if won is None or reason:
        if reason:
            log.info("signature %s marked fraudulent: %s", signature_id, reason)
        return None
    return queue_email(EmailKind.confirm, signature_id, f"confirm:{signature_id}")


def validate_signatures(signature_ids: list[int]) -> int:
    """Task body: check each signature, commit, then send the emails decided."""
    email_ids = [e for sid in signature_ids if (e := validate_signature(sid)) is not None]
    db.session.commit()
    return deliver_emails(email_ids) if email_ids else 0


def notify_duplicate_signature(signature_id: int) -> int | None:
    """Someone signed again with an address that already signed: tell the
    mailbox's owner (at most once a day), never the person at the form."""
    signature = db.session.get(Signature, signature_id)
    if signature is None or signature.checked_at is None:
        return None
    if signature.state not in (SignatureState.pending, SignatureState.validated):
        return None
    day = utcnow().date().isoformat()
    return queue_email(
        EmailKind.already_signed, signature_id, f"already_signed:{signature_id}:{day}"
    )


def notify_duplicate_signatures(signature_ids: list[int]) -> int:
    email_ids = [e for sid in signature_ids if (e := notify_duplicate_signature(sid)) is not None]
    db.session.commit()
    return deliver_emails(email_ids) if email_ids else 0


def requeue_stale_signatures(limit: int = 1000) -> int:
    """Sweep: signatures whose validation task was lost go through the outbox again."""
    stale = db.session.execute(
        select(Signature.id)
        .where(
            Signature.state == SignatureState.pending,
            Signature.checked_at.is_(None),
            Signature.created_at < utcnow() - STALE_AFTER,
            ~exists().where(
                OutboxMessage.task == "validate_signature",
                OutboxMessage.object_id == Signature.id,
            ),
        )
        .limit(limit)
    ).scalars().all()
    for signature_id in stale:
        enqueue("validate_signature", signature_id)
    db.session.commit()
    return len(stale)
