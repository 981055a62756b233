"""Two people to open personal data (issue 15, item 5): exporting signatures,
showing names in moderation and the delivery document with full names take a
request with a reason, a second admin's approval, and a one-time grant that
works once, for a short time; the requester never approves their own."""

from __future__ import annotations

import hashlib
import json
import re
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from flask_babel import force_locale, gettext
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from campaigns.accounts.services import create_user
from campaigns.extensions import db
from campaigns.models import (
    AuditEntry,
    DisclosureKind,
    DisclosureRequest,
    DisclosureState,
    Role,
    SignatureState,
    User,
)
from campaigns.models.types import utcnow
from tests.factories import create_signature, give_second_factor
from tests.moderation.support import PASSWORD, Console, logged_in, make_console, signature
from tests.security.routes_support import quick_delivery_document

TOKEN_FIELD = re.compile(r'name="token" value="([^"]+)"')
SIGNER_NAME = "Rima Canary-Halabi"
SIGNER_EMAIL = "rima.canary@example.org"
REASON = "The UN office asked for the signed list on Monday"


@pytest.fixture
def rule_on(app: Flask) -> Flask:
    app.config["TWO_PERSON_DISCLOSURE"] = True
    return app


def _second_admin(console: Console) -> User:
    admin = create_user(
        "second.admin@zaytoun.test", "Second admin", PASSWORD, Role.admin,
        console.campaign.organization,
    )
    give_second_factor(admin)
    db.session.commit()
    return admin


def _world(app: Flask) -> tuple[Console, FlaskClient, FlaskClient]:
    console = make_console()
    create_signature(
        console.campaign,
        state=SignatureState.validated,
        name=SIGNER_NAME,
        email=SIGNER_EMAIL,
        deliver_name=True,
    )
    second = _second_admin(console)
    return console, logged_in(app, console.admin), logged_in(app, second)


def _ask(client: FlaskClient, kind: str, slug: str, reason: str = REASON) -> Any:
    return client.post(
        "/console/disclosures/new", data={"kind": kind, "campaign": slug, "reason": reason}
    )


def _requests() -> list[DisclosureRequest]:
    db.session.rollback()
    db.session.expire_all()
    query = select(DisclosureRequest).order_by(DisclosureRequest.id)
    return list(db.session.execute(query).scalars())


def _only_request() -> DisclosureRequest:
    [item] = _requests()
    return item


def _grant(client: FlaskClient, item_id: int) -> str:
    page = client.post(f"/console/disclosures/{item_id}/grant")
    assert page.status_code == 200, page.status_code
    assert page.headers["Cache-Control"] == "no-store"
    found = TOKEN_FIELD.search(page.get_data(as_text=True))
    assert found is not None
    return found.group(1)


def _use(client: FlaskClient, item_id: int, token: str, **extra: str) -> Any:
    return client.post(f"/console/disclosures/{item_id}/use", data={"token": token, **extra})


def _audit() -> list[AuditEntry]:
    db.session.rollback()
    return list(db.session.execute(select(AuditEntry).order_by(AuditEntry.id)).scalars())


def _translated(app: Flask, message: str, lang: str) -> str:
    with app.test_request_context(), force_locale(lang):
        return gettext(message)


def test_an_export_waits_for_a_second_admin_and_works_exactly_once(rule_on: Flask) -> None:
    app = rule_on
    console, first, second = _world(app)
    slug = console.campaign.slug

    # The direct way is closed, and the exports page offers the request instead.
    direct = first.post(f"/console/campaigns/{slug}/exports/signatures.csv")
    assert direct.status_code == 403 and SIGNER_EMAIL not in direct.get_data(as_text=True)
    page = first.get(f"/console/campaigns/{slug}/exports").get_data(as_text=True)
    assert "/exports/signatures.csv" not in page and 'value="export_personal"' in page

    assert _ask(first, "export_personal", slug).status_code == 303
    item = _only_request()
    assert (item.kind, item.state, item.reason) == (
        DisclosureKind.export_personal, DisclosureState.requested, REASON,
    )
    # Not approved yet: no grant, and no download with any token.
    assert first.post(f"/console/disclosures/{item.id}/grant").status_code == 403
    assert _use(first, item.id, "guess").status_code == 403
    assert _only_request().grant_hash is None

    assert second.post(f"/console/disclosures/{item.id}/approve").status_code == 303
    item = _only_request()
    assert item.state is DisclosureState.approved
    assert item.decided_by_id != item.requester_id

    # The approver cannot collect the grant: only the requester can.
    assert second.post(f"/console/disclosures/{item.id}/grant").status_code == 403
    token = _grant(first, item.id)
    item = _only_request()
    assert item.grant_hash == hashlib.sha256(token.encode()).digest()
    assert item.grant_expires_at is not None
    seconds = (item.grant_expires_at - utcnow()).total_seconds()
    assert 800 < seconds <= 900
    # Shown once: a second collection is refused.
    assert first.post(f"/console/disclosures/{item.id}/grant").status_code == 409
    # Someone else holding the token gets nothing.
    assert _use(second, item.id, token).status_code == 403
    assert _use(first, item.id, token + "x").status_code == 403

    download = _use(first, item.id, token)
    assert download.status_code == 200 and download.mimetype == "text/csv"
    assert SIGNER_EMAIL in download.get_data(as_text=True)
    assert _only_request().state is DisclosureState.used

    again = first.post(
        f"/console/disclosures/{item.id}/use",
        data={"token": token},
        headers={"Accept-Language": "tr"},
    )
    body = again.get_data(as_text=True)
    assert again.status_code == 410
    assert SIGNER_EMAIL not in body
    english = "This one-time link has already been used. Please ask again."
    turkish = _translated(app, english, "tr")
    assert turkish != english and turkish in body

    # Everything is audited, and no entry holds personal data, the reason or the grant.
    actions = [e.action for e in _audit()]
    for action in (
        "disclosure_requested", "disclosure_approved", "disclosure_grant_issued",
        "disclosure_used", "export_signatures", "disclosure_grant_refused",
    ):
        assert action in actions, action
    [export] = [e for e in _audit() if e.action == "export_signatures"]
    assert export.details["disclosure"] == item.id
    details = json.dumps([e.details for e in _audit()], ensure_ascii=False)
    for secret in (SIGNER_NAME, SIGNER_EMAIL, REASON, token):
        assert secret not in details
    # The audit log reads each step as a sentence, in the reader's language.
    log = second.get("/console/audit", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "does not describe" not in log
    assert "used a one-time link to open personal data" in log
    assert "approved a request to open personal data" in log
    # The token itself is stored nowhere (only its hash).
    assert all(token not in str(getattr(item, c.name)) for c in DisclosureRequest.__table__.columns)


def test_the_requester_cannot_approve_their_own_request(rule_on: Flask) -> None:
    console, first, _second = _world(rule_on)
    assert _ask(first, "export_personal", console.campaign.slug).status_code == 303
    item = _only_request()
    # Not offered on the page, and refused when posted anyway.
    page = first.get("/console/disclosures").get_data(as_text=True)
    assert f"/console/disclosures/{item.id}/approve" not in page
    for action in ("approve", "refuse"):
        answer = first.post(f"/console/disclosures/{item.id}/{action}")
        assert answer.status_code == 403
        assert _only_request().state is DisclosureState.requested
    # Organizers never decide.
    organizer = logged_in(rule_on, console.organizer)
    assert organizer.post(f"/console/disclosures/{item.id}/approve").status_code in (403, 404)
    assert _only_request().state is DisclosureState.requested
    # The database refuses it too.
    with pytest.raises(IntegrityError):
        db.session.execute(
            update(DisclosureRequest)
            .where(DisclosureRequest.id == item.id)
            .values(state=DisclosureState.approved, decided_by_id=item.requester_id)
        )
        db.session.flush()
    db.session.rollback()


def test_a_refused_request_gives_nothing(rule_on: Flask) -> None:
    console, first, second = _world(rule_on)
    _ask(first, "export_personal", console.campaign.slug)
    item = _only_request()
    assert second.post(f"/console/disclosures/{item.id}/refuse").status_code == 303
    assert _only_request().state is DisclosureState.refused
    # Deciding twice is refused.
    assert second.post(f"/console/disclosures/{item.id}/approve").status_code == 409
    assert first.post(f"/console/disclosures/{item.id}/grant").status_code == 403
    answer = _use(first, item.id, "anything")
    assert answer.status_code == 403 and SIGNER_EMAIL not in answer.get_data(as_text=True)
    assert _only_request().state is DisclosureState.refused
    assert "disclosure_refused" in [e.action for e in _audit()]


def test_an_expired_grant_opens_nothing(rule_on: Flask) -> None:
    console, first, second = _world(rule_on)
    _ask(first, "export_personal", console.campaign.slug)
    item = _only_request()
    second.post(f"/console/disclosures/{item.id}/approve")
    token = _grant(first, item.id)
    db.session.execute(
        update(DisclosureRequest)
        .where(DisclosureRequest.id == item.id)
        .values(grant_expires_at=utcnow() - timedelta(seconds=1))
    )
    db.session.commit()
    answer = _use(first, item.id, token)
    assert answer.status_code == 410 and SIGNER_EMAIL not in answer.get_data(as_text=True)
    assert _only_request().state is DisclosureState.expired
    assert _use(first, item.id, token).status_code == 410


def test_an_approval_not_collected_in_time_lapses(rule_on: Flask) -> None:
    rule_on.config["DISCLOSURE_COLLECT_SECONDS"] = 3600
    console, first, second = _world(rule_on)
    _ask(first, "export_personal", console.campaign.slug)
    item = _only_request()
    second.post(f"/console/disclosures/{item.id}/approve")
    db.session.execute(
        update(DisclosureRequest)
        .where(DisclosureRequest.id == item.id)
        .values(decided_at=utcnow() - timedelta(seconds=3601))
    )
    db.session.commit()
    answer = first.post(f"/console/disclosures/{item.id}/grant?lang=en")
    assert answer.status_code == 410
    assert "not taken in time" in answer.get_data(as_text=True)
    assert _only_request().grant_hash is None
    assert "expired" in first.get("/console/disclosures?lang=en").get_data(as_text=True).lower()
    # Within the time, the same approval gives its link.
    db.session.execute(
        update(DisclosureRequest)
        .where(DisclosureRequest.id == item.id)
        .values(decided_at=utcnow() - timedelta(seconds=3500))
    )
    db.session.commit()
    assert _grant(first, item.id)


def test_a_grant_lasts_the_configured_time(rule_on: Flask) -> None:
    rule_on.config["DISCLOSURE_USE_SECONDS"] = 60
    console, first, second = _world(rule_on)
    _ask(first, "export_personal", console.campaign.slug)
    item = _only_request()
    second.post(f"/console/disclosures/{item.id}/approve")
    _grant(first, item.id)
    expires = _only_request().grant_expires_at
    assert expires is not None and 0 < (expires - utcnow()).total_seconds() <= 60


def test_names_in_moderation_are_shown_once_after_approval(rule_on: Flask) -> None:
    console, first, second = _world(rule_on)
    flagged = signature(
        console.campaign, state=SignatureState.fraudulent, fraud_reason="rate_burst",
        name="Flagged Canary", email="flagged.canary@example.org",
    )
    slug = console.campaign.slug
    queue = first.get(f"/console/moderation/campaigns/{slug}?personal=1").get_data(as_text=True)
    assert "Flagged Canary" not in queue and "kind=reveal_names" in queue
    assert not [e for e in _audit() if e.action == "signer_viewed"]

    _ask(first, "reveal_names", slug)
    item = _only_request()
    second.post(f"/console/disclosures/{item.id}/approve")
    token = _grant(first, item.id)
    shown = _use(first, item.id, token)
    assert shown.status_code == 200 and "Flagged Canary" in shown.get_data(as_text=True)
    [viewed] = [e for e in _audit() if e.action == "signer_viewed"]
    assert viewed.target_id == str(flagged.id) and viewed.details["disclosure"] == item.id
    again = _use(first, item.id, token)
    assert again.status_code == 410 and "Flagged Canary" not in again.get_data(as_text=True)


def test_an_organizer_asks_for_the_delivery_document_and_an_admin_approves(
    rule_on: Flask,
) -> None:
    console, admin, _second = _world(rule_on)
    organizer = logged_in(rule_on, console.organizer)
    slug = console.campaign.slug
    with quick_delivery_document():
        assert organizer.post(f"/console/campaigns/{slug}/exports/delivery.pdf").status_code == 403
    # Organizers may not ask for the export with personal data, nor about other campaigns.
    assert _ask(organizer, "export_personal", slug).status_code in (403, 422)
    assert _ask(organizer, "delivery_names", console.other_campaign.slug).status_code in (
        403, 404, 422,
    )
    assert _requests() == []
    assert _ask(organizer, "delivery_names", slug).status_code == 303
    item = _only_request()
    # The organizer's request is invisible to another organizer.
    other = logged_in(rule_on, console.other_organizer)
    assert other.post(f"/console/disclosures/{item.id}/grant").status_code == 404
    assert admin.post(f"/console/disclosures/{item.id}/approve").status_code == 303
    token = _grant(organizer, item.id)
    with quick_delivery_document():
        document = _use(organizer, item.id, token, lang="en")
        assert document.status_code == 200 and document.mimetype == "application/pdf"
        assert _use(organizer, item.id, token, lang="en").status_code == 410
    [entry] = [e for e in _audit() if e.action == "delivery_document"]
    assert entry.details["disclosure"] == item.id and entry.details["lang"] == "en"


@pytest.mark.parametrize("reason", ["", "   \n ", "x" * 501])
def test_a_request_needs_a_short_reason(rule_on: Flask, reason: str) -> None:
    console, first, _second = _world(rule_on)
    answer = _ask(first, "export_personal", console.campaign.slug, reason)
    assert answer.status_code == 422
    assert 'class="error-summary"' in answer.get_data(as_text=True)
    assert _requests() == []


def test_with_the_rule_off_one_person_opens_data_and_the_dashboard_warns(app: Flask) -> None:
    console, first, _second = _world(app)
    slug = console.campaign.slug
    dashboard = first.get("/console/", headers={"Accept-Language": "tr"}).get_data(as_text=True)
    warning = "Warning: one person can open personal data."
    assert _translated(app, warning, "tr") in dashboard
    download = first.post(f"/console/campaigns/{slug}/exports/signatures.csv")
    assert download.status_code == 200 and SIGNER_EMAIL in download.get_data(as_text=True)

    app.config["TWO_PERSON_DISCLOSURE"] = True
    dashboard = first.get("/console/", headers={"Accept-Language": "tr"}).get_data(as_text=True)
    assert _translated(app, warning, "tr") not in dashboard
    partner = logged_in(app, console.partner)
    app.config["TWO_PERSON_DISCLOSURE"] = False
    assert warning not in partner.get("/console/").get_data(as_text=True)
