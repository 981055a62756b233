"""Confirmation pages in a real browser without JavaScript, on a phone
(360×740), in Arabic and English: pausing signing everywhere and sending an
update each show their effect in numbers first, act only once confirmed, and
end with the message saying what was done; no page scrolls sideways.
Screenshots: test-artifacts/console-confirm-<step>-<lang>.png."""

from __future__ import annotations

import re
import uuid

import pytest
from flask import Flask
from flask_babel import force_locale
from playwright.sync_api import Page, expect
from sqlalchemy import func, select

from campaigns.extensions import db
from campaigns.i18n import count_text
from campaigns.models import (
    Campaign,
    CampaignStatus,
    CampaignUpdate,
    Role,
    SignatureState,
    UpdateState,
)
from campaigns.site_settings import SIGNING_PAUSED, set_setting, signing_paused
from campaigns.updates.services import recipients_by_language
from tests.factories import create_campaign, create_signature

from .conftest import SCREENSHOTS, Contexts, LiveServer
from .reach_support import console_page, translate

SLUG = "olive-trees-afrin"
PHONE = {"width": 360, "height": 740}
ARTIFACTS = SCREENSHOTS.parent


def _counted(app: Flask, lang: str, singular: str, plural: str, count: int, **values: str) -> str:
    with app.test_request_context(), force_locale(lang):
        return count_text(singular, plural, count, **values)


def _admin_page(server: LiveServer, contexts: Contexts, lang: str) -> Page:
    """A new admin, logged in on a phone without JavaScript."""
    return console_page(server, contexts, Role.admin, lang, viewport=PHONE)


def _snap(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"console-confirm-{name}.png"), full_page=True)


def _fits(page: Page) -> None:
    wide = page.evaluate("document.documentElement.scrollWidth")
    assert wide <= page.viewport_size["width"], f"{page.url}: {wide}px wide"  # type: ignore[index]


def _notice(page: Page) -> str:
    status = page.locator("p[role=status]")
    expect(status).to_have_count(1)
    return status.inner_text().strip()


@pytest.mark.parametrize("lang", ["ar", "en"])
def test_pausing_everywhere_on_a_phone(
    lang: str, live_server: LiveServer, contexts: Contexts
) -> None:
    app = live_server.app
    page = _admin_page(live_server, contexts, lang)
    try:
        with app.app_context():
            open_campaigns = db.session.execute(
                select(func.count(Campaign.id)).where(Campaign.status == CampaignStatus.open)
            ).scalar_one()
            db.session.remove()
        page.goto(live_server.url + "/console/settings")
        page.get_by_role("button", name=translate(app, lang, "Pause signing everywhere")).click()

        # The confirmation page: the number of campaigns, a danger button, a way back.
        effect = _counted(
            app, lang,
            "Signing stops on the %(num)s open campaign.",
            "Signing stops on all %(num)s open campaigns.",
            open_campaigns,
        )  # fmt: skip
        expect(page.locator(".confirm-figure")).to_have_text(effect)
        expect(page.locator("button.danger")).to_be_visible()
        expect(page.get_by_role("link", name=translate(app, lang, "Cancel"))).to_be_visible()
        _fits(page)
        _snap(page, f"pause-{lang}")
        with app.app_context():
            assert not signing_paused()  # asked, not done
            db.session.remove()

        page.locator("button.danger").click()
        page.wait_for_url(re.compile(r"/console/settings$"))
        assert _notice(page) == translate(app, lang, "Signing is paused on every campaign.")
        _fits(page)
        _snap(page, f"paused-{lang}")
        with app.app_context():
            assert signing_paused()
            db.session.remove()
    finally:
        # The live server is shared: signing opens again for the other tests.
        with app.app_context():
            set_setting(SIGNING_PAUSED, "")
            db.session.commit()
            db.session.remove()
        app.extensions["zaytoun_memo"].forget("")


@pytest.mark.parametrize("lang", ["ar", "en"])
def test_sending_an_update_on_a_phone(
    lang: str, live_server: LiveServer, contexts: Contexts
) -> None:
    app = live_server.app
    with app.app_context():
        # A closed campaign of the union of its own, so that the shared live
        # server's open campaigns and figures stay as the other tests expect.
        union = db.session.execute(select(Campaign).where(Campaign.slug == SLUG)).scalar_one()
        campaign = create_campaign(
            f"news-{lang}-{uuid.uuid4().hex[:6]}",
            status=CampaignStatus.closed,
            organization=union.organization,
        )
        for locale in ("ar", "ar", "en", "tr"):
            create_signature(
                campaign, state=SignatureState.validated, contact_ok=True, locale=locale
            )
        item = CampaignUpdate(
            campaign_id=campaign.id,
            texts={"ar": {"subject": "زرعنا الأشجار", "body": "شكرًا لكم."},
                   "en": {"subject": "The trees are planted", "body": "Thank you."}},
        )  # fmt: skip
        db.session.add(item)
        db.session.commit()
        slug, update_id = campaign.slug, item.id
        recipients = recipients_by_language(campaign)
        db.session.remove()
    total, languages = sum(recipients.values()), len(recipients)
    assert (total, languages) == (4, 3)
    page = _admin_page(live_server, contexts, lang)
    page.goto(f"{live_server.url}/console/campaigns/{slug}/updates/{update_id}")
    send = _counted(app, lang, "Send to %(num)s signer", "Send to %(num)s signers", total)
    page.get_by_role("button", name=send).click()

    signers = _counted(app, lang, "%(num)s signer", "%(num)s signers", total)
    effect = _counted(
        app, lang,
        "This will email %(signers)s in %(num)s language.",
        "This will email %(signers)s in %(num)s languages.",
        languages,
        signers=signers,
    )  # fmt: skip
    expect(page.locator(".confirm-figure")).to_have_text(effect)
    _fits(page)
    _snap(page, f"send-{lang}")
    with app.app_context():
        draft = db.session.get(CampaignUpdate, update_id)
        assert draft is not None and draft.state is UpdateState.draft
        db.session.remove()

    page.locator("button.danger").click()
    page.wait_for_url(re.compile(rf"/updates/{update_id}$"))
    assert _notice(page) == _counted(
        app, lang,
        "The update is being sent to %(num)s signer.",
        "The update is being sent to %(num)s signers.",
        total,
    )  # fmt: skip
    _fits(page)
    _snap(page, f"sent-{lang}")
    with app.app_context():
        sent = db.session.get(CampaignUpdate, update_id)
        assert sent is not None and sent.state is not UpdateState.draft
        db.session.remove()
