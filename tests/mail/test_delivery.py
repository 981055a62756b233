"""Sending over real SMTP (aiosmtpd on loopback): what the signer receives,
one connection per batch, retries with backoff, permanent failures, and
claiming so that two workers never send the same email."""

from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta

import pytest
from flask import Flask
from sqlalchemy import delete, select, update

from campaigns.extensions import db
from campaigns.mail import services as mail_services
from campaigns.mail.services import (
    LEASE,
    MAX_ATTEMPTS,
    deliver_due_emails,
    deliver_emails,
    queue_email,
    retry_delay,
)
from campaigns.models import Campaign, EmailKind, EmailLog, EmailStatus, Signature, SignatureState
from campaigns.models.types import utcnow
from campaigns.signing.tokens import read_confirm_token
from campaigns.signing.validation import validate_signatures
from tests.factories import create_campaign, create_signature

from .conftest import HOST, SMTPServer, free_port

THREAD_TIMEOUT = 60


def queue_confirmation(signature: Signature, kind: EmailKind = EmailKind.confirm) -> int:
    email_id = queue_email(kind, signature.id, f"{kind.value}:{signature.id}")
    assert email_id is not None
    db.session.commit()
    return email_id


def load(email_id: int) -> EmailLog:
    db.session.expire_all()
    row = db.session.get(EmailLog, email_id)
    assert row is not None
    return row


def make_due(email_id: int) -> None:
    """Move the retry time into the past instead of waiting for it."""
    db.session.execute(
        update(EmailLog)
        .where(EmailLog.id == email_id)
        .values(next_attempt_at=utcnow() - timedelta(seconds=1))
    )
    db.session.commit()


def new_signer(campaign: Campaign, **fields: object) -> Signature:
    return create_signature(campaign, state=SignatureState.pending, checked=True, **fields)  # type: ignore[arg-type]


# --- what is sent --------------------------------------------------------------


@pytest.mark.parametrize("locale", ["en", "ar"])
def test_confirmation_email_over_smtp(app: Flask, smtp: SMTPServer, locale: str) -> None:
    campaign = create_campaign()
    signature = new_signer(campaign, email="Nour@example.org", name="Nour", locale=locale)
    email_id = queue_confirmation(signature)

    assert deliver_emails([email_id]) == 1

    (delivered,) = smtp.delivered
    assert delivered.recipients == ["Nour@example.org"]
    assert delivered.mail_from == "no-reply@zaytoun.localhost"
    message = delivered.message
    assert message["To"] == "Nour@example.org"
    assert message["From"] == app.config["MAIL_DEFAULT_SENDER"]
    assert message["Message-ID"]
    assert message["Auto-Submitted"] == "auto-generated"
    title = campaign.text(locale).title
    assert title in message["Subject"]
    if locale == "en":
        assert message["Subject"] == f"Please confirm your signature: {title}"

    plain = message.get_body(("plain",))
    html = message.get_body(("html",))
    assert plain is not None and html is not None
    assert plain.get_content_type() == "text/plain"
    assert html.get_content_type() == "text/html"
    text = plain.get_content()
    markup = html.get_content()
    assert "Nour" in text and "Nour" in markup
    assert title in text and title in markup
    prefix = f"{app.config['SITE_URL']}/{locale}/confirm/"
    urls = [word for word in text.split() if word.startswith(prefix)]
    assert len(urls) == 1
    url = urls[0]
    assert read_confirm_token(url[len(prefix) :]) == signature.uuid
    assert f'href="{url}"' in markup
    direction = "rtl" if locale == "ar" else "ltr"
    assert f'<html lang="{locale}" dir="{direction}">' in markup
    # The link lands on the public confirmation page.
    assert app.test_client().get(url[len(app.config["SITE_URL"]) :]).status_code == 200

    row = load(email_id)
    assert row.status is EmailStatus.sent
    assert row.attempts == 1
    assert row.sent_at is not None
    assert row.last_error is None


@pytest.mark.parametrize("locale", ["en", "ar"])
def test_email_declares_the_signers_language(app: Flask, smtp: SMTPServer, locale: str) -> None:
    # set_content() drops any Content-* header set before it: set it after.
    campaign = create_campaign()
    email_id = queue_confirmation(new_signer(campaign, locale=locale))

    deliver_emails([email_id])

    (delivered,) = smtp.delivered
    assert delivered.message["Content-Language"] == locale


def test_an_address_that_is_not_ascii_travels_as_utf8(app: Flask) -> None:
    """email-validator accepts internationalized addresses: they go out with
    SMTPUTF8 (RFC 6531), the address as UTF-8, never as an encoded word; a
    sender name in Arabic is an encoded word that reads back whole."""
    server = SMTPServer(free_port(), smtputf8=True)
    server.start()
    app.config.update(
        MAIL_SERVER=HOST,
        MAIL_PORT=server.port,
        MAIL_TIMEOUT=5,
        MAIL_DEFAULT_SENDER="اتحاد ثوار حلب <no-reply@zaytoun.localhost>",
    )
    try:
        campaign = create_campaign()
        signature = new_signer(campaign, email="نور@example.org", locale="ar")
        email_id = queue_confirmation(signature)
        assert deliver_emails([email_id]) == 1
        (delivered,) = server.delivered
    finally:
        server.stop()
    assert delivered.recipients == ["نور@example.org"]
    assert delivered.mail_from == "no-reply@zaytoun.localhost"
    assert delivered.message["To"] == "نور@example.org"
    assert delivered.message["From"] == "اتحاد ثوار حلب <no-reply@zaytoun.localhost>"
    assert campaign.text("ar").title in delivered.message["Subject"]
    assert load(email_id).status is EmailStatus.sent


def test_already_signed_email_over_smtp(app: Flask, smtp: SMTPServer) -> None:
    campaign = create_campaign()
    signature = create_signature(campaign, state=SignatureState.validated, email="a@example.org")
    email_id = queue_confirmation(signature, EmailKind.already_signed)

    assert deliver_emails([email_id]) == 1

    (delivered,) = smtp.delivered
    assert delivered.recipients == ["a@example.org"]
    assert delivered.message["Subject"].startswith("You have already signed")
    assert load(email_id).status is EmailStatus.sent


def test_validation_sends_through_smtp(app: Flask, smtp: SMTPServer) -> None:
    campaign = create_campaign()
    signature = create_signature(campaign, email="worker@example.org")

    assert validate_signatures([signature.id]) == 1
    assert validate_signatures([signature.id]) == 0

    assert [d.recipients for d in smtp.delivered] == [["worker@example.org"]]


def test_validation_with_the_server_down_sends_later(app: Flask, smtp_down: SMTPServer) -> None:
    campaign = create_campaign()
    signature = create_signature(campaign, email="later@example.org")

    assert validate_signatures([signature.id]) == 0

    db.session.expire_all()
    assert db.session.get(Signature, signature.id).checked_at is not None  # type: ignore[union-attr]
    (row,) = db.session.scalars(select(EmailLog)).all()
    assert (row.status, row.attempts) == (EmailStatus.queued, 1)
    # Validating again does not decide a second email.
    assert validate_signatures([signature.id]) == 0
    assert len(db.session.scalars(select(EmailLog)).all()) == 1

    smtp_down.start()
    make_due(row.id)
    assert deliver_due_emails() == 1
    assert [d.recipients for d in smtp_down.delivered] == [["later@example.org"]]


def test_one_connection_serves_a_batch(app: Flask, smtp: SMTPServer) -> None:
    campaign = create_campaign()
    addresses = [f"batch{i}@example.org" for i in range(4)]
    email_ids = [queue_confirmation(new_signer(campaign, email=a)) for a in addresses]

    assert deliver_emails(email_ids) == 4

    delivered = smtp.delivered
    assert sorted(r for d in delivered for r in d.recipients) == addresses
    # Every message came over the same client socket.
    assert len({d.peer for d in delivered}) == 1
    assert all(load(i).status is EmailStatus.sent for i in email_ids)


def test_a_sent_email_is_not_sent_again(app: Flask, smtp: SMTPServer) -> None:
    campaign = create_campaign()
    email_id = queue_confirmation(new_signer(campaign))
    assert deliver_emails([email_id]) == 1
    make_due(email_id)

    assert deliver_emails([email_id]) == 0
    assert deliver_due_emails() == 0

    assert len(smtp.delivered) == 1
    assert load(email_id).attempts == 1


def test_deciding_the_same_email_twice_records_it_once(app: Flask, smtp: SMTPServer) -> None:
    campaign = create_campaign()
    signature = new_signer(campaign)
    first = queue_email(EmailKind.confirm, signature.id, f"confirm:{signature.id}")
    second = queue_email(EmailKind.confirm, signature.id, f"confirm:{signature.id}")
    db.session.commit()

    assert first is not None
    assert second is None
    assert deliver_due_emails() == 1
    assert len(smtp.delivered) == 1


# --- temporary failures and retries ------------------------------------------


def test_server_down_then_up(app: Flask, smtp_down: SMTPServer) -> None:
    campaign = create_campaign()
    email_id = queue_confirmation(new_signer(campaign, email="patient@example.org"))

    before = utcnow()
    assert deliver_emails([email_id]) == 0
    after = utcnow()

    row = load(email_id)
    assert row.status is EmailStatus.queued
    assert row.attempts == 1
    assert row.last_error and "connect" in row.last_error
    assert row.sent_at is None
    assert before + retry_delay(1) <= row.next_attempt_at <= after + retry_delay(1)
    assert row.next_attempt_at > utcnow()

    smtp_down.start()
    # Not due yet: the sweep leaves it alone.
    assert deliver_due_emails() == 0
    assert load(email_id).attempts == 1
    assert smtp_down.delivered == []

    make_due(email_id)
    assert deliver_due_emails() == 1

    assert [d.recipients for d in smtp_down.delivered] == [["patient@example.org"]]
    row = load(email_id)
    assert row.status is EmailStatus.sent
    assert row.attempts == 2
    assert row.last_error is None
    assert deliver_due_emails() == 0
    assert len(smtp_down.delivered) == 1


def test_server_down_affects_every_email_of_the_batch(app: Flask, smtp_down: SMTPServer) -> None:
    campaign = create_campaign()
    email_ids = [queue_confirmation(new_signer(campaign)) for _ in range(3)]

    assert deliver_emails(email_ids) == 0

    for email_id in email_ids:
        row = load(email_id)
        assert (row.status, row.attempts) == (EmailStatus.queued, 1)
        assert row.next_attempt_at > utcnow()

    smtp_down.start()
    for email_id in email_ids:
        make_due(email_id)
    assert deliver_due_emails() == 3
    assert len(smtp_down.delivered) == 3


@pytest.mark.parametrize("stage", ["RCPT", "DATA"])
def test_4xx_answer_is_retried(app: Flask, smtp: SMTPServer, stage: str) -> None:
    campaign = create_campaign()
    email_id = queue_confirmation(new_signer(campaign))
    smtp.mailbox.reply_at[stage] = "451 4.3.0 try again later"

    before = utcnow()
    assert deliver_emails([email_id]) == 0

    row = load(email_id)
    assert row.status is EmailStatus.queued
    assert row.attempts == 1
    assert row.last_error and "451" in row.last_error
    assert row.next_attempt_at >= before + retry_delay(1)
    assert smtp.delivered == []

    smtp.mailbox.reply_at.clear()
    make_due(email_id)
    assert deliver_due_emails() == 1
    row = load(email_id)
    assert (row.status, row.attempts, row.last_error) == (EmailStatus.sent, 2, None)
    assert len(smtp.delivered) == 1


@pytest.mark.parametrize("stage", ["RCPT", "DATA"])
def test_5xx_answer_fails_permanently(app: Flask, smtp: SMTPServer, stage: str) -> None:
    campaign = create_campaign()
    email_id = queue_confirmation(new_signer(campaign))
    smtp.mailbox.reply_at[stage] = "550 5.1.1 no such mailbox"

    assert deliver_emails([email_id]) == 0

    row = load(email_id)
    assert row.status is EmailStatus.failed
    assert row.attempts == 1
    assert row.last_error and "550" in row.last_error
    assert row.sent_at is None

    # Never tried again, even once the server would accept it.
    smtp.mailbox.reply_at.clear()
    make_due(email_id)
    assert deliver_due_emails() == 0
    assert deliver_emails([email_id]) == 0
    assert load(email_id).status is EmailStatus.failed
    assert smtp.delivered == []


def test_a_refused_message_does_not_stop_the_rest_of_the_batch(
    app: Flask, smtp: SMTPServer
) -> None:
    campaign = create_campaign()
    refused = queue_confirmation(new_signer(campaign, email="gone@example.org"))
    fine = queue_confirmation(new_signer(campaign, email="here@example.org"))

    smtp.mailbox.reply_to_rcpt["gone@example.org"] = "550 5.1.1 no such mailbox"

    assert deliver_emails([refused, fine]) == 1

    assert load(refused).status is EmailStatus.failed
    assert load(fine).status is EmailStatus.sent
    assert [d.recipients for d in smtp.delivered] == [["here@example.org"]]


def test_after_max_attempts_the_email_fails(app: Flask, smtp: SMTPServer) -> None:
    campaign = create_campaign()
    email_id = queue_confirmation(new_signer(campaign))
    smtp.mailbox.reply_at["DATA"] = "421 4.7.0 too busy"

    delays: list[timedelta] = []
    for attempt in range(1, MAX_ATTEMPTS + 1):
        make_due(email_id)
        before = utcnow()
        assert deliver_emails([email_id]) == 0
        row = load(email_id)
        assert row.attempts == attempt
        if attempt < MAX_ATTEMPTS:
            assert row.status is EmailStatus.queued
            delays.append(row.next_attempt_at - before)
        else:
            assert row.status is EmailStatus.failed
            assert row.last_error and "421" in row.last_error

    # Backoff grows with each attempt (30 s, 1 min, 2 min, …).
    for attempt, delay in enumerate(delays, start=1):
        assert retry_delay(attempt) <= delay <= retry_delay(attempt) + timedelta(seconds=10)
    assert delays == sorted(delays)
    assert delays[0] >= timedelta(seconds=30)

    smtp.mailbox.reply_at.clear()
    make_due(email_id)
    assert deliver_due_emails() == 0
    assert load(email_id).attempts == MAX_ATTEMPTS
    assert smtp.delivered == []


def test_retry_delay_is_capped() -> None:
    assert retry_delay(1) == timedelta(seconds=30)
    assert retry_delay(2) == timedelta(seconds=60)
    assert retry_delay(30) == timedelta(hours=1)


# --- claiming ----------------------------------------------------------------


def _run_in_threads(app: Flask, calls: int, target: object) -> list[object]:
    barrier = threading.Barrier(calls)
    results: list[object] = [None] * calls
    errors: list[BaseException] = []

    def run(index: int) -> None:
        try:
            with app.app_context():
                barrier.wait(timeout=THREAD_TIMEOUT)
                results[index] = target()  # type: ignore[operator]
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=THREAD_TIMEOUT)
    assert not any(t.is_alive() for t in threads), "a sender did not finish in time"
    assert errors == []
    return results


def test_two_concurrent_deliveries_send_each_email_once(app: Flask, smtp: SMTPServer) -> None:
    campaign = create_campaign()
    signatures = [new_signer(campaign) for _ in range(5)]
    email_ids = [queue_confirmation(s) for s in signatures]
    # Slow answers, so that both senders are at work at the same time.
    smtp.mailbox.data_delay = 0.1
    db.session.commit()

    results = _run_in_threads(app, 2, lambda: deliver_emails(email_ids))

    assert sum(results) == 5  # type: ignore[arg-type]
    recipients = [r for d in smtp.delivered for r in d.recipients]
    assert len(recipients) == 5
    assert len(set(recipients)) == 5
    assert all(load(i).status is EmailStatus.sent for i in email_ids)
    assert all(load(i).attempts == 1 for i in email_ids)


def test_concurrent_sweeps_send_each_email_once(app: Flask, smtp: SMTPServer) -> None:
    campaign = create_campaign()
    email_ids = [queue_confirmation(new_signer(campaign)) for _ in range(5)]
    smtp.mailbox.data_delay = 0.1
    db.session.commit()

    results = _run_in_threads(app, 3, deliver_due_emails)

    assert sum(results) == 5  # type: ignore[arg-type]
    assert len(smtp.delivered) == 5
    assert all(load(i).attempts == 1 for i in email_ids)


def test_a_batch_slower_than_its_lease_still_sends_each_email_once(
    app: Flask, smtp: SMTPServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Time scaled down: a one-second lease, and a server that takes 0.4 s per
    # message (well within the lease) for a batch of five (well beyond it).
    monkeypatch.setattr(mail_services, "LEASE", timedelta(seconds=1))
    smtp.mailbox.data_delay = 0.4
    campaign = create_campaign()
    addresses = [f"slow{i}@example.org" for i in range(5)]
    email_ids = [queue_confirmation(new_signer(campaign, email=a)) for a in addresses]
    results: list[int] = []
    errors: list[BaseException] = []

    def first_worker() -> None:
        try:
            with app.app_context():
                results.append(deliver_emails(email_ids))
        except BaseException as exc:
            errors.append(exc)

    started = time.monotonic()
    worker = threading.Thread(target=first_worker)
    worker.start()
    try:
        # The periodic sweep comes by each time a lease has run out.
        for sweep in range(1, 6):
            time.sleep(max(0.0, started + 1.2 * sweep - time.monotonic()))
            results.append(deliver_due_emails())
            if sum(results) >= 5:
                break
    finally:
        worker.join(timeout=THREAD_TIMEOUT)
    assert not worker.is_alive()
    assert errors == []

    # Each sender stopped before its lease ran out (the first one did not
    # send the whole batch), leaving the rest to a later sweep: every email
    # sent once.
    assert 0 < results[0] < 5
    assert sum(results) == 5
    recipients = sorted(r for d in smtp.delivered for r in d.recipients)
    assert recipients == addresses


def test_a_claimed_email_is_left_alone_until_its_lease_runs_out(
    app: Flask, smtp: SMTPServer
) -> None:
    campaign = create_campaign()
    email_id = queue_confirmation(new_signer(campaign))
    # Another worker claimed it a minute ago and is (perhaps) still sending.
    claimed_at = utcnow() - timedelta(minutes=1)
    db.session.execute(
        update(EmailLog)
        .where(EmailLog.id == email_id)
        .values(status=EmailStatus.sending, attempts=1, next_attempt_at=claimed_at + LEASE)
    )
    db.session.commit()

    assert deliver_due_emails() == 0
    assert deliver_emails([email_id]) == 0
    assert smtp.delivered == []

    # That worker died: once the lease has run out, the sweep sends it.
    make_due(email_id)
    assert deliver_due_emails() == 1
    row = load(email_id)
    assert (row.status, row.attempts) == (EmailStatus.sent, 2)
    assert len(smtp.delivered) == 1


# --- erased signers ----------------------------------------------------------


def test_erased_personal_data_fails_permanently_without_sending(
    app: Flask, smtp: SMTPServer
) -> None:
    campaign = create_campaign()
    erased = new_signer(campaign)
    kept = new_signer(campaign, email="kept@example.org")
    erased_email = queue_confirmation(erased)
    kept_email = queue_confirmation(kept)
    db.session.execute(
        update(Signature).where(Signature.id == erased.id).values(personal_data=None)
    )
    db.session.commit()

    assert deliver_emails([erased_email, kept_email]) == 1

    row = load(erased_email)
    assert row.status is EmailStatus.failed
    assert row.last_error == "signer data erased"
    assert row.sent_at is None
    assert [d.recipients for d in smtp.delivered] == [["kept@example.org"]]
    make_due(erased_email)
    assert deliver_due_emails() == 0
    assert len(smtp.delivered) == 1


def test_deleted_signature_fails_permanently_without_sending(
    app: Flask, smtp: SMTPServer
) -> None:
    campaign = create_campaign()
    signature = new_signer(campaign)
    email_id = queue_confirmation(signature)
    db.session.execute(delete(Signature).where(Signature.id == signature.id))
    db.session.commit()
    assert load(email_id).signature_id is None

    assert deliver_emails([email_id]) == 0

    assert load(email_id).status is EmailStatus.failed
    assert smtp.delivered == []


def test_nothing_to_send_opens_no_connection(app: Flask, smtp_down: SMTPServer) -> None:
    # Unknown ids claim nothing, so no connection is tried (the server is down).
    assert deliver_emails([]) == 0
    assert deliver_emails([424242]) == 0
    assert deliver_due_emails() == 0
    assert db.session.scalars(select(EmailLog)).all() == []


def _aware(value: datetime) -> bool:
    return value.tzinfo is not None


def test_email_times_are_timezone_aware(app: Flask, smtp: SMTPServer) -> None:
    campaign = create_campaign()
    email_id = queue_confirmation(new_signer(campaign))
    deliver_emails([email_id])
    row = load(email_id)
    assert row.sent_at is not None
    assert _aware(row.sent_at) and _aware(row.next_attempt_at) and _aware(row.created_at)

