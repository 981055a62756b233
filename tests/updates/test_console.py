"""The updates console: who may open which page, writing, previewing, sending."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from campaigns.extensions import db
from campaigns.models import (
    AuditEntry,
    Campaign,
    CampaignUpdate,
    EmailLog,
    OrganizationKind,
    Role,
    SignatureState,
    UpdateState,
)
from tests.console.confirming import post_confirmed
from tests.factories import create_campaign, create_organization, create_signature

from .support import log_in, make_account, sent_mail

ARABIC = {"subject_ar": "أخبار الحملة", "body_ar": "شكراً لكم.\n\nوصلنا إلى الهدف."}
ENGLISH = {"subject_en": "Campaign news", "body_en": "Thank you.\n\nWe reached the goal."}


@dataclass
class World:
    campaign: Campaign
    draft: CampaignUpdate


@pytest.fixture
def world(app: Flask) -> World:
    union = create_organization(slug="union")
    partner = create_organization(slug="partner", kind=OrganizationKind.partner)
    campaign = create_campaign(slug="olive-trees", organization=union)
    campaign.partners = [partner]
    draft = CampaignUpdate(
        campaign_id=campaign.id, texts={"ar": {"subject": "مسودة", "body": "نص"}}
    )
    db.session.add(draft)
    db.session.commit()
    return World(campaign, draft)


ACTORS = ["anonymous", "partner", "other_organizer", "organizer", "admin"]


def act_as(client: FlaskClient, actor: str, world: World) -> None:
    if actor == "anonymous":
        return
    owner = world.campaign.organization
    partner = world.campaign.partners[0]
    if actor == "partner":
        account = make_account("viewer@partner.example", Role.partner, partner)
    elif actor == "other_organizer":
        other = create_organization(slug="elsewhere")
        account = make_account("organizer@elsewhere.example", Role.organizer, other)
    elif actor == "organizer":
        account = make_account("organizer@union.example", Role.organizer, owner)
    else:
        account = make_account("admin@union.example", Role.admin, owner)
    log_in(client, account)


ROUTES = [
    ("GET", "/console/campaigns/{slug}/updates"),
    ("GET", "/console/campaigns/{slug}/updates/new"),
    ("POST", "/console/campaigns/{slug}/updates/new"),
    ("GET", "/console/campaigns/{slug}/updates/{update}"),
    ("GET", "/console/campaigns/{slug}/updates/{update}/edit"),
    ("POST", "/console/campaigns/{slug}/updates/{update}/edit"),
    ("POST", "/console/campaigns/{slug}/updates/{update}/send"),
]
EXPECTED = {"anonymous": 302, "partner": 403, "other_organizer": 404}


@pytest.mark.parametrize("actor", ACTORS)
@pytest.mark.parametrize(("method", "route"), ROUTES)
def test_who_may_use_each_route(
    client: FlaskClient, world: World, actor: str, method: str, route: str
) -> None:
    act_as(client, actor, world)
    url = route.format(slug=world.campaign.slug, update=world.draft.id)
    response = client.open(url, method=method, data={**ARABIC, **ENGLISH})
    allowed = actor in ("organizer", "admin")
    # Sending answers with its confirmation page first (nothing sent yet).
    asks = route.endswith("/send")
    expected = (303 if method == "POST" and not asks else 200) if allowed else EXPECTED[actor]
    assert response.status_code == expected
    if actor == "anonymous":
        assert response.headers["Location"].startswith("/console/login")
    db.session.rollback()
    updates = db.session.execute(select(CampaignUpdate)).scalars().all()
    if not allowed or method == "GET" or asks:
        # Refused, read-only or not confirmed: nothing written, nothing sent.
        assert [(u.id, u.state, u.texts) for u in updates] == [
            (world.draft.id, UpdateState.draft, {"ar": {"subject": "مسودة", "body": "نص"}})
        ]
        assert db.session.execute(select(func.count()).select_from(EmailLog)).scalar() == 0


def test_an_update_of_another_campaign_is_not_found_under_this_one(
    client: FlaskClient, world: World
) -> None:
    other = create_campaign(slug="other", organization=world.campaign.organization)
    log_in(client, make_account("organizer@union.example", Role.organizer, other.organization))
    assert client.get(f"/console/campaigns/other/updates/{world.draft.id}").status_code == 404
    response = client.post(f"/console/campaigns/other/updates/{world.draft.id}/send")
    assert response.status_code == 404
    db.session.rollback()
    assert db.session.get(CampaignUpdate, world.draft.id).state is UpdateState.draft


@pytest.fixture
def organizer(client: FlaskClient, world: World) -> FlaskClient:
    owner = world.campaign.organization
    # The console follows the reader's language; these tests read English.
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    log_in(client, make_account("organizer@union.example", Role.organizer, owner))
    return client


def test_arabic_is_required(organizer: FlaskClient, world: World) -> None:
    response = organizer.post("/console/campaigns/olive-trees/updates/new", data=ENGLISH)
    assert response.status_code == 422
    assert "The Arabic text is required." in response.get_data(as_text=True)
    assert db.session.execute(select(func.count()).select_from(CampaignUpdate)).scalar() == 1


def test_a_language_needs_both_subject_and_text(organizer: FlaskClient) -> None:
    response = organizer.post(
        "/console/campaigns/olive-trees/updates/new", data={**ARABIC, "subject_en": "News"}
    )
    assert response.status_code == 422
    assert "Write both the subject and the text, or neither." in response.get_data(as_text=True)


def test_write_preview_and_send(app: Flask, organizer: FlaskClient, world: World) -> None:
    for lang in ("ar", "en", "tr"):
        create_signature(
            world.campaign, state=SignatureState.validated, contact_ok=True, locale=lang
        )
    response = organizer.post(
        "/console/campaigns/olive-trees/updates/new", data={**ARABIC, **ENGLISH}
    )
    assert response.status_code == 303
    item = db.session.execute(
        select(CampaignUpdate).order_by(CampaignUpdate.id.desc())
    ).scalars().first()
    assert item is not None
    assert item.texts == {
        "ar": {"subject": "أخبار الحملة", "body": "شكراً لكم.\n\nوصلنا إلى الهدف."},
        "en": {"subject": "Campaign news", "body": "Thank you.\n\nWe reached the goal."},
    }
    assert response.headers["Location"] == f"/console/campaigns/olive-trees/updates/{item.id}"

    page = organizer.get(response.headers["Location"]).get_data(as_text=True)
    assert "Campaign news" in page and "We reached the goal." in page
    # Turkish signers get the Arabic text, and the preview says so.
    assert "No text in this language: these signers get the Arabic text." in page
    assert "Send to 3 signers" in page
    assert sent_mail(app) == []

    form = organizer.get(f"/console/campaigns/olive-trees/updates/{item.id}/edit")
    assert form.status_code == 200
    assert 'value="Campaign news"' in form.get_data(as_text=True)
    edited = organizer.post(
        f"/console/campaigns/olive-trees/updates/{item.id}/edit",
        data={**ARABIC, "subject_en": "Campaign news!", "body_en": "Thanks."},
    )
    assert edited.status_code == 303
    db.session.refresh(item)
    assert item.texts["en"] == {"subject": "Campaign news!", "body": "Thanks."}

    sent = post_confirmed(organizer, f"/console/campaigns/olive-trees/updates/{item.id}/send")
    assert sent.status_code == 303
    db.session.refresh(item)
    assert item.state is UpdateState.sent
    assert item.recipients == 3
    assert len(sent_mail(app)) == 3

    # Sent is sent: no second sending, no more editing.
    again = organizer.post(f"/console/campaigns/olive-trees/updates/{item.id}/send")
    assert again.status_code == 303
    assert 'role="alert"' in organizer.get(again.headers["Location"]).get_data(as_text=True)
    edit_url = f"/console/campaigns/olive-trees/updates/{item.id}/edit"
    assert organizer.get(edit_url).status_code == 303
    assert len(sent_mail(app)) == 3

    actions = db.session.execute(
        select(AuditEntry.action, AuditEntry.user_id, AuditEntry.target_id).where(
            AuditEntry.target_type == "update"
        ).order_by(AuditEntry.id)
    ).all()
    assert [a for a, _, _ in actions] == [
        "update_created", "update_edited", "update_send", "update_sent"
    ]
    assert {t for _, _, t in actions} == {str(item.id)}
    assert all(user_id is not None for _, user_id, _ in actions[:3])


def test_a_sensitive_campaigns_update_form_and_preview_say_what_signers_get(
    organizer: FlaskClient, world: World
) -> None:
    note = "This campaign is sensitive: signers get your text under the subject “A new message”"
    assert note not in organizer.get("/console/campaigns/olive-trees/updates/new").get_data(
        as_text=True
    )
    world.campaign.sensitive = True
    db.session.commit()
    form = organizer.get("/console/campaigns/olive-trees/updates/new").get_data(as_text=True)
    assert note in form
    created = organizer.post(
        "/console/campaigns/olive-trees/updates/new", data={**ARABIC, **ENGLISH}
    )
    assert created.status_code == 303
    # The preview is the email itself: the neutral subject, not the organizer's.
    preview = organizer.get(created.headers["Location"]).get_data(as_text=True)
    assert "A new message" in preview and "We reached the goal." in preview
