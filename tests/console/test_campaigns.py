"""Campaigns from the console: create and edit per language, the lifecycle,
the signing switches, all audited."""

from __future__ import annotations

import re

from flask import Flask
from flask_babel import force_locale, gettext
from sqlalchemy import select

from campaigns.extensions import db
from campaigns.models import AuditEntry, Campaign, CampaignStatus, Signature
from tests.moderation.support import logged_in, make_console
from tests.signing.support import valid_form


def _form(**overrides: str) -> dict[str, str]:
    data = {
        "slug": "new-campaign",
        "kind": "petition",
        "goal": "1000",
        "unit": "signatures",
        "title_ar": "حملة جديدة",
        "summary_ar": "ملخص",
        "body_ar": "نص الحملة",
        "title_en": "A new campaign",
        "summary_en": "Summary",
        "body_en": "Text",
    }
    data.update(overrides)
    return data


def _actions() -> list[str]:
    return [e.action for e in db.session.execute(select(AuditEntry)).scalars()]


def test_create_then_open_a_campaign(app: Flask) -> None:
    console = make_console()
    client = logged_in(app, console.organizer)
    response = client.post("/console/campaigns/new", data=_form())
    assert response.status_code == 303
    campaign = db.session.execute(
        select(Campaign).where(Campaign.slug == "new-campaign")
    ).scalar_one()
    assert campaign.status is CampaignStatus.draft
    assert campaign.organization_id == console.organizer.organization_id
    assert set(campaign.texts) == {"ar", "en"}
    assert app.test_client().get("/ar/campaigns/new-campaign").status_code == 404
    assert client.post(
        "/console/campaigns/new-campaign/status", data={"status": "open"}
    ).status_code == 303
    assert app.test_client().get("/ar/campaigns/new-campaign").status_code == 200
    # Open cannot jump to archived: nothing changes, and the page says why.
    refused = client.post("/console/campaigns/new-campaign/status", data={"status": "archived"})
    assert refused.status_code == 303
    assert 'role="alert"' in client.get(refused.headers["Location"]).get_data(as_text=True)
    db.session.refresh(campaign)
    assert campaign.status is CampaignStatus.open
    assert "campaign_created" in _actions() and "campaign_status" in _actions()


def test_the_new_campaign_form_holds_no_english_default_and_caps_a_pledge_as_signing_does(
    app: Flask,
) -> None:
    console = make_console()
    client = logged_in(app, console.organizer)
    client.set_cookie("lang", "ar")
    page = client.get("/console/campaigns/new").get_data(as_text=True)
    unit = re.search(r'<input[^>]*name="unit"[^>]*>', page)
    assert unit is not None
    assert "signatures" not in unit.group(0)
    # Empty, a petition's unit is still "signatures".
    assert client.post("/console/campaigns/new", data=_form(unit="")).status_code == 303
    item = db.session.execute(select(Campaign).where(Campaign.slug == "new-campaign")).scalar_one()
    assert item.unit == "signatures"
    # The sign form takes at most six digits: the console asks no more of a cap.
    pledge = _form(slug="trees", kind="pledge", max_amount_per_signer="1000000")
    assert client.post("/console/campaigns/new", data=pledge).status_code == 422
    pledge["max_amount_per_signer"] = "999999"
    assert client.post("/console/campaigns/new", data=pledge).status_code == 303


def test_arabic_text_is_required_and_errors_are_shown(app: Flask) -> None:
    console = make_console()
    client = logged_in(app, console.organizer)
    response = client.post("/console/campaigns/new", data=_form(title_ar="", slug="Bad Slug"))
    assert response.status_code == 422
    stored = db.session.execute(select(Campaign).where(Campaign.slug == "new-campaign")).scalar()
    assert stored is None
    body = response.get_data(as_text=True)
    assert 'class="error-summary"' in body

    # Each error names its field, and the language of a field of one language.
    client.set_cookie("lang", "en")
    data = _form(title_ar="", summary_ar="", body_ar="")
    body = client.post("/console/campaigns/new", data=data).get_data(as_text=True)
    summary = body.split('class="error-summary"', 1)[1].split("</div>", 1)[0]
    items = re.findall(r'<a href="#(\w+)">([^<]+)</a>', summary)
    assert [field for field, _ in items] == ["title_ar", "summary_ar", "body_ar"]
    assert all("(العربية)" in text for _, text in items), items
    assert len({text for _, text in items}) == 3, items


def test_edit_keeps_the_other_languages(app: Flask) -> None:
    console = make_console()
    client = logged_in(app, console.organizer)
    slug = console.campaign.slug
    page = client.get(f"/console/campaigns/{slug}/edit")
    assert page.status_code == 200
    response = client.post(
        f"/console/campaigns/{slug}/edit",
        data=_form(slug=slug, title_ar="عنوان جديد", title_en="New title"),
    )
    assert response.status_code == 303
    db.session.refresh(console.campaign)
    assert console.campaign.texts["ar"].title == "عنوان جديد"
    assert console.campaign.texts["en"].title == "New title"
    # The page it lands on says what happened, once, in the reader's language.
    landed = client.get(response.headers["Location"]).get_data(as_text=True)
    assert 'role="status"' in landed and "حُفظت الحملة." in landed
    assert "حُفظت الحملة." not in client.get(response.headers["Location"]).get_data(as_text=True)
    client.post(
        f"/console/campaigns/{slug}/edit?lang=en",
        data=_form(slug=slug, title_ar="عنوان جديد", title_en="New title"),
    )
    assert "The campaign was saved." in client.get(
        f"/console/campaigns/{slug}?lang=en"
    ).get_data(as_text=True)


def test_pausing_a_campaign_stops_signing_with_a_message(app: Flask) -> None:
    console = make_console()
    client = logged_in(app, console.organizer)
    slug = console.campaign.slug
    client.post(f"/console/campaigns/{slug}/pause", data={"paused": "1"})
    signer = app.test_client()
    response = signer.post(f"/en/campaigns/{slug}/sign", data=valid_form())
    assert response.status_code == 409
    assert db.session.execute(select(Signature)).first() is None
    client.post(f"/console/campaigns/{slug}/pause", data={"paused": "0"})
    assert signer.post(f"/en/campaigns/{slug}/sign", data=valid_form()).status_code == 303
    assert {"campaign_paused", "campaign_resumed"} <= set(_actions())


def test_the_site_wide_switch_pauses_every_campaign(app: Flask) -> None:
    console = make_console()
    admin = logged_in(app, console.admin, console)
    assert admin.post(
        "/console/settings", data={"signing_paused": "1", "confirm": "1", "figure": "2"}
    ).status_code == 303
    app.extensions["zaytoun_memo"].forget("")
    signer = app.test_client()
    page = signer.get(f"/en/campaigns/{console.campaign.slug}")
    assert "paused" in page.get_data(as_text=True)
    response = signer.post(f"/en/campaigns/{console.campaign.slug}/sign", data=valid_form())
    assert response.status_code == 409
    assert db.session.execute(select(Signature)).first() is None
    admin.post("/console/settings", data={"signing_paused": "0"})
    app.extensions["zaytoun_memo"].forget("")
    assert signer.post(
        f"/en/campaigns/{console.campaign.slug}/sign", data=valid_form()
    ).status_code == 303
    assert {"site_paused", "site_resumed"} <= set(_actions())


def test_admin_changes_a_role_and_it_is_audited(app: Flask) -> None:
    console = make_console()
    admin = logged_in(app, console.admin, console)
    response = admin.post(
        f"/console/users/{console.partner.id}/role", data={"role": "organizer"}
    )
    assert response.status_code == 303
    db.session.refresh(console.partner)
    assert console.partner.role.value == "organizer"
    entry = db.session.execute(
        select(AuditEntry).where(AuditEntry.action == "role_changed")
    ).scalar_one()
    assert entry.details == {"before": "partner", "after": "organizer"}
    assert admin.get("/console/audit").status_code == 200


def _sensitive_label() -> str:
    """The flag's name as the console shows it (in Arabic, its default)."""
    with force_locale("ar"):
        return gettext("Sensitive campaign: low-trace emails")


# The "sensitive" box, ticked (attributes in either order).
TICKED = re.compile(
    r'<input[^>]*checked[^>]*name="sensitive"|<input[^>]*name="sensitive"[^>]*checked'
)


def test_the_sensitive_flag_is_set_and_cleared_from_the_form_and_audited(app: Flask) -> None:
    console = make_console()
    client = logged_in(app, console.organizer)
    page = client.get("/console/campaigns/new").get_data(as_text=True)
    assert 'name="sensitive"' in page and "Notifications" in page  # the explanation
    assert client.post(
        "/console/campaigns/new", data=_form(slug="quiet-one", sensitive="y")
    ).status_code == 303
    campaign = db.session.execute(select(Campaign).where(Campaign.slug == "quiet-one")).scalar_one()
    assert campaign.sensitive is True
    assert _actions().count("campaign_sensitive_on") == 1
    overview = client.get("/console/campaigns/quiet-one").get_data(as_text=True)
    assert _sensitive_label() in overview
    edit = client.get("/console/campaigns/quiet-one/edit").get_data(as_text=True)
    assert TICKED.search(edit)

    # Saved again as it was: nothing to audit about the flag.
    assert client.post(
        "/console/campaigns/quiet-one/edit", data=_form(slug="quiet-one", sensitive="y")
    ).status_code == 303
    assert _actions().count("campaign_sensitive_on") == 1
    # An unticked box is not sent: the flag is cleared.
    assert client.post(
        "/console/campaigns/quiet-one/edit", data=_form(slug="quiet-one")
    ).status_code == 303
    db.session.expire_all()
    assert db.session.get(Campaign, campaign.id).sensitive is False  # type: ignore[union-attr]
    entries = db.session.execute(
        select(AuditEntry).where(AuditEntry.action.like("campaign_sensitive_%"))
    ).scalars().all()
    assert [(e.action, e.target_id, e.user_id) for e in entries] == [
        ("campaign_sensitive_on", str(campaign.id), console.organizer.id),
        ("campaign_sensitive_off", str(campaign.id), console.organizer.id),
    ]
    edit = client.get("/console/campaigns/quiet-one/edit").get_data(as_text=True)
    assert not TICKED.search(edit)
    overview = client.get("/console/campaigns/quiet-one").get_data(as_text=True)
    assert _sensitive_label() not in overview
    # Not asked for: a new campaign is not sensitive.
    client.post("/console/campaigns/new", data=_form(slug="loud-one"))
    loud = db.session.execute(select(Campaign).where(Campaign.slug == "loud-one")).scalar_one()
    assert loud.sensitive is False
