"""What the workers do with a new signature: fraud rules, then the
confirmation email exactly once. Guarded on state, so running any of this
twice changes nothing the second time.

Only the plainly automated is marked fraudulent (silently): disposable and
blocked email domains, unreadable data, and a wave from one address far above
any limit (``RATE_WAVE_LIMIT`` within ``RATE_BURST_SECONDS``). Over its
network's burst or sustained limit (the defaults, or a trusted network's own),
a signature is checked and emailed as usual with a hold reason, and held for
review once confirmed: people behind one shared address lose nothing."""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from disposable_email_domains import blocklist as disposable_domains
from flask import current_app
from sqlalchemy import Interval, func, literal, select
from sqlalchemy.orm import aliased

from ..extensions import db
from ..jobs import VALIDATE_SIGNATURE
from ..mail.services import deliver_emails, queue_email, queue_emails
from ..models import EmailKind, Signature, SignatureState
from ..models.types import utcnow
from ..outbox import enqueue, waiting
from ..privacy.crypto import DecryptionError
from ..privacy.personal import read_personal_data
from .lifecycle import FraudReason, HoldReason, mark_checked, mark_fraudulent
from .networks import trusted_networks

log = logging.getLogger(__name__)

# A signature still unchecked this long after signing lost its task: send it again.
STALE_AFTER = timedelta(minutes=5)


def _seconds_before(column: Any, seconds: int) -> Any:
    """SQL for ``column - seconds``; SQLite stores datetimes as text."""
    if db.session.get_bind().dialect.name == "sqlite":
        return func.strftime("%Y-%m-%d %H:%M:%f", column, f"-{seconds} seconds")
    return column - literal(timedelta(seconds=seconds), Interval)


@dataclass(frozen=True)
class RateCounts:
    """Earlier signatures of the same campaign from the same address within
    each window, and the trusted network the signature was made from."""

    burst: int
    sustained: int
    network_id: int | None


def _rate_counts(signature_ids: list[int]) -> dict[int, RateCounts]:
    """For each signature of the batch with an IP hash: how many earlier
    signatures of the same campaign came from the same hash within each rule's
    window. One statement for the batch, a correlated count per rule on the
    ``ix_signatures_rate`` index."""
    config = current_app.config
    windows = {
        "burst": config["RATE_BURST_SECONDS"],
        "sustained": config["RATE_SUSTAINED_SECONDS"],
    }
    earlier = aliased(Signature)
    counts = [
        select(func.count())
        .select_from(earlier)
        .where(
            earlier.campaign_id == Signature.campaign_id,
            earlier.ip_hash == Signature.ip_hash,
            earlier.created_at > _seconds_before(Signature.created_at, seconds),
            earlier.id < Signature.id,
        )
        .scalar_subquery()
        .label(name)
        for name, seconds in windows.items()
    ]
    rows = db.session.execute(
        select(Signature.id, Signature.network_id, *counts).where(
            Signature.id.in_(signature_ids), Signature.ip_hash.is_not(None)
        )
    ).all()
    return {row.id: RateCounts(row.burst, row.sustained, row.network_id) for row in rows}


def limits_for(network_id: int | None) -> tuple[int, int]:
    """(burst, sustained) limits for signatures from this trusted network:
    its own, or the defaults (also for a network removed since)."""
    network = trusted_networks().by_id.get(network_id) if network_id is not None else None
    if network is not None:
        return network.burst_limit, network.sustained_limit
    config = current_app.config
    return config["RATE_BURST_LIMIT"], config["RATE_SUSTAINED_LIMIT"]


def rate_outcome(counts: RateCounts | None) -> FraudReason | HoldReason | None:
    """What the rate rules make of a signature: a wave far above any limit is
    fraudulent; over its network's limits it is held; else nothing."""
    if counts is None:
        return None
    if counts.burst >= current_app.config["RATE_WAVE_LIMIT"]:
        return FraudReason.rate_wave
    burst, sustained = limits_for(counts.network_id)
    if counts.burst >= burst:
        return HoldReason.rate_burst
    if counts.sustained >= sustained:
        return HoldReason.rate_sustained
    return None


def _domain_reason(signature: Signature) -> FraudReason | None:
    try:
        email = read_personal_data(signature)["email"] or ""
    except (LookupError, DecryptionError):
        return FraudReason.unreadable
    domain = email.rpartition("@")[2].lower()
    # x@mail.mailinator.com is as disposable as x@mailinator.com.
    labels = domain.split(".")
    parents = {".".join(labels[i:]) for i in range(len(labels) - 1)}
    if parents & disposable_domains:
        return FraudReason.disposable_domain
    if parents & set(current_app.config["BLOCKED_EMAIL_DOMAINS"]):
        return FraudReason.blocked_domain
    return None


def check_signatures(signature_ids: list[int]) -> list[int]:
    """Check a batch of pending signatures; returns the ids of the confirmation
    emails to send (flush only). Set-based: a handful of statements for the
    whole batch, whatever its size. Guarded on state, so a signature checked
    before (or by another worker at the same time) is left as it is. A fraud
    reason is for organizers; the signer is never told."""
    signatures = db.session.execute(
        select(Signature).where(
            Signature.id.in_(signature_ids),
            Signature.state == SignatureState.pending,
            Signature.checked_at.is_(None),
        )
    ).scalars().all()
    if not signatures:
        return []
    rates = _rate_counts([s.id for s in signatures])
    by_reason: dict[FraudReason | HoldReason | None, list[int]] = defaultdict(list)
    for signature in signatures:
        reason = _domain_reason(signature) or rate_outcome(rates.get(signature.id))
        by_reason[reason].append(signature.id)
    now = utcnow()
    won: list[int] = []
    for reason, ids in by_reason.items():
        if reason is None or isinstance(reason, HoldReason):
            won.extend(mark_checked(ids, now, hold=reason))
            continue
        for signature_id in mark_fraudulent(ids, reason, now):
            log.info("signature %s marked fraudulent: %s", signature_id, reason.value)
    return queue_emails(EmailKind.confirm, {sid: f"confirm:{sid}" for sid in sorted(won)})


def validate_signature(signature_id: int) -> int | None:
    """Check one pending signature; returns the confirmation email's id when one
    is to be sent (flush only)."""
    email_ids = check_signatures([signature_id])
    return email_ids[0] if email_ids else None


def validate_signatures(signature_ids: list[int]) -> int:
    """Task body: check the batch, commit, then send the emails decided."""
    email_ids = check_signatures(signature_ids)
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


def _stale_after() -> timedelta:
    seconds = current_app.config.get("REQUEUE_STALE_SECONDS")
    return timedelta(seconds=seconds) if seconds else STALE_AFTER


def requeue_stale_signatures(limit: int = 1000) -> int:
    """Sweep: signatures whose validation task was lost go through the outbox again."""
    stale = db.session.execute(
        select(Signature.id)
        .where(
            Signature.state == SignatureState.pending,
            Signature.checked_at.is_(None),
            Signature.created_at < utcnow() - _stale_after(),
            ~waiting(VALIDATE_SIGNATURE.name, Signature.id),
        )
        .limit(limit)
    ).scalars().all()
    for signature_id in stale:
        enqueue(VALIDATE_SIGNATURE.name, signature_id)
    db.session.commit()
    return len(stale)
