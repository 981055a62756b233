"""Deciding to send (``queue_email``, inside the caller's transaction) and
sending (``deliver_emails``, after commit, claiming each row so that two
workers never send the same email)."""

from __future__ import annotations

import logging
from datetime import timedelta
from email.message import EmailMessage

from flask import current_app, render_template
from flask_babel import force_locale, gettext
from sqlalchemy import select, update

from ..extensions import db
from ..models import EmailKind, EmailLog, EmailStatus, Signature
from ..models.types import utcnow
from ..privacy.crypto import DecryptionError
from ..signing.personal import read_personal_data
from ..signing.tokens import confirm_url
from ..updates.emails import compose_notice, compose_update
from ..upsert import insert_ignore
from .transport import (
    FolderTransport,
    PermanentFailure,
    SMTPTransport,
    TemporaryFailure,
    new_message_id,
    open_transport,
)

log = logging.getLogger(__name__)

# While a worker sends, the row is leased; a worker killed mid-send frees it
# when the lease runs out.
LEASE = timedelta(minutes=5)
MAX_ATTEMPTS = 8


def retry_delay(attempts: int) -> timedelta:
    """Exponential backoff: 30 s, 1 min, 2 min, … capped at an hour."""
    return timedelta(seconds=min(30 * 2 ** max(attempts - 1, 0), 3600))


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


def _claim(email_ids: list[int]) -> list[int]:
    now = utcnow()
    claimed = db.session.execute(
        update(EmailLog)
        .where(
            EmailLog.id.in_(email_ids),
            EmailLog.status.in_([EmailStatus.queued, EmailStatus.sending]),
            EmailLog.next_attempt_at <= now,
        )
        .values(
            status=EmailStatus.sending,
            attempts=EmailLog.attempts + 1,
            next_attempt_at=now + LEASE,
        )
        .returning(EmailLog.id)
    ).scalars().all()
    db.session.commit()
    return sorted(claimed)


def compose(email: EmailLog, signature: Signature | None) -> EmailMessage:
    """The message for one email log row: to the signer in their language, or
    for a notice to the organizer (``user_id``)."""
    if email.kind is EmailKind.notice:
        return compose_notice(email)
    if signature is None:
        raise PermanentFailure("signer data erased")
    if email.kind is EmailKind.update:
        return compose_update(email, signature)
    personal = read_personal_data(signature)
    if not personal["email"]:
        raise PermanentFailure("no email address")
    campaign = signature.campaign
    with force_locale(signature.locale):
        text = campaign.text(signature.locale)
        context = {
            "lang": signature.locale,
            # First-strong isolates: a Latin name cannot scramble an Arabic line.
            "name": f"\u2068{personal['name']}\u2069",
            "campaign": campaign,
            "title": text.title,
            "confirm_url": confirm_url(signature),
            "already_validated": signature.validated_at is not None,
            "site_url": current_app.config["SITE_URL"],
        }
        if email.kind is EmailKind.confirm:
            subject = gettext("Please confirm your signature: %(title)s", title=text.title)
        else:
            subject = gettext("You have already signed: %(title)s", title=text.title)
        plain = render_template(f"email/{email.kind.value}.txt", **context)
        html = render_template(f"email/{email.kind.value}.html", **context)
    message = EmailMessage()
    message["Subject"] = subject
    message["From"] = current_app.config["MAIL_DEFAULT_SENDER"]
    message["To"] = personal["email"]
    message["Message-ID"] = new_message_id()
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(plain)
    message.add_alternative(html, subtype="html")
    # After the body: set_content() replaces every Content-* header.
    message["Content-Language"] = signature.locale
    # Python 3.11 folds long non-ASCII headers into encoded words with the space
    # between them, which readers drop ("نحنأشجار"): keep headers on one line.
    message.policy = message.policy.clone(max_line_length=998)
    return message


def deliver_emails(email_ids: list[int]) -> int:
    """Send the given queued emails over one connection; returns how many were sent.

    Each email is claimed (leased) just before it is sent and its outcome
    committed right after the SMTP answer: a slow batch never outlives the
    lease of the email in hand, and a worker killed mid-batch leaves at most
    the one in flight to be sent again.
    """
    sent = 0
    transport = None
    try:
        for email_id in sorted(email_ids):
            if not _claim([email_id]):
                continue
            email = db.session.get(EmailLog, email_id)
            if email is None:
                continue
            if transport is None:
                transport = open_transport()
            if _send_one(transport, email):
                sent += 1
            db.session.commit()
    finally:
        if transport is not None:
            transport.close()
    return sent


def _send_one(transport: FolderTransport | SMTPTransport, email: EmailLog) -> bool:
    """Send one claimed email and record the outcome (flush only)."""
    signature = db.session.get(Signature, email.signature_id) if email.signature_id else None
    try:
        needs_signer = email.kind is not EmailKind.notice
        if needs_signer and (signature is None or signature.personal_data is None):
            raise PermanentFailure("signer data erased")
        transport.send(compose(email, signature))
    except TemporaryFailure as exc:
        _record_failure(email, str(exc), permanent=email.attempts >= MAX_ATTEMPTS)
        return False
    except (PermanentFailure, DecryptionError, LookupError) as exc:
        _record_failure(email, str(exc), permanent=True)
        return False
    except Exception as exc:
        # A bug in composing one email must not stall the others.
        log.exception("email %s could not be composed", email.id)
        _record_failure(
            email, f"error: {type(exc).__name__}", permanent=email.attempts >= MAX_ATTEMPTS
        )
        return False
    email.status = EmailStatus.sent
    email.sent_at = utcnow()
    email.last_error = None
    return True


def _record_failure(email: EmailLog, error: str, *, permanent: bool) -> None:
    email.last_error = error[:200]
    if permanent:
        email.status = EmailStatus.failed
        log.warning("email %s failed permanently: %s", email.id, email.last_error)
    else:
        email.status = EmailStatus.queued
        email.next_attempt_at = utcnow() + retry_delay(email.attempts)
        log.info("email %s will be retried: %s", email.id, email.last_error)


def deliver_due_emails(limit: int = 500) -> int:
    """Sweep: send queued emails whose time has come (retries, and emails whose
    worker died before sending)."""
    due = db.session.execute(
        select(EmailLog.id)
        .where(
            EmailLog.status.in_([EmailStatus.queued, EmailStatus.sending]),
            EmailLog.next_attempt_at <= utcnow(),
        )
        .order_by(EmailLog.next_attempt_at)
        .limit(limit)
    ).scalars().all()
    db.session.rollback()
    return deliver_emails(list(due)) if due else 0
