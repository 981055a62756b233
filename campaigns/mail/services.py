"""Deciding to send (``queue_email``, inside the caller's transaction) and
sending (``deliver_emails``, after commit, claiming each row so that two
workers never send the same email)."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import timedelta
from email.message import Message

from flask import current_app
from sqlalchemy import select, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import selectinload

from ..extensions import db, execute_alone
from ..models import Campaign, EmailKind, EmailLog, EmailStatus, Signature
from ..models.types import utcnow
from ..privacy.crypto import DecryptionError
from ..upsert import insert_ignore
from .composers import compose
from .transport import PermanentFailure, TemporaryFailure, open_transport

log = logging.getLogger(__name__)

# While a worker sends, the row is leased; a worker killed mid-send frees it
# when the lease runs out.
LEASE = timedelta(minutes=5)
MAX_ATTEMPTS = 8


def _lease() -> timedelta:
    seconds = current_app.config["MAIL_LEASE_SECONDS"]
    return timedelta(seconds=seconds) if seconds else LEASE


def retry_delay(attempts: int, first: float = 30) -> timedelta:
    """Exponential backoff: 30 s, 1 min, 2 min, … capped at an hour."""
    return timedelta(seconds=min(first * 2 ** max(attempts - 1, 0), 3600))


def queue_email(kind: EmailKind, signature_id: int, dedupe_key: str) -> int | None:
    """Record the decision to send; returns the new row's id, or None if this
    exact email was decided before (flush only)."""
    row = db.session.execute(
        insert_ignore(EmailLog, ["dedupe_key"])
        .values(
            dedupe_key=dedupe_key,
            kind=kind,
            signature_id=signature_id,
            status=EmailStatus.queued,
            attempts=0,
            next_attempt_at=utcnow(),
            created_at=utcnow(),
        )
        .returning(EmailLog.id)
    ).scalar()
    return row


def queue_emails(kind: EmailKind, dedupe_keys: dict[int, str]) -> list[int]:
    """``queue_email`` for many signatures in one statement (signature id →
    dedupe key); returns the ids of the rows that are new (flush only)."""
    if not dedupe_keys:
        return []
    now = utcnow()
    rows = [
        {
            "dedupe_key": key,
            "kind": kind,
            "signature_id": signature_id,
            "status": EmailStatus.queued,
            "attempts": 0,
            "next_attempt_at": now,
            "created_at": now,
        }
        for signature_id, key in dedupe_keys.items()
    ]
    new_ids = (
        db.session.execute(
            insert_ignore(EmailLog, ["dedupe_key"]).values(rows).returning(EmailLog.id)
        )
        .scalars()
        .all()
    )
    return sorted(new_ids)


def _claim(email_ids: list[int]) -> list[int]:
    now = utcnow()
    claimed = (
        db.session.execute(
            update(EmailLog)
            .where(
                EmailLog.id.in_(email_ids),
                EmailLog.status.in_([EmailStatus.queued, EmailStatus.sending]),
                EmailLog.next_attempt_at <= now,
            )
            .values(
                status=EmailStatus.sending,
                attempts=EmailLog.attempts + 1,
                next_attempt_at=now + _lease(),
            )
            .returning(EmailLog.id)
        )
        .scalars()
        .all()
    )
    db.session.commit()
    return sorted(claimed)


# Emails are claimed, loaded and composed this many at a time.
GROUP = 25


@dataclass
class _Outgoing:
    """A claimed email, composed while its rows were loaded (the per-email
    commits below would otherwise reload them one by one)."""

    id: int
    attempts: int
    message: Message | None = None
    failure: Exception | None = None


def deliver_emails(email_ids: list[int]) -> int:
    """Send the given queued emails over one connection; returns how many were sent.

    Emails are claimed (leased) a group at a time just before they are sent,
    and each outcome is committed right after its SMTP answer: a worker killed
    mid-batch leaves at most the one in flight to be sent again. A group whose
    lease is about to run out (a very slow server) stops, and the sweeper sends
    the rest once the lease has passed, so no other worker can claim an email
    this one still holds.
    """
    sent = 0
    transport = None
    ordered = sorted(email_ids)
    try:
        for start in range(0, len(ordered), GROUP):
            claimed = _claim(ordered[start : start + GROUP])
            if not claimed:
                continue
            deadline = time.monotonic() + _lease().total_seconds() * 0.8
            outgoing = _compose_claimed(claimed)
            db.session.rollback()
            for item in outgoing:
                if time.monotonic() > deadline:
                    break
                if item.message is not None:
                    if transport is None:
                        transport = open_transport()
                    try:
                        transport.send(item.message)
                    except (TemporaryFailure, PermanentFailure) as exc:
                        item.failure = exc
                    except Exception as exc:
                        log.exception("email %s could not be sent", item.id)
                        item.failure = TemporaryFailure(f"error: {type(exc).__name__}")
                _commit_outcome(item, deadline)
                sent += item.failure is None
    finally:
        if transport is not None:
            transport.close()
    return sent


def _compose_claimed(email_ids: list[int]) -> list[_Outgoing]:
    """Load the claimed rows with their signatures, campaigns and texts in a
    few statements, and compose each message; a failure to compose is that
    email's outcome."""
    emails = (
        db.session.execute(select(EmailLog).where(EmailLog.id.in_(email_ids)).order_by(EmailLog.id))
        .scalars()
        .all()
    )
    signature_ids = [e.signature_id for e in emails if e.signature_id]
    signatures = {
        s.id: s
        for s in db.session.execute(
            select(Signature)
            .options(selectinload(Signature.campaign).selectinload(Campaign.texts))
            .where(Signature.id.in_(signature_ids))
        ).scalars()
    }
    outgoing = []
    for email in emails:
        item = _Outgoing(id=email.id, attempts=email.attempts)
        signature = signatures.get(email.signature_id) if email.signature_id else None
        try:
            item.message = compose(email, signature)
        except (PermanentFailure, DecryptionError, LookupError) as exc:
            item.failure = PermanentFailure(str(exc))
        except Exception as exc:
            # A bug in composing one email must not stall the others.
            log.exception("email %s could not be composed", email.id)
            item.failure = TemporaryFailure(f"error: {type(exc).__name__}")
        outgoing.append(item)
    return outgoing


def _record_outcome(item: _Outgoing) -> None:
    """Record a sent or failed email, committed when this returns: a temporary
    failure is retried with backoff until MAX_ATTEMPTS, a permanent one never.
    One Core UPDATE of one row, run alone: one round trip, and none of the
    ORM's bulk UPDATE machinery."""
    if item.failure is None:
        values: dict[str, object] = {
            "status": EmailStatus.sent,
            "sent_at": utcnow(),
            "last_error": None,
        }
    else:
        error = str(item.failure)[:200]
        permanent = isinstance(item.failure, PermanentFailure) or item.attempts >= MAX_ATTEMPTS
        if permanent:
            values = {"status": EmailStatus.failed, "last_error": error}
            log.warning("email %s failed permanently: %s", item.id, error)
        else:
            delay = retry_delay(item.attempts, current_app.config["MAIL_RETRY_SECONDS"])
            values = {
                "status": EmailStatus.queued,
                "last_error": error,
                "next_attempt_at": utcnow() + delay,
            }
            log.info("email %s will be retried: %s", item.id, error)
    table = EmailLog.__table__
    execute_alone(update(table).where(table.c.id == item.id).values(**values))


def _commit_outcome(item: _Outgoing, deadline: float) -> None:
    """Record and commit an email's outcome once the SMTP server has answered.
    A database restarting meanwhile is waited for, within the lease: given
    up, the lease would run out and the email be sent a second time."""
    pause = 0.25
    while True:
        try:
            _record_outcome(item)
            return
        except OperationalError:
            if time.monotonic() + pause > deadline:
                raise
            time.sleep(pause)
            pause = min(pause * 2, 5)


def deliver_due_emails(limit: int = 500) -> int:
    """Sweep: send queued emails whose time has come (retries, and emails whose
    worker died before sending)."""
    due = (
        db.session.execute(
            select(EmailLog.id)
            .where(
                EmailLog.status.in_([EmailStatus.queued, EmailStatus.sending]),
                EmailLog.next_attempt_at <= utcnow(),
            )
            .order_by(EmailLog.next_attempt_at)
            .limit(limit)
        )
        .scalars()
        .all()
    )
    db.session.rollback()
    return deliver_emails(list(due)) if due else 0
