"""Every console route, for every role and for anonymous visitors: each may do
exactly what its role allows, and nothing about another organization's
campaigns. The routes come from the URL map, so a new route without a policy
here fails the test."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from campaigns.accounts.disclosure import grant_hash
from campaigns.extensions import db
from campaigns.models import (
    CampaignResponse,
    CampaignThreshold,
    CampaignUpdate,
    DisclosureKind,
    DisclosureRequest,
    DisclosureState,
    Invalidation,
    JobState,
    Kiosk,
    NetworkKind,
    PaperImport,
    SignatureState,
    SourceCode,
    TrustedNetwork,
)
from campaigns.models.types import utcnow
from campaigns.moderation.held import group_label
from tests.factories import create_signature
from tests.media.support import give_image
from tests.moderation.support import Console, logged_in, make_console
from tests.outcomes.support import make_pdf
from tests.paper.sheets_support import COLLECTOR_NAME, COLLECTOR_PHONE, issue_sheet

ACTORS = ("anonymous", "partner", "other_organizer", "organizer", "admin")
ALL = {"partner", "other_organizer", "organizer", "admin"}
CAMPAIGN_VIEWERS = {"partner", "organizer", "admin"}
CAMPAIGN_MANAGERS = {"organizer", "admin"}
ORGANIZERS = {"other_organizer", "organizer", "admin"}
ADMINS = {"admin"}

# endpoint -> who may use it on the union's campaign (and its objects).
POLICY: dict[str, set[str]] = {
    "console_campaigns.dashboard": ALL,
    "console_auth.account": ALL,
    "console_campaigns.campaign": CAMPAIGN_VIEWERS,
    "console_campaigns.edit": CAMPAIGN_MANAGERS,
    "console_campaigns.create": ORGANIZERS,
    "console_campaigns.toggle_pause": CAMPAIGN_MANAGERS,
    "console_campaigns.change_status": CAMPAIGN_MANAGERS,
    "console_images.preview": CAMPAIGN_VIEWERS,
    "console_preview.campaign_page": CAMPAIGN_VIEWERS,
    "console_exports.index": CAMPAIGN_VIEWERS,
    "console_exports.figures": CAMPAIGN_VIEWERS,
    "console_exports.delivery": CAMPAIGN_MANAGERS,
    "console_exports.signatures": ADMINS,
    "console_paper.index": CAMPAIGN_MANAGERS,
    "console_paper.upload": CAMPAIGN_MANAGERS,
    "console_paper.report": CAMPAIGN_MANAGERS,
    "console_paper.report_download": CAMPAIGN_MANAGERS,
    "console_paper.template": CAMPAIGN_MANAGERS,
    "console_kiosk.index": CAMPAIGN_MANAGERS,
    "console_kiosk.open_stand": CAMPAIGN_MANAGERS,
    "console_kiosk.close": CAMPAIGN_MANAGERS,
    "console_kiosk.invalidate_stand": CAMPAIGN_MANAGERS,
    "console_kiosk.invalidate_collector": CAMPAIGN_MANAGERS,
    # The device is its collector's (here the organizer's): nobody else signs on it.
    "console_kiosk.kiosk": {"organizer"},
    "console_kiosk.sign": {"organizer"},
    "console_kiosk.entries": {"organizer"},
    "console_sheets.index": CAMPAIGN_MANAGERS,
    "console_sheets.issue": CAMPAIGN_MANAGERS,
    "console_sheets.sheet_pdf": CAMPAIGN_MANAGERS,
    "console_sheets.batch_pdf": CAMPAIGN_MANAGERS,
    "console_sheets.returned": CAMPAIGN_MANAGERS,
    "console_sheets.collector": CAMPAIGN_MANAGERS,
    "console_updates.index": CAMPAIGN_MANAGERS,
    "console_updates.preview": CAMPAIGN_MANAGERS,
    "console_updates.edit": CAMPAIGN_MANAGERS,
    "console_updates.send": CAMPAIGN_MANAGERS,
    "console_updates.create": CAMPAIGN_MANAGERS,
    "console_moderation.index": ORGANIZERS,
    "console_moderation.campaign_queue": CAMPAIGN_MANAGERS,
    "console_moderation.invalidations": ORGANIZERS,
    "console_moderation.invalidation": CAMPAIGN_MANAGERS,
    "console_moderation.cancel": CAMPAIGN_MANAGERS,
    "console_moderation.new_invalidation": ORGANIZERS,
    "console_moderation.accept": CAMPAIGN_MANAGERS,
    "console_moderation.reject": CAMPAIGN_MANAGERS,
    "console_moderation.bulk": CAMPAIGN_MANAGERS,
    "console_moderation.trending": ORGANIZERS,
    # Anyone who may open personal data may ask; a second admin decides; only
    # the requester (here the organizer) collects and uses the grant.
    "console_disclosures.index": ORGANIZERS,
    "console_disclosures.new": ORGANIZERS,
    "console_disclosures.approve": ADMINS,
    "console_disclosures.refuse": ADMINS,
    "console_disclosures.grant": {"organizer"},
    "console_disclosures.use": {"organizer"},
    "console_moderation.held": CAMPAIGN_MANAGERS,
    "console_networks.index": ADMINS,
    "console_networks.remove": ADMINS,
    "console_networks.tor": ADMINS,
    "console_outcomes.index": CAMPAIGN_MANAGERS,
    "console_outcomes.create_threshold": CAMPAIGN_MANAGERS,
    "console_outcomes.delete_threshold": CAMPAIGN_MANAGERS,
    "console_outcomes.create_response": CAMPAIGN_MANAGERS,
    "console_outcomes.response_pdf": CAMPAIGN_MANAGERS,
    "console_outcomes.create_delivery": CAMPAIGN_MANAGERS,
    "console_reach.home": ALL,
    "console_reach.sources": CAMPAIGN_MANAGERS,
    "console_reach.add": CAMPAIGN_MANAGERS,
    "console_reach.revoke": CAMPAIGN_MANAGERS,
    "console_admin.audit": ADMINS,
    "console_admin.settings": ADMINS,
    "console_admin.users": ADMINS,
    "console_admin.toggle_active": ADMINS,
    "console_admin.change_role": ADMINS,
}
# Open to everyone by design: the way in and out.
PUBLIC = {"console_auth.login", "console_auth.logout", "console_auth.totp_setup"}
# The organizer's approved request's one-time grant (only its hash is stored).
GRANT = "matrix-grant-token"
# Form data that changes nothing lasting when a POST is allowed.
HARMLESS_FORMS: dict[str, dict[str, str]] = {
    "console_admin.toggle_active": {"active": "1"},
    "console_admin.change_role": {"role": "partner"},
    "console_admin.settings": {"signing_paused": "0"},
    "console_auth.account": {"time_zone": "Asia/Damascus"},
    "console_campaigns.toggle_pause": {"paused": "0"},
    "console_campaigns.change_status": {"status": "no-such-status"},
    "console_exports.delivery": {"lang": "ar"},
    "console_disclosures.use": {"token": GRANT, "lang": "ar"},
    # Not the number the commitment is at: nothing removed (a message says so).
    "console_outcomes.delete_threshold": {"count": "-1"},
    # No organization chosen: refused, no code made.
    "console_reach.add": {"label": "matrix"},
    # No count: the form is refused (422), nothing issued.
    "console_sheets.issue": {"count": ""},
}


def _objects(console: Console) -> dict[str, Any]:
    campaign = console.campaign
    update = CampaignUpdate(
        campaign_id=campaign.id, texts={"ar": {"subject": "خبر", "body": "نص"}}
    )
    paper = PaperImport(campaign_id=campaign.id, filename="paper.csv", report=[])
    invalidation = Invalidation(
        campaign_id=campaign.id,
        conditions={"country": "SY"},
        reason="test",
        state=JobState.completed,
    )
    # The organizer asked for the delivery document, an admin approved, the
    # grant is collected: the organizer may use it, nobody else.
    disclosure = DisclosureRequest(
        kind=DisclosureKind.delivery_names,
        campaign_id=campaign.id,
        requester_id=console.organizer.id,
        reason="the delivery on Monday",
        state=DisclosureState.approved,
        decided_by_id=console.admin.id,
        decided_at=utcnow(),
        grant_hash=grant_hash(GRANT),
        grant_expires_at=utcnow() + timedelta(hours=1),
    )
    db.session.add_all([update, paper, invalidation, disclosure])
    threshold = CampaignThreshold(campaign_id=campaign.id, count=100, texts={"ar": "نسلّم"})
    response = CampaignResponse(
        public_id="a" * 32,
        campaign_id=campaign.id,
        responded_on=date(2026, 11, 1),
        texts={"ar": {"by": "جهة", "text": "رد"}},
        pdf=make_pdf(),
        pdf_size=len(make_pdf()),
    )
    db.session.add_all([update, paper, invalidation, threshold, response])
    db.session.commit()
    signature = create_signature(campaign, state=SignatureState.fraudulent, ip="10.9.8.7")
    held = create_signature(
        campaign, state=SignatureState.held, ip="10.9.8.6", hold_reason="rate_burst"
    )
    network = TrustedNetwork(
        kind=NetworkKind.range, cidr="192.0.2.0/24", label="Office", burst_limit=50,
        sustained_limit=500,
    )  # fmt: skip
    db.session.add(network)
    kiosk = Kiosk(campaign_id=campaign.id, collector_id=console.organizer.id, stand="Azaz")
    db.session.add(kiosk)
    source = SourceCode(
        campaign_id=campaign.id,
        organization_id=console.partner.organization_id,
        code="matrixCode1",
    )
    db.session.add(source)
    db.session.commit()
    give_image(campaign)
    sheet = issue_sheet(campaign)[0]
    return {
        "number": sheet.number,
        "batch": sheet.batch,
        "slug": campaign.slug,
        "update_id": update.id,
        "import_id": paper.id,
        "invalidation_id": invalidation.id,
        "disclosure_id": disclosure.id,
        "signature_uuid": signature.uuid,
        "user_id": console.partner.id,
        "variant": campaign.images[0].name,
        "kind": "network",
        "group": group_label(held.ip_hash),
        "network_id": network.id,
        "threshold_id": threshold.id,
        "public_id": response.public_id,
        "kiosk_uuid": kiosk.uuid,
        "collector_id": console.organizer.id,
        "decision": "reject",
        "code": source.code,
    }


def _console_rules(app: Flask) -> list[tuple[str, str, str]]:
    rules = []
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/console") or rule.endpoint in PUBLIC:
            continue
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            rules.append((rule.endpoint, rule.rule, method))
    return sorted(rules)


def _url(app: Flask, endpoint: str, objects: dict[str, Any]) -> str:
    rule = next(r for r in app.url_map.iter_rules() if r.endpoint == endpoint)
    values = {name: objects[name] for name in rule.arguments}
    with app.test_request_context():
        from flask import url_for

        return url_for(endpoint, **values)


def test_every_console_route_has_a_policy(app: Flask) -> None:
    endpoints = {endpoint for endpoint, _, _ in _console_rules(app)}
    assert endpoints == set(POLICY)


def test_authorization_matrix(app: Flask) -> None:
    console = make_console()
    objects = _objects(console)
    clients: dict[str, FlaskClient] = {
        actor: logged_in(app, None if actor == "anonymous" else getattr(console, actor), console)
        for actor in ACTORS
    }
    results = []
    # Admins last: what they are allowed to do must not change the others' rights.
    for actor in ACTORS:
        for endpoint, _rule, method in _console_rules(app):
            url = _url(app, endpoint, objects)
            client = clients[actor]
            if method == "GET":
                response = client.get(url)
            else:
                response = client.post(url, data=HARMLESS_FORMS.get(endpoint, {}))
            status = response.status_code
            location = response.headers.get("Location", "")
            if actor == "anonymous":
                ok = status == 302 and "/console/login" in location
            elif actor in POLICY[endpoint]:
                ok = status not in (401, 403, 404) and "/console/login" not in location
            else:
                ok = status in (403, 404)
            results.append((actor, endpoint, method, status, ok))
    failures = [r for r in results if not r[4]]
    print(f"authorization matrix: {len(results)} checks, {len(failures)} failures")
    assert failures == []


def test_another_organizations_campaign_is_invisible(app: Flask) -> None:
    """An organizer never learns that another organization's campaign exists."""
    console = make_console()
    client = logged_in(app, console.organizer)
    slug = console.other_campaign.slug
    for path in (
        f"/console/campaigns/{slug}",
        f"/console/campaigns/{slug}/edit",
        f"/console/campaigns/{slug}/exports",
        f"/console/campaigns/{slug}/paper",
        f"/console/campaigns/{slug}/kiosks",
        f"/console/campaigns/{slug}/sheets",
        f"/console/campaigns/{slug}/sheets/1.pdf",
        f"/console/campaigns/{slug}/updates",
        f"/console/campaigns/{slug}/outcomes",
        f"/console/campaigns/{slug}/responses/new",
        f"/console/campaigns/{slug}/deliveries/new",
        f"/console/campaigns/{slug}/sources",
        f"/console/moderation/campaigns/{slug}",
        f"/console/campaigns/{slug}/image/anything-360.webp",
        f"/console/campaigns/{slug}/preview",
        f"/console/moderation/campaigns/{slug}/bulk/reject",
        f"/console/moderation/campaigns/{slug}/bulk/accept",
    ):
        assert client.get(path).status_code == 404, path
    page = client.get("/console/").get_data(as_text=True)
    assert slug not in page


@pytest.mark.parametrize("actor", ["partner", "organizer"])
def test_no_personal_data_reaches_partners_or_organizers(app: Flask, actor: str) -> None:
    console = make_console()
    create_signature(
        console.campaign,
        state=SignatureState.validated,
        email="canary.signer@example.org",
        name="Canary Signer",
    )
    client = logged_in(app, getattr(console, actor), console)
    slug = console.campaign.slug
    for path in (
        "/console/",
        f"/console/campaigns/{slug}",
        f"/console/campaigns/{slug}/exports",
        f"/console/campaigns/{slug}/exports/figures.csv",
    ):
        body = client.get(path).get_data(as_text=True)
        assert "canary.signer" not in body and "Canary Signer" not in body, path


@pytest.mark.parametrize("actor", ["partner", "other_organizer", "organizer", "admin"])
def test_a_sheets_collector_is_shown_only_on_asking_and_only_to_managers(
    app: Flask, actor: str
) -> None:
    console = make_console()
    issue_sheet(console.campaign)
    client = logged_in(app, getattr(console, actor), console)
    slug = console.campaign.slug
    pages = [
        client.get(f"/console/campaigns/{slug}/sheets"),
        client.get(f"/console/campaigns/{slug}/sheets/1.pdf"),
        client.get(f"/console/campaigns/{slug}/sheets/batches/1.pdf"),
        client.get("/console/"),
        client.get(f"/console/campaigns/{slug}"),
    ]
    for response in pages:
        body = response.get_data()
        assert COLLECTOR_NAME.encode() not in body and COLLECTOR_PHONE.encode() not in body
    asked = client.post(f"/console/campaigns/{slug}/sheets/1/collector")
    shown = asked.get_data(as_text=True)
    if actor in CAMPAIGN_MANAGERS:
        assert asked.status_code == 200
        assert COLLECTOR_NAME in shown and COLLECTOR_PHONE in shown
    else:
        assert asked.status_code in (403, 404)
        assert COLLECTOR_NAME not in shown and COLLECTOR_PHONE not in shown
