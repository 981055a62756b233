"""Sending an update: exactly the consenting validated signers, each in their
language, exactly once, with a working way to unsubscribe."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from campaigns.extensions import db
from campaigns.mail.services import deliver_emails
from campaigns.models import (
    Campaign,
    CampaignUpdate,
    EmailKind,
    EmailLog,
    EmailStatus,
    JobLock,
    Signature,
    SignatureState,
    UpdateState,
)
from campaigns.models.types import utcnow
from campaigns.updates.services import (
    STALE_AFTER,
    decide_update_batch,
    resume_stale_updates,
    send_update,
    start_sending,
)
from campaigns.updates.unsubscribe import make_unsubscribe_token
from tests.factories import create_campaign, create_signature

from .support import plain_body, recipients, sent_mail

TEXTS = {
    "ar": {"subject": "أخبار نحن أشجار الزيتون", "body": "زرعنا الأشجار.\n\nشكراً لكم."},
    "en": {"subject": "News from the olive trees", "body": "We planted the trees.\n\nThank you."},
}


def new_update(
    campaign: Campaign, texts: dict[str, dict[str, str]] | None = None
) -> CampaignUpdate:
    item = CampaignUpdate(campaign_id=campaign.id, texts=texts or TEXTS)
    db.session.add(item)
    db.session.commit()
    return item


def begin(item: CampaignUpdate) -> None:
    start_sending(item)
    db.session.commit()


def validated(campaign: Campaign, email: str, locale: str, contact_ok: bool = True) -> Signature:
    return create_signature(
        campaign, state=SignatureState.validated, email=email, locale=locale, contact_ok=contact_ok
    )


@pytest.fixture
def campaign(app: Flask) -> Campaign:
    return create_campaign(slug="olive-trees")


def test_an_update_reaches_exactly_the_consenting_validated_signers_in_their_language(
    app: Flask, campaign: Campaign
) -> None:
    validated(campaign, "arabic@example.org", "ar")
    validated(campaign, "english@example.org", "en")
    validated(campaign, "kurdish@example.org", "ku")  # no Kurdish text: Arabic
    validated(campaign, "silent@example.org", "en", contact_ok=False)
    for state in (SignatureState.pending, SignatureState.fraudulent, SignatureState.invalidated):
        create_signature(campaign, state=state, email=f"{state.value}@example.org", contact_ok=True)
    validated(create_campaign(), "elsewhere@example.org", "en")
    item = new_update(campaign)

    begin(item)
    assert send_update(item.id) == 3

    messages = {str(m["To"]): m for m in sent_mail(app)}
    assert sorted(messages) == [
        "arabic@example.org", "english@example.org", "kurdish@example.org"
    ]
    english = messages["english@example.org"]
    assert english["Subject"] == "News from the olive trees"
    assert english["Content-Language"] == "en"
    assert "We planted the trees." in plain_body(english)
    for address in ("arabic@example.org", "kurdish@example.org"):
        message = messages[address]
        assert message["Subject"] == "أخبار نحن أشجار الزيتون"
        assert message["Content-Language"] == "ar"
        assert "زرعنا الأشجار." in plain_body(message)
    for message in messages.values():
        link = str(message["List-Unsubscribe"]).strip("<>")
        assert link.startswith("http://zaytoun.test/")
        assert "/unsubscribe/" in link and link in plain_body(message)
        assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    # As sent: plain header lines that mail providers can act on (RFC 8058).
    for raw in Path(app.config["MAIL_OUTBOX_DIR"]).glob("*.eml"):
        assert b"\nList-Unsubscribe: <http://zaytoun.test/" in raw.read_bytes()
        assert b"\nList-Unsubscribe-Post: List-Unsubscribe=One-Click\n" in raw.read_bytes()
    # The signer's own page language in the link, even when the text fell back.
    assert "/ku/unsubscribe/" in str(messages["kurdish@example.org"]["List-Unsubscribe"])

    db.session.refresh(item)
    assert item.state is UpdateState.sent and item.sent_at is not None
    assert item.recipients == 3
    assert db.session.get(JobLock, f"update:{item.id}") is None
    logged = db.session.execute(
        select(EmailLog.kind, EmailLog.update_id, EmailLog.status, EmailLog.dedupe_key)
    ).all()
    assert {(k, u, s) for k, u, s, _ in logged} == {(EmailKind.update, item.id, EmailStatus.sent)}
    assert all(key.startswith(f"update:{item.id}:") for *_, key in logged)


def _unsubscribe_path(message: object) -> str:
    return urlsplit(str(message["List-Unsubscribe"]).strip("<>")).path  # type: ignore[index]


def _contact_ok(signature_id: int) -> bool:
    db.session.rollback()
    return bool(db.session.get(Signature, signature_id, populate_existing=True).contact_ok)


def test_the_unsubscribe_link_shows_a_button_and_only_the_post_unsubscribes(
    app: Flask, client: FlaskClient, campaign: Campaign
) -> None:
    signer = validated(campaign, "english@example.org", "en")
    other = validated(campaign, "other@example.org", "en")
    item = new_update(campaign)
    begin(item)
    send_update(item.id)
    [message] = [m for m in sent_mail(app) if m["To"] == "english@example.org"]
    path = _unsubscribe_path(message)

    page = client.get(path)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert '<html lang="en"' in html
    assert "Stop updates" in html and campaign.texts["en"].title in html
    assert page.headers["Cache-Control"] == "no-store"
    assert client.head(path).status_code == 200
    assert _contact_ok(signer.id)

    done = client.post(path)
    assert done.status_code == 200
    assert "You will receive no more updates" in done.get_data(as_text=True)
    assert not _contact_ok(signer.id)
    assert _contact_ok(other.id)
    # Twice is harmless.
    assert client.post(path).status_code == 200

    second = new_update(campaign)
    begin(second)
    send_update(second.id)
    assert recipients(sent_mail(app)) == [
        "english@example.org", "other@example.org", "other@example.org"
    ]


def test_the_one_click_post_works_without_a_csrf_token(
    app: Flask, client: FlaskClient, campaign: Campaign
) -> None:
    signer = validated(campaign, "english@example.org", "en")
    app.config["WTF_CSRF_ENABLED"] = True
    # CSRF protection is on for everything else.
    assert client.post("/console/login", data={"email": "x@example.org"}).status_code == 400
    path = f"/en/unsubscribe/{make_unsubscribe_token(signer.uuid)}"
    response = client.post(
        path,
        data="List-Unsubscribe=One-Click",
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 200
    assert not _contact_ok(signer.id)


def test_a_tampered_or_unknown_link_changes_nothing(
    client: FlaskClient, campaign: Campaign
) -> None:
    signer = validated(campaign, "english@example.org", "en")
    token = make_unsubscribe_token(signer.uuid)
    tampered = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    for path in (f"/en/unsubscribe/{tampered}", "/en/unsubscribe/nonsense"):
        assert client.get(path).status_code == 404
        assert client.post(path).status_code == 404
    assert _contact_ok(signer.id)


def _count_by_recipient(app: Flask) -> Counter[str]:
    return Counter(str(m["To"]) for m in sent_mail(app))


def test_running_the_send_task_twice_sends_each_email_once(app: Flask, campaign: Campaign) -> None:
    for n in range(7):
        validated(campaign, f"signer{n}@example.org", "ar")
    item = new_update(campaign)
    begin(item)
    assert send_update(item.id, batch=3) == 7
    assert send_update(item.id, batch=3) == 0
    assert set(_count_by_recipient(app).values()) == {1}
    assert len(_count_by_recipient(app)) == 7


def test_a_restart_mid_way_sends_each_email_once(app: Flask, campaign: Campaign) -> None:
    """A worker that decided one batch and died before sending it: the next run
    sends that batch and the rest, nobody twice."""
    for n in range(7):
        validated(campaign, f"signer{n}@example.org", "en")
    item = new_update(campaign)
    begin(item)
    decided, done = decide_update_batch(item.id, batch=3)
    assert len(decided) == 3 and not done
    assert sent_mail(app) == []

    assert send_update(item.id, batch=3) == 7
    counts = _count_by_recipient(app)
    assert len(counts) == 7 and set(counts.values()) == {1}
    db.session.refresh(item)
    assert item.state is UpdateState.sent and item.recipients == 7

    # A late duplicate of the task, and a stale batch decided again: nothing new.
    assert send_update(item.id, batch=3) == 0
    assert decide_update_batch(item.id, batch=3) == ([], True)
    assert len(sent_mail(app)) == 7


def test_a_long_update_is_handed_to_a_fresh_task_and_sent_once(
    app: Flask, campaign: Campaign
) -> None:
    for n in range(7):
        validated(campaign, f"signer{n}@example.org", "ar")
    item = new_update(campaign)
    begin(item)
    # Out of time after the first batch: the rest goes to the next task (which
    # runs in-process here) — each signer still gets exactly one email.
    assert send_update(item.id, batch=2, budget_seconds=0) == 2
    counts = _count_by_recipient(app)
    assert len(counts) == 7 and set(counts.values()) == {1}
    db.session.rollback()
    assert db.session.get(CampaignUpdate, item.id).state is UpdateState.sent


def test_a_signer_who_unsubscribes_after_the_decision_gets_nothing(
    app: Flask, campaign: Campaign
) -> None:
    signer = validated(campaign, "english@example.org", "en")
    item = new_update(campaign)
    begin(item)
    decided, _ = decide_update_batch(item.id)
    signer = db.session.get(Signature, signer.id)
    signer.contact_ok = False
    db.session.commit()
    assert deliver_emails(decided) == 0
    assert sent_mail(app) == []
    email = db.session.get(EmailLog, decided[0])
    assert email.status is EmailStatus.failed and email.last_error == "no longer a recipient"


def test_only_a_stalled_sending_is_handed_over_again(campaign: Campaign) -> None:
    stalled = new_update(campaign)
    begin(stalled)
    lively = new_update(campaign)
    begin(lively)
    new_update(campaign)  # a draft
    db.session.get(JobLock, f"update:{stalled.id}").last_run_at = utcnow() - STALE_AFTER * 2
    db.session.commit()
    assert resume_stale_updates() == [stalled.id]
    # Handed over: its heartbeat is fresh again.
    assert resume_stale_updates() == []


def test_the_send_task_is_an_update_job_run_by_the_workers(app: Flask, campaign: Campaign) -> None:
    validated(campaign, "english@example.org", "en")
    item = new_update(campaign)
    begin(item)
    # A lost task message: the periodic sweep hands the update over again.
    db.session.get(JobLock, f"update:{item.id}").last_run_at = utcnow() - STALE_AFTER * 2
    db.session.commit()
    celery = app.extensions["celery"]
    assert celery.tasks["zaytoun.requeue_stale_work"].apply().get() == 1
    assert recipients(sent_mail(app)) == ["english@example.org"]
    db.session.rollback()
    assert db.session.get(CampaignUpdate, item.id).state is UpdateState.sent
    schedule = celery.conf.beat_schedule
    assert schedule["requeue-stale-work"]["task"] == "zaytoun.requeue_stale_work"
