"""The review queue: flagged and fraudulent signatures with what organizers
need to decide, personal data only for admins who ask (and audited), and the
effects of accepting and rejecting."""

from __future__ import annotations

import email
import email.policy
from email.message import EmailMessage
from pathlib import Path

from flask import Flask
from sqlalchemy import select

from campaigns.counting.services import campaign_count, update_signature_counts
from campaigns.extensions import db
from campaigns.models import EmailKind, EmailLog, Signature, SignatureState
from campaigns.signing.services import confirm_signature
from campaigns.signing.tokens import make_confirm_token

from .support import audit, fresh, logged_in, make_console, signature


def sent_mail(app: Flask) -> list[EmailMessage]:
    folder = Path(app.config["MAIL_OUTBOX_DIR"])
    return (
        [
            email.message_from_bytes(p.read_bytes(), policy=email.policy.default)
            for p in sorted(folder.glob("*.eml"))
        ]
        if folder.exists()
        else []
    )


def test_the_queue_lists_flagged_and_fraudulent_signatures_only(app: Flask) -> None:
    console = make_console()
    fraudulent = signature(
        console.campaign,
        state=SignatureState.fraudulent,
        fraud_reason="disposable_domain",
        country="DE",
    )
    flagged = signature(
        console.campaign, state=SignatureState.validated, flag_reason="trending_ip", country="TR"
    )
    signature(console.campaign, state=SignatureState.validated, country="LB")
    signature(console.campaign, state=SignatureState.invalidated, flag_reason="trending_ip")
    elsewhere = signature(
        console.other_campaign, state=SignatureState.fraudulent, fraud_reason="rate_burst"
    )
    page = logged_in(app, console.organizer).get("/console/moderation").get_data(as_text=True)
    for item in (fraudulent, flagged):
        assert f"/signatures/{item.uuid}/accept" in page
    assert page.count("/accept") == 2  # not the plain, the invalidated, the other org's
    assert f"/signatures/{elsewhere.uuid}/" not in page
    # Country, time and reason are shown (in the console's language).
    assert "ألمانيا" in page and "تركيا" in page
    assert f'datetime="{fraudulent.created_at.isoformat(timespec="seconds")}"' in page
    # Each part of the queue on its own.
    client = logged_in(app, console.organizer)
    flagged_only = client.get("/console/moderation?show=flagged").get_data(as_text=True)
    assert str(flagged.uuid) in flagged_only and str(fraudulent.uuid) not in flagged_only
    stopped_only = client.get("/console/moderation?show=fraudulent").get_data(as_text=True)
    assert str(fraudulent.uuid) in stopped_only and str(flagged.uuid) not in stopped_only
    # The other organizer sees their own campaign's signature, and only that.
    other = logged_in(app, console.other_organizer).get("/console/moderation")
    text = other.get_data(as_text=True)
    assert f"/signatures/{elsewhere.uuid}/accept" in text
    assert f"/signatures/{fraudulent.uuid}/" not in text


def test_the_campaign_queue_holds_that_campaign_only(app: Flask) -> None:
    console = make_console()
    mine = signature(console.campaign, state=SignatureState.fraudulent, fraud_reason="rate_burst")
    theirs = signature(
        console.other_campaign, state=SignatureState.fraudulent, fraud_reason="rate_burst"
    )
    admin = logged_in(app, console.admin, console)
    page = admin.get(f"/console/moderation/campaigns/{console.campaign.slug}").get_data(
        as_text=True
    )
    assert str(mine.uuid) in page and str(theirs.uuid) not in page
    everything = admin.get("/console/moderation").get_data(as_text=True)
    assert str(mine.uuid) in everything and str(theirs.uuid) in everything


def test_names_and_emails_are_shown_to_admins_who_ask_and_recorded(app: Flask) -> None:
    console = make_console()
    item = signature(
        console.campaign,
        state=SignatureState.fraudulent,
        fraud_reason="rate_burst",
        name="Rami Halabi",
        email="rami@example.org",
    )
    url = f"/console/moderation/campaigns/{console.campaign.slug}"
    organizer = logged_in(app, console.organizer)
    for path in (url, url + "?personal=1"):
        page = organizer.get(path).get_data(as_text=True)
        assert "Rami Halabi" not in page and "rami@example.org" not in page
    assert audit("signer_viewed") == []

    admin = logged_in(app, console.admin, console)
    page = admin.get(url).get_data(as_text=True)
    assert "Rami Halabi" not in page and "personal=1" in page
    assert audit("signer_viewed") == []
    page = admin.get(url + "?personal=1").get_data(as_text=True)
    assert "Rami Halabi" in page and "rami@example.org" in page
    [entry] = audit("signer_viewed")
    assert entry.user_id == console.admin.id
    assert entry.target_type == "signature" and entry.target_id == str(item.id)
    assert "Rami" not in str(entry.details) and "rami@" not in str(entry.details)


def test_accepting_a_fraudulent_signature_sends_its_confirmation(app: Flask) -> None:
    console = make_console()
    item = signature(
        console.campaign,
        state=SignatureState.fraudulent,
        fraud_reason="rate_burst",
        email="stopped@example.org",
        checked=False,
    )
    client = logged_in(app, console.organizer)
    response = client.post(
        f"/console/moderation/signatures/{item.uuid}/accept", data={"back": "campaign"}
    )
    assert response.status_code == 303
    assert response.headers["Location"].endswith(
        f"/console/moderation/campaigns/{console.campaign.slug}"
    )
    accepted = fresh(Signature, item.id)
    assert accepted.state is SignatureState.pending
    assert accepted.checked_at is not None
    assert accepted.fraud_reason is None and accepted.flag_reason is None
    [log] = db.session.execute(select(EmailLog)).scalars().all()
    assert (log.kind, log.dedupe_key) == (EmailKind.confirm, f"confirm:{item.id}")
    [message] = sent_mail(app)
    assert message["To"] == "stopped@example.org"
    [entry] = audit("signature_accepted")
    assert entry.user_id == console.organizer.id and entry.target_id == str(item.id)
    assert entry.details["reason"] == "rate_burst"
    # The signer can now confirm, and is counted.
    confirm_signature(make_confirm_token(item.uuid))
    db.session.commit()
    update_signature_counts()
    assert campaign_count(console.campaign.id).signers == 1
    # Accepting again is refused, and sends nothing more.
    again = client.post(f"/console/moderation/signatures/{item.uuid}/accept")
    assert again.status_code == 409
    assert len(sent_mail(app)) == 1


def test_accepting_a_flagged_signature_clears_the_flag_only(app: Flask) -> None:
    console = make_console()
    item = signature(console.campaign, state=SignatureState.validated, flag_reason="trending_ip")
    client = logged_in(app, console.admin, console)
    response = client.post(f"/console/moderation/signatures/{item.uuid}/accept")
    assert response.status_code == 303
    assert response.headers["Location"].endswith("/console/moderation")
    accepted = fresh(Signature, item.id)
    assert (accepted.state, accepted.flag_reason) == (SignatureState.validated, None)
    assert db.session.execute(select(EmailLog)).first() is None
    assert [e.details["reason"] for e in audit("signature_accepted")] == ["trending_ip"]
    page = client.get("/console/moderation").get_data(as_text=True)
    assert str(item.uuid) not in page


def test_rejecting_invalidates_and_the_counts_follow(app: Flask) -> None:
    console = make_console()
    flagged = signature(console.campaign, state=SignatureState.validated, flag_reason="trending_ip")
    signature(console.campaign, state=SignatureState.validated)
    fraudulent = signature(
        console.campaign, state=SignatureState.fraudulent, fraud_reason="rate_burst"
    )
    update_signature_counts()
    assert campaign_count(console.campaign.id).signers == 2
    client = logged_in(app, console.organizer)
    for item in (flagged, fraudulent):
        response = client.post(f"/console/moderation/signatures/{item.uuid}/reject")
        assert response.status_code == 303
        rejected = fresh(Signature, item.id)
        assert rejected.state is SignatureState.invalidated
        assert rejected.invalidated_at is not None
    assert [e.target_id for e in audit("signature_rejected")] == [
        str(flagged.id),
        str(fraudulent.id),
    ]
    update_signature_counts()
    assert campaign_count(console.campaign.id).signers == 1
    assert client.post(f"/console/moderation/signatures/{flagged.uuid}/reject").status_code == 409


def test_a_signature_not_under_review_cannot_be_decided(app: Flask) -> None:
    console = make_console()
    plain = signature(console.campaign, state=SignatureState.validated)
    client = logged_in(app, console.organizer)
    for action in ("accept", "reject"):
        response = client.post(f"/console/moderation/signatures/{plain.uuid}/{action}")
        assert response.status_code == 409
    assert fresh(Signature, plain.id).state is SignatureState.validated
    assert audit("signature_accepted") == [] and audit("signature_rejected") == []
    missing = "00000000-0000-4000-8000-000000000000"
    assert client.post(f"/console/moderation/signatures/{missing}/accept").status_code == 404
