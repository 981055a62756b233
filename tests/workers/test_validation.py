"""The worker side of a new signature: fraud rules, the confirmation email
exactly once, "already signed" emails, the stale sweep and the outbox relay.

Tasks run in-process (eager) and mail is written to MAIL_OUTBOX_DIR, on
SQLite and PostgreSQL in turn (see the ``app`` fixture)."""

from __future__ import annotations

import email
import email.policy
from datetime import timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import delete, func, select, update

from campaigns.counting.services import update_signature_counts
from campaigns.extensions import db
from campaigns.models import (
    EmailKind,
    EmailLog,
    EmailStatus,
    OutboxMessage,
    Signature,
    SignatureState,
)
from campaigns.models.types import utcnow
from campaigns.outbox import enqueue, relay_outbox
from campaigns.signing import validation
from campaigns.signing.services import SignatureInput, sign_campaign
from campaigns.signing.tokens import read_confirm_token
from campaigns.signing.validation import (
    notify_duplicate_signatures,
    requeue_stale_signatures,
    validate_signature,
    validate_signatures,
)
from tests.factories import create_campaign, create_signature

# --- helpers -----------------------------------------------------------------


def sent_mail(app: Flask) -> list[EmailMessage]:
    """Every message the folder transport wrote (roughly oldest first)."""
    folder = Path(app.config["MAIL_OUTBOX_DIR"])
    if not folder.exists():
        return []
    files = sorted(folder.glob("*.eml"), key=lambda p: p.stat().st_mtime_ns)
    return [
        email.message_from_bytes(p.read_bytes(), policy=email.policy.default)
        for p in files
    ]


def email_logs() -> list[EmailLog]:
    db.session.expire_all()
    return list(db.session.execute(select(EmailLog).order_by(EmailLog.id)).scalars())


def reload(signature_id: int) -> Signature:
    db.session.expire_all()
    signature = db.session.get(Signature, signature_id)
    assert signature is not None
    return signature


def snapshot(signature_id: int) -> dict[str, Any]:
    s = reload(signature_id)
    return {
        "state": s.state,
        "checked_at": s.checked_at,
        "validated_at": s.validated_at,
        "fraud_reason": s.fraud_reason,
        "counted": s.counted,
    }


def outbox_rows() -> list[tuple[str, int]]:
    return sorted(
        (row.task, row.object_id)
        for row in db.session.execute(select(OutboxMessage.task, OutboxMessage.object_id))
    )


def text_body(message: EmailMessage) -> str:
    part = message.get_body(("plain",))
    assert part is not None
    return str(part.get_content())


# --- the confirmation email --------------------------------------------------


def test_clean_signature_is_checked_and_gets_one_confirmation_email(app: Flask) -> None:
    campaign = create_campaign()
    signature = create_signature(campaign, email="Layla@Example.org", name="Layla")
    before = utcnow()

    sent = validate_signatures([signature.id])

    assert sent == 1
    s = reload(signature.id)
    assert s.state is SignatureState.pending  # confirmed only by the signer
    assert s.checked_at is not None and s.checked_at >= before - timedelta(seconds=1)
    assert s.fraud_reason is None
    logs = email_logs()
    assert [(e.kind, e.dedupe_key, e.status, e.signature_id) for e in logs] == [
        (EmailKind.confirm, f"confirm:{signature.id}", EmailStatus.sent, signature.id)
    ]
    assert logs[0].sent_at is not None
    assert logs[0].attempts == 1
    messages = sent_mail(app)
    assert len(messages) == 1
    assert messages[0]["To"] == "Layla@Example.org"
    body = text_body(messages[0])
    assert "Layla" in body
    url_prefix = f"{app.config['SITE_URL']}/en/confirm/"
    token = next(w for w in body.split() if w.startswith(url_prefix))[len(url_prefix) :]
    assert read_confirm_token(token) == s.uuid


def test_validating_twice_sends_nothing_more_and_changes_nothing(app: Flask) -> None:
    campaign = create_campaign()
    signature = create_signature(campaign)

    assert validate_signatures([signature.id]) == 1
    first = snapshot(signature.id)
    logs_first = [(e.id, e.status, e.attempts, e.sent_at) for e in email_logs()]

    assert validate_signatures([signature.id]) == 0
    assert validate_signature(signature.id) is None
    db.session.commit()

    assert snapshot(signature.id) == first
    assert [(e.id, e.status, e.attempts, e.sent_at) for e in email_logs()] == logs_first
    assert len(sent_mail(app)) == 1


def test_a_batch_run_twice_or_with_repeated_ids_sends_each_email_once(app: Flask) -> None:
    campaign = create_campaign()
    ids = [create_signature(campaign, ip=f"10.0.0.{i}").id for i in range(1, 5)]

    assert validate_signatures([*ids, ids[0], ids[2]]) == 4
    assert validate_signatures(ids) == 0

    assert sorted(e.dedupe_key for e in email_logs()) == sorted(f"confirm:{i}" for i in ids)
    recipients = sorted(m["To"] for m in sent_mail(app))
    assert len(recipients) == 4
    assert len(set(recipients)) == 4


@pytest.mark.parametrize(
    "state", [SignatureState.validated, SignatureState.fraudulent, SignatureState.invalidated]
)
def test_only_pending_signatures_are_validated(app: Flask, state: SignatureState) -> None:
    campaign = create_campaign()
    signature = create_signature(campaign, state=state, checked=False)
    before = snapshot(signature.id)

    assert validate_signatures([signature.id]) == 0

    assert snapshot(signature.id) == before
    assert email_logs() == []
    assert sent_mail(app) == []


def test_unknown_signature_id_is_ignored(app: Flask) -> None:
    assert validate_signatures([987654]) == 0
    assert email_logs() == []


def test_signature_in_the_signers_language_gets_a_link_in_that_language(app: Flask) -> None:
    campaign = create_campaign()
    signature = create_signature(campaign, locale="ar")

    validate_signatures([signature.id])

    (message,) = sent_mail(app)
    assert f"{app.config['SITE_URL']}/ar/confirm/" in text_body(message)
    html = message.get_body(("html",))
    assert html is not None
    assert '<html lang="ar" dir="rtl">' in html.get_content()


def test_confirmation_email_declares_the_signers_language(app: Flask) -> None:
    campaign = create_campaign()
    signature = create_signature(campaign, locale="ar")

    validate_signatures([signature.id])

    (message,) = sent_mail(app)
    assert message["Content-Language"] == "ar"


# --- silent fraud rules ------------------------------------------------------


def assert_held_for_review(signature_id: int, reason: str) -> None:
    """Checked with a hold reason, never fraudulent, its confirmation email decided."""
    s = reload(signature_id)
    assert (s.state, s.fraud_reason, s.hold_reason) == (SignatureState.pending, None, reason)
    assert s.checked_at is not None
    assert db.session.scalar(
        select(func.count()).select_from(EmailLog).where(EmailLog.signature_id == signature_id)
    ) == 1


def assert_silently_fraudulent(app: Flask, signature_id: int, reason: str) -> None:
    s = reload(signature_id)
    assert s.state is SignatureState.fraudulent
    assert s.fraud_reason == reason
    assert s.checked_at is not None
    assert s.validated_at is None
    assert db.session.scalar(
        select(func.count()).select_from(EmailLog).where(EmailLog.signature_id == signature_id)
    ) == 0


@pytest.mark.parametrize("address", ["bot@mailinator.com", "Bot@MAILINATOR.COM"])
def test_disposable_domain_is_fraudulent_without_email(app: Flask, address: str) -> None:
    campaign = create_campaign()
    signature = create_signature(campaign, email=address)

    assert validate_signatures([signature.id]) == 0

    assert_silently_fraudulent(app, signature.id, "disposable_domain")
    assert sent_mail(app) == []


def test_blocked_domain_is_fraudulent_without_email(app: Flask) -> None:
    app.config["BLOCKED_EMAIL_DOMAINS"] = ["regime-trolls.example"]
    campaign = create_campaign()
    blocked = create_signature(campaign, email="someone@Regime-Trolls.example", ip="10.1.0.1")
    fine = create_signature(campaign, email="someone@example.org", ip="10.1.0.2")

    assert validate_signatures([blocked.id, fine.id]) == 1

    assert_silently_fraudulent(app, blocked.id, "blocked_domain")
    assert reload(fine.id).state is SignatureState.pending
    assert [m["To"] for m in sent_mail(app)] == ["someone@example.org"]


def test_fraudulent_signature_cannot_be_confirmed_later(app: Flask) -> None:
    campaign = create_campaign()
    signature = create_signature(campaign, email="x@mailinator.com")
    validate_signatures([signature.id])
    # Running again, or the sweep, must not turn it back into a pending one.
    validate_signatures([signature.id])
    assert requeue_stale_signatures() == 0
    assert_silently_fraudulent(app, signature.id, "disposable_domain")


@pytest.mark.parametrize(
    ("reason", "settings", "limit", "first", "spacing"),
    [
        pytest.param(
            "rate_burst", {"RATE_BURST_LIMIT": 3}, 3, timedelta(0), timedelta(seconds=1), id="burst"
        ),
        # One every ten minutes: never a burst, but five within the hour.
        pytest.param(
            "rate_sustained",
            {"RATE_BURST_LIMIT": 100, "RATE_SUSTAINED_LIMIT": 4},
            4,
            timedelta(minutes=-50),
            timedelta(minutes=10),
            id="sustained",
        ),
    ],
)
def test_rate_rule_holds_the_signatures_over_its_limit_from_one_ip(
    app: Flask,
    reason: str,
    settings: dict[str, int],
    limit: int,
    first: timedelta,
    spacing: timedelta,
) -> None:
    app.config.update(settings)
    campaign = create_campaign()
    start = utcnow() + first
    ids = [
        create_signature(campaign, ip="203.0.113.7", created_at=start + spacing * i).id
        for i in range(5)
    ]

    # Every one of them is emailed: people behind one address lose nothing.
    assert validate_signatures(ids) == 5

    for signature_id in ids[:limit]:
        s = reload(signature_id)
        assert (s.state, s.fraud_reason, s.hold_reason) == (SignatureState.pending, None, None)
    for signature_id in ids[limit:]:
        assert_held_for_review(signature_id, reason)
    assert len(sent_mail(app)) == 5


def test_rate_burst_is_counted_per_ip_and_per_campaign(app: Flask) -> None:
    app.config["RATE_BURST_LIMIT"] = 3
    campaign = create_campaign()
    other_campaign = create_campaign()
    now = utcnow()
    same_ip = [
        create_signature(campaign, ip="203.0.113.7", created_at=now + timedelta(seconds=i)).id
        for i in range(3)
    ]
    other_ip = create_signature(campaign, ip="203.0.113.8", created_at=now).id
    other_campaign_ids = [
        create_signature(other_campaign, ip="203.0.113.7", created_at=now).id for _ in range(3)
    ]
    no_ip = create_signature(campaign, ip=None, created_at=now).id

    ids = [*same_ip, other_ip, *other_campaign_ids, no_ip]
    assert validate_signatures(ids) == len(ids)

    assert all(reload(i).state is SignatureState.pending for i in ids)

    # Now the fourth from the same IP on the first campaign is over the limit.
    fourth = create_signature(campaign, ip="203.0.113.7").id
    assert validate_signatures([fourth]) == 1
    assert_held_for_review(fourth, "rate_burst")


def test_signatures_older_than_the_window_do_not_count(app: Flask) -> None:
    app.config["RATE_BURST_LIMIT"] = 3
    window = app.config["RATE_BURST_SECONDS"]
    campaign = create_campaign()
    old = utcnow() - timedelta(seconds=window * 2)
    for i in range(3):
        create_signature(campaign, ip="198.51.100.1", created_at=old + timedelta(seconds=i))
    now = utcnow()
    recent = [
        create_signature(campaign, ip="198.51.100.1", created_at=now + timedelta(seconds=i)).id
        for i in range(4)
    ]

    validate_signatures(recent)

    assert [reload(i).hold_reason for i in recent[:3]] == [None] * 3
    assert_held_for_review(recent[3], "rate_burst")


# --- "already signed" --------------------------------------------------------


def test_duplicate_signature_gets_one_already_signed_email_per_day(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    campaign = create_campaign()
    signature = create_signature(campaign, email="rami@example.org", checked=True)

    assert notify_duplicate_signatures([signature.id]) == 1
    assert notify_duplicate_signatures([signature.id]) == 0
    assert notify_duplicate_signatures([signature.id, signature.id]) == 0

    logs = email_logs()
    today = utcnow().date().isoformat()
    assert [(e.kind, e.dedupe_key, e.status) for e in logs] == [
        (EmailKind.already_signed, f"already_signed:{signature.id}:{today}", EmailStatus.sent)
    ]
    (message,) = sent_mail(app)
    assert message["To"] == "rami@example.org"
    assert "already signed" in str(message["Subject"])
    # Not confirmed yet: the email carries the confirmation link again.
    assert f"{app.config['SITE_URL']}/en/confirm/" in text_body(message)

    tomorrow = utcnow() + timedelta(days=1)
    monkeypatch.setattr(validation, "utcnow", lambda: tomorrow)
    assert notify_duplicate_signatures([signature.id]) == 1
    assert len(sent_mail(app)) == 2


def test_already_signed_email_for_a_validated_signature_says_it_is_counted(app: Flask) -> None:
    campaign = create_campaign()
    signature = create_signature(campaign, state=SignatureState.validated)

    assert notify_duplicate_signatures([signature.id]) == 1

    (message,) = sent_mail(app)
    body = text_body(message)
    assert "already confirmed" in body
    assert "/confirm/" not in body


@pytest.mark.parametrize(
    ("state", "checked"),
    [
        (SignatureState.fraudulent, True),
        (SignatureState.invalidated, True),
        (SignatureState.pending, False),
    ],
)
def test_no_already_signed_email_for_fraudulent_or_unchecked(
    app: Flask, state: SignatureState, checked: bool
) -> None:
    campaign = create_campaign()
    signature = create_signature(campaign, state=state, checked=checked)

    assert notify_duplicate_signatures([signature.id]) == 0

    assert email_logs() == []
    assert sent_mail(app) == []


# --- the stale sweep ---------------------------------------------------------


def test_requeue_stale_signatures_only_takes_lost_pending_unchecked_ones(app: Flask) -> None:
    campaign = create_campaign()
    long_ago = utcnow() - timedelta(minutes=10)
    just_now = utcnow() - timedelta(minutes=1)
    lost = create_signature(campaign, ip=None, created_at=long_ago).id
    young = create_signature(campaign, ip=None, created_at=just_now).id
    checked = create_signature(campaign, ip=None, created_at=long_ago, checked=True).id
    validated = create_signature(
        campaign, ip=None, created_at=long_ago, state=SignatureState.validated
    ).id
    fraudulent = create_signature(
        campaign, ip=None, created_at=long_ago, state=SignatureState.fraudulent, checked=False
    ).id
    waiting = create_signature(campaign, ip=None, created_at=long_ago).id
    enqueue("validate_signature", waiting)
    db.session.commit()
    before = {i: snapshot(i) for i in (young, checked, validated, fraudulent)}

    assert requeue_stale_signatures() == 1

    assert outbox_rows() == sorted(
        [("validate_signature", lost), ("validate_signature", waiting)]
    )
    # A second sweep finds them already in the outbox.
    assert requeue_stale_signatures() == 0
    assert len(outbox_rows()) == 2

    assert relay_outbox() == 2
    assert outbox_rows() == []
    assert reload(lost).checked_at is not None
    assert reload(waiting).checked_at is not None
    assert sorted(e.signature_id or 0 for e in email_logs()) == sorted([lost, waiting])
    assert {i: snapshot(i) for i in before} == before
    assert requeue_stale_signatures() == 0


def test_requeue_stale_signatures_respects_its_limit(app: Flask) -> None:
    campaign = create_campaign()
    long_ago = utcnow() - timedelta(minutes=10)
    for _ in range(3):
        create_signature(campaign, ip=None, created_at=long_ago)

    assert requeue_stale_signatures(limit=2) == 2
    assert requeue_stale_signatures(limit=2) == 1
    assert requeue_stale_signatures(limit=2) == 0
    assert len(outbox_rows()) == 3


# --- the outbox relay and the whole chain ------------------------------------


def test_relay_outbox_publishes_and_deletes_rows(app: Flask) -> None:
    campaign = create_campaign()
    # More than one chunk of the relay (50 ids per task message).
    ids = [create_signature(campaign, ip=None).id for _ in range(55)]
    duplicate = create_signature(campaign, ip=None, checked=True).id
    for signature_id in ids:
        enqueue("validate_signature", signature_id)
    enqueue("notify_duplicate_signature", duplicate)
    db.session.commit()

    assert relay_outbox() == 56

    assert outbox_rows() == []
    assert all(reload(i).checked_at is not None for i in ids)
    logs = email_logs()
    confirmed = [e.signature_id or 0 for e in logs if e.kind is EmailKind.confirm]
    assert sorted(confirmed) == sorted(ids)
    assert [e.signature_id for e in logs if e.kind is EmailKind.already_signed] == [duplicate]
    assert all(e.status is EmailStatus.sent for e in logs)
    assert len(sent_mail(app)) == 56
    # Nothing left to publish; publishing again would change nothing anyway.
    assert relay_outbox() == 0
    assert len(sent_mail(app)) == 56


def test_relay_outbox_respects_its_limit(app: Flask) -> None:
    campaign = create_campaign()
    ids = [create_signature(campaign, ip=None).id for _ in range(3)]
    for signature_id in ids:
        enqueue("validate_signature", signature_id)
    db.session.commit()

    assert relay_outbox(limit=2) == 2
    assert outbox_rows() == [("validate_signature", ids[2])]
    assert relay_outbox(limit=2) == 1
    assert outbox_rows() == []


def test_enqueue_refuses_unknown_tasks(app: Flask) -> None:
    with pytest.raises(ValueError, match="unknown outbox task"):
        enqueue("drop_everything", 1)


def test_sign_relay_validate_email_confirm_count(app: Flask) -> None:
    campaign = create_campaign()
    data = SignatureInput(
        full_name="  Hasan   Kurdi ",
        email="Hasan.Kurdi@Example.org",
        country="TR",
        region="Gaziantep",
    )

    sign_campaign(campaign, data, locale="en", client_ip="192.0.2.10")
    db.session.commit()
    (signature_id,) = db.session.scalars(select(Signature.id)).all()
    assert outbox_rows() == [("validate_signature", signature_id)]
    assert sent_mail(app) == []  # nothing is sent before the relay runs

    assert relay_outbox() == 1

    assert outbox_rows() == []
    assert reload(signature_id).checked_at is not None
    (message,) = sent_mail(app)
    # The domain is case-insensitive and normalized; the local part is kept.
    assert message["To"] == "Hasan.Kurdi@example.org"
    body = text_body(message)
    assert "Hasan Kurdi" in body
    url = next(w for w in body.split() if "/confirm/" in w)
    assert url.startswith(f"{app.config['SITE_URL']}/en/confirm/")
    path = url[len(app.config["SITE_URL"]) :]

    client = app.test_client()
    assert client.get(path).status_code == 200
    assert reload(signature_id).state is SignatureState.pending  # a GET changes nothing
    response = client.post(path)
    assert response.status_code == 303
    s = reload(signature_id)
    assert s.state is SignatureState.validated
    assert s.validated_at is not None

    assert update_signature_counts() == 1
    count = client.get(f"/api/v1/campaigns/{campaign.slug}/count").get_json()
    assert (count["total"], count["signers"]) == (1, 1)

    # The same person signs again (other spelling): one "already signed"
    # email saying the signature is counted, no second signature.
    sign_campaign(
        campaign,
        SignatureInput(full_name="H K", email="hasan.kurdi@example.org", country="TR", region=""),
        locale="en",
        client_ip="192.0.2.11",
    )
    db.session.commit()
    assert outbox_rows() == [("notify_duplicate_signature", signature_id)]
    assert relay_outbox() == 1
    assert db.session.scalar(select(func.count()).select_from(Signature)) == 1
    messages = sent_mail(app)
    assert len(messages) == 2
    (again,) = [m for m in messages if "already signed" in str(m["Subject"])]
    assert again["To"] == "Hasan.Kurdi@example.org"
    assert "already confirmed" in text_body(again)
    assert [e.kind for e in email_logs()] == [EmailKind.confirm, EmailKind.already_signed]


def test_fraudulent_signature_through_the_chain_sends_nothing(app: Flask) -> None:
    campaign = create_campaign()
    bot = SignatureInput(full_name="Bot", email="bot@mailinator.com", country="SY", region="")
    sign_campaign(campaign, bot, locale="ar", client_ip="192.0.2.66")
    db.session.commit()

    assert relay_outbox() == 1

    (signature_id,) = db.session.scalars(select(Signature.id)).all()
    assert_silently_fraudulent(app, signature_id, "disposable_domain")
    assert sent_mail(app) == []

    # Signing again with the same address: still silence.
    sign_campaign(campaign, bot, locale="ar", client_ip="192.0.2.66")
    db.session.commit()
    assert relay_outbox() == 1
    assert sent_mail(app) == []
    assert email_logs() == []


def test_sweep_rescues_a_signature_whose_outbox_row_was_lost(app: Flask) -> None:
    campaign = create_campaign()
    sign_campaign(
        campaign,
        SignatureInput(full_name="Lost", email="lost@example.org", country="SY", region=""),
        locale="en",
        client_ip=None,
    )
    db.session.commit()
    # The task was lost (say the broker lost it after the relay deleted the
    # row), and the signature is now six minutes old.
    db.session.execute(delete(OutboxMessage))
    db.session.execute(update(Signature).values(created_at=utcnow() - timedelta(minutes=6)))
    db.session.commit()
    assert requeue_stale_signatures() == 1
    assert relay_outbox() == 1

    (message,) = sent_mail(app)
    assert message["To"] == "lost@example.org"
