"""A partner's home in Chromium, at 360×740 and 1280×800, in Arabic and
English: the partner lands on it after logging in, sees the figures of its
own links (from five signers on) and its links and embed code ready to copy,
never scrolls sideways; the copy button is there only with JavaScript, and
a link opened from it carries the code into the sign form. Screenshots:
test-artifacts/partner-home-<lang>-<width>.png."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Page
from sqlalchemy import select

from campaigns.accounts.services import create_user
from campaigns.counting.services import update_signature_counts
from campaigns.extensions import db
from campaigns.models import Campaign, Role, SignatureState, SourceCode
from campaigns.reach.codes import ensure_partner_codes
from tests.factories import create_signature, give_second_factor, unused_code

from .conftest import REPO, SLUG, Contexts, LiveServer

ARTIFACTS = REPO / "test-artifacts"
PASSWORD = "partner-home-password"
SIZES = {360: {"width": 360, "height": 740}, 1280: {"width": 1280, "height": 800}}
THROUGH_LINKS = {"ar": "عبر روابطكم", "en": "through your links"}


@dataclass(frozen=True)
class Partner:
    email: str
    user_id: int
    secret: str | None
    code: str


@pytest.fixture(scope="module")
def partner(live_server: LiveServer) -> Iterator[Partner]:
    tag = uuid.uuid4().hex[:8]
    with live_server.app.app_context():
        campaign = db.session.execute(select(Campaign).where(Campaign.slug == SLUG)).scalar_one()
        organization = campaign.partners[0]
        ensure_partner_codes(campaign)
        code = (
            db.session.execute(
                select(SourceCode).where(
                    SourceCode.campaign_id == campaign.id,
                    SourceCode.organization_id == organization.id,
                    SourceCode.revoked_at.is_(None),
                )
            )
            .scalars()
            .first()
        )
        assert code is not None
        for n in range(7):
            create_signature(
                campaign,
                state=SignatureState.validated,
                email=f"home-{tag}-{n}@example.org",
                country="SY",
                source_code_id=code.id,
            )
        update_signature_counts()
        email = f"partner-home-{tag}@partners.zaytoun.test"
        user = create_user(email, "شريك", PASSWORD, Role.partner, organization)
        secret = give_second_factor(user)
        db.session.commit()
        found = Partner(email, user.id, secret, code.code)
        db.session.remove()
    yield found


def _log_in(page: Page, server: LiveServer, partner: Partner) -> None:
    code = ""
    if partner.secret is not None:
        with server.app.app_context():
            code = unused_code(partner.user_id, partner.secret)
            db.session.remove()
    page.goto(server.url + "/console/login")
    page.fill("#email", partner.email)
    page.fill("#password", PASSWORD)
    page.fill("#code", code)
    page.locator("main form button[type=submit]").click()
    page.wait_for_url(f"{server.url}/console/")


def _sideways(page: Page) -> int:
    return int(page.evaluate("document.documentElement.scrollWidth - window.innerWidth"))


@pytest.mark.parametrize("lang", ["ar", "en"])
@pytest.mark.parametrize("width", sorted(SIZES))
def test_a_partner_lands_on_its_links_and_reach(
    contexts: Contexts, live_server: LiveServer, partner: Partner, lang: str, width: int
) -> None:
    context = contexts.new_context(viewport=SIZES[width], locale=lang)
    context.add_cookies([{"name": "lang", "value": lang, "url": live_server.url}])
    page = context.new_page()
    _log_in(page, live_server, partner)
    # The landing page is the partner's home: its figures and links first.
    assert THROUGH_LINKS[lang] in page.locator("section[aria-labelledby=reach-title]").inner_text()
    assert _sideways(page) <= 0, f"/console/ scrolls sideways by {_sideways(page)} px"
    page.goto(live_server.url + "/console/reach")
    assert page.locator("html").get_attribute("lang") == lang
    assert _sideways(page) <= 0, f"/console/reach scrolls sideways by {_sideways(page)} px"
    links = page.locator(f"input[id^='link-{partner.code}-']")
    assert links.count() >= 2  # one per language
    for i in range(links.count()):
        assert f"src={partner.code}" in (links.nth(i).input_value())
    embed = page.locator(f"#embed-{partner.code}").input_value()
    assert embed.startswith("<iframe ") and f"src={partner.code}" in embed
    # With JavaScript the copy buttons show; each box stays inside the window.
    copy = page.locator(f"button[data-copy='embed-{partner.code}']")
    assert copy.is_visible()
    box = page.locator(f"#embed-{partner.code}").bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= width + 1
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"partner-home-{lang}-{width}.png"), full_page=True)

    # The Arabic link, opened: its code rides in the sign form's hidden field.
    href = page.locator(f"#link-{partner.code}-ar").input_value()
    parts = urlsplit(href)
    page.goto(f"{live_server.url}{parts.path}?{parts.query}")
    assert page.locator("input[name=src]").input_value() == partner.code


def test_without_javascript_the_links_are_there_to_select(
    contexts: Contexts, live_server: LiveServer, partner: Partner
) -> None:
    context = contexts.new_context(viewport=SIZES[360], java_script_enabled=False)
    page = context.new_page()
    # The login form works without script: the same steps.
    _log_in(page, live_server, partner)
    page.goto(live_server.url + "/console/reach")
    assert page.locator(f"#embed-{partner.code}").input_value().startswith("<iframe ")
    assert not page.locator(f"button[data-copy='embed-{partner.code}']").is_visible()
