"""The pages of the privacy work as people see them, on a phone (360×740) and
a desktop (1280×800), in every language: the sign form's two consent choices
and its link to the privacy page, the privacy page, the confirmation of a
closed campaign, and the console's login and second-factor pages. Each page
is saved under test-artifacts/screenshots/ for a person to look at."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from campaigns.accounts.services import create_user
from campaigns.extensions import db
from campaigns.models import Campaign, CampaignStatus, LoginThrottle, Role, SignatureState
from campaigns.models.types import utcnow
from campaigns.paper.services import import_paper_signatures
from campaigns.signing.tokens import make_confirm_token
from tests.factories import create_campaign, create_signature, give_second_factor, unused_code

from .conftest import LiveServer, SharedContexts, format_number
from .reach_support import DIRECTIONS, LANGS, translate

SIZES: dict[str, dict[str, Any]] = {
    "phone": {"viewport": {"width": 360, "height": 740}, "is_mobile": True, "has_touch": True},
    "desktop": {"viewport": {"width": 1280, "height": 800}},
}
SLUGS = ("no-russia-on-hrc", "olive-trees-afrin")
PASSWORD = "olive-trees-of-afrin-2026"
SHOW_NAME = "Show my first name and city on this campaign's public list of signers"
DELIVER_NAME = (
    "Print my full name in the petition we deliver to the people this campaign is addressed to"
)
PRIVACY_LINK = "How we keep and erase your data"


@dataclass
class Account:
    email: str
    user_id: int
    secret: str | None

    def code(self, server: LiveServer) -> str:
        assert self.secret is not None
        with server.app.app_context():
            code = unused_code(self.user_id, self.secret)
            db.session.remove()
        return code


@dataclass
class World:
    server: LiveServer
    throttled_email: str
    closed_slug: str
    paper_import_id: int

    def account(self, role: Role, second_factor: bool) -> Account:
        """A new account: each login below takes a code its account never used
        (the console takes a 30-second step once per account)."""
        with self.server.app.app_context():
            campaign = db.session.execute(
                select(Campaign).where(Campaign.slug == "olive-trees-afrin")
            ).scalar_one()
            email = f"{role.value}-{uuid.uuid4().hex[:10]}@zaytoun.test"
            account = _account(email, role, campaign, second_factor)
            db.session.remove()
        return account


def _account(email: str, role: Role, campaign: Campaign, second_factor: bool) -> Account:
    organization = campaign.organization if role is not Role.partner else campaign.partners[0]
    user = create_user(email, email.split("@")[0], PASSWORD, role, organization)
    secret = give_second_factor(user, required_only=False) if second_factor else None
    db.session.commit()
    return Account(email, user.id, secret)


@pytest.fixture(scope="module")
def world(live_server: LiveServer) -> World:
    """Console accounts of the seeded union and its partner, a login already
    throttled, a closed campaign and a paper import with rows waiting for
    their owner's confirmation."""
    tag = uuid.uuid4().hex[:8]
    with live_server.app.app_context():
        campaign = db.session.execute(
            select(Campaign).where(Campaign.slug == "olive-trees-afrin")
        ).scalar_one()
        throttled = f"throttled-{tag}@zaytoun.test"
        # Nine failures on the account: the next attempt waits (429).
        db.session.add(
            LoginThrottle(key=f"account:{throttled}", failures=9, last_failure_at=utcnow())
        )
        closed = create_campaign(f"closed-{tag}", organization=campaign.organization)
        rows = (
            "full_name,email,country,region,amount,show_name,deliver_name\n"
            f"Leyla Ahmed,leyla-{tag}@example.org,SY,حلب,3,yes,no\n"
            "Omar Said,,TR,Gaziantep,2,no,yes\n"
            "No Country,,,Berlin,1,no,no\n"
        ).encode()
        paper = import_paper_signatures(campaign, rows, "paper.csv", user_id=None)
        db.session.commit()
        world = World(live_server, throttled, closed.slug, paper.id)
        db.session.remove()
    return world


def open_page(tabs: SharedContexts, size: str, lang: str, **options: Any) -> Page:
    # The console has no language in its URL: the browser's own choice picks it.
    return tabs.new_page(**SIZES[size], locale=lang, **options)


def assert_fits(page: Page, what: str) -> None:
    """No sideways scrolling: nothing is wider than the window. (A phone
    widens its layout to a page that is too wide and zooms out, so the page
    is held to the screen's width too, not only to ``innerWidth``.)"""
    scroll, inner = page.evaluate("[document.scrollingElement.scrollWidth, window.innerWidth]")
    width = page.viewport_size["width"]  # type: ignore[index]
    assert scroll <= min(inner, width), f"{what}: {scroll}px wide in a {width}px window"


def assert_fields_fill_their_form(page: Page, form: str = "main form") -> None:
    """Every box to type in is as wide as its form (a password or a date no
    narrower than an email): on a phone a narrow box is hard to hit."""
    widths = page.locator(form).first.evaluate(
        """form => [form.getBoundingClientRect().width,
            [...form.querySelectorAll('input:not([type=hidden]):not([type=checkbox]), select')]
            .filter(e => e.offsetParent !== null && !e.closest('.hp'))
            .map(e => [e.id, e.getBoundingClientRect().width])]"""
    )
    form_width, fields = widths
    narrow = [name for name, width in fields if width < form_width - 1]
    assert fields and not narrow, f"narrower than the form: {narrow}"


def assert_box_beside_its_label(page: Page, name: str) -> None:
    """The box on the label's start side, level with its first line, and the
    label's later lines not wrapped under the box."""
    box = page.locator(f"input[name={name}]").bounding_box()
    label = page.locator(f"label[for={name}]").bounding_box()
    assert box is not None and label is not None
    assert abs(label["y"] - box["y"]) < box["height"], "the box is not level with its label"
    if page.locator("html").get_attribute("dir") == "rtl":
        assert label["x"] + label["width"] <= box["x"], "the label is not after the box"
    else:
        assert box["x"] + box["width"] <= label["x"], "the label is not after the box"
    assert box["width"] >= 18, "the box is too small to tap"


def assert_language(page: Page, lang: str) -> None:
    expect(page.locator("html")).to_have_attribute("lang", lang)
    expect(page.locator("html")).to_have_attribute("dir", DIRECTIONS[lang])


def in_first_view(page: Page, selector: str) -> bool:
    box = page.locator(selector).first.bounding_box()
    assert box is not None, selector
    return bool(box["y"] + box["height"] <= page.viewport_size["height"])  # type: ignore[index]


def log_in(page: Page, server: LiveServer, account: Account, code: str = "") -> None:
    page.goto(server.url + "/console/login")
    page.fill("#email", account.email)
    page.fill("#password", PASSWORD)
    page.fill("#code", code)
    page.locator("main form button[type=submit]").click()


Shot = Callable[[Page, str], Path]


# --- the sign form ---------------------------------------------------------------


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("slug", SLUGS)
def test_the_consent_choices_start_unticked_and_say_what_becomes_public(
    slug: str,
    lang: str,
    size: str,
    live_server: LiveServer,
    tabs: SharedContexts,
    screenshot: Shot,
) -> None:
    """Both choices are unticked; each label, in the page's language, names
    what it makes public; the privacy link sits with them; the page fits."""
    page = open_page(tabs, size, lang)
    response = page.goto(f"{live_server.url}/{lang}/campaigns/{slug}")
    assert response is not None and response.status == 200
    assert_language(page, lang)
    form = page.locator("section.sign form")
    for name, label in (("show_name", SHOW_NAME), ("deliver_name", DELIVER_NAME)):
        box = form.locator(f"input[type=checkbox][name={name}]")
        expect(box).not_to_be_checked()
        expect(box).to_be_visible()
        expect(
            form.get_by_label(translate(live_server.app, lang, label), exact=True)
        ).to_have_count(1)
        assert_box_beside_its_label(page, name)
    link = form.get_by_role("link", name=translate(live_server.app, lang, PRIVACY_LINK))
    expect(link).to_have_attribute("href", f"/{lang}/privacy")
    assert_fields_fill_their_form(page, "section.sign form")
    screenshot(page, f"privacy-sign-{slug}-{lang}-{size}")
    assert_fits(page, f"{slug} {lang} {size}")


@pytest.mark.parametrize("lang", LANGS)
def test_the_privacy_link_works_without_javascript(
    lang: str, live_server: LiveServer, tabs: SharedContexts
) -> None:
    page = open_page(tabs, "phone", lang, java_script_enabled=False)
    page.goto(f"{live_server.url}/{lang}/campaigns/{SLUGS[1]}")
    page.locator("section.sign form").get_by_role(
        "link", name=translate(live_server.app, lang, PRIVACY_LINK)
    ).click()
    page.wait_for_url(f"{live_server.url}/{lang}/privacy")
    assert_language(page, lang)
    expect(page.locator("h1")).to_have_text(translate(live_server.app, lang, "Your privacy"))


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("slug", SLUGS)
def test_on_a_phone_the_form_is_one_tap_from_the_top(
    slug: str, lang: str, live_server: LiveServer, tabs: SharedContexts
) -> None:
    """The form is screens below the campaign's text: a link in the first
    view takes the person to it, without JavaScript."""
    page = open_page(tabs, "phone", lang, java_script_enabled=False)
    page.goto(f"{live_server.url}/{lang}/campaigns/{slug}")
    assert not in_first_view(page, "#sign-heading")
    assert in_first_view(page, ".to-sign a")
    page.locator(".to-sign a").click()
    expect(page).to_have_url(re.compile("#sign-heading$"))
    assert page.evaluate("window.scrollY") > 0
    expect(page.locator("#sign-heading")).to_be_in_viewport()


@pytest.mark.parametrize("lang", LANGS)
def test_an_unticked_form_with_errors_keeps_both_choices_unticked(
    lang: str, live_server: LiveServer, tabs: SharedContexts, screenshot: Shot
) -> None:
    """A refused form comes back with its errors visible and nothing ticked
    for the person."""
    page = open_page(tabs, "phone", lang, java_script_enabled=False)
    page.goto(f"{live_server.url}/{lang}/campaigns/{SLUGS[0]}")
    page.locator("section.sign form button[type=submit]").click()
    expect(page.get_by_role("alert")).to_be_visible()
    assert in_first_view(page, ".error-summary")
    for name in ("show_name", "deliver_name"):
        expect(page.locator(f"input[name={name}]")).not_to_be_checked()
    screenshot(page, f"privacy-sign-errors-{lang}-phone")
    assert_fits(page, f"sign errors {lang}")


# --- the privacy page and the closed campaign's confirmation ---------------------


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("lang", LANGS)
def test_the_privacy_page_fits(
    lang: str, size: str, live_server: LiveServer, tabs: SharedContexts, screenshot: Shot
) -> None:
    page = open_page(tabs, size, lang)
    response = page.goto(f"{live_server.url}/{lang}/privacy")
    assert response is not None and response.status == 200
    assert_language(page, lang)
    assert in_first_view(page, "h1")
    # The address to ask for deletion is one tap away, written left to right.
    mail = page.locator("main a[href^='mailto:']")
    expect(mail).to_have_attribute("dir", "ltr")
    expect(mail).to_have_text(str(live_server.app.config["PRIVACY_CONTACT"]))
    screenshot(page, f"privacy-page-{lang}-{size}")
    assert_fits(page, f"privacy {lang} {size}")


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("lang", LANGS)
def test_the_closed_campaigns_confirmation_fits(
    lang: str,
    size: str,
    live_server: LiveServer,
    tabs: SharedContexts,
    world: World,
    screenshot: Shot,
) -> None:
    with live_server.app.app_context():
        campaign = db.session.execute(
            select(Campaign).where(Campaign.slug == world.closed_slug)
        ).scalar_one()
        signature = create_signature(
            campaign,
            state=SignatureState.pending,
            ip=None,
            checked=True,
            email=f"closed-{uuid.uuid4().hex[:10]}@example.org",
        )
        token = make_confirm_token(signature.uuid)
        campaign_title = campaign.text(lang).title
        campaign.status = CampaignStatus.closed
        db.session.commit()
        db.session.remove()
    page = open_page(tabs, size, lang)
    response = page.goto(f"{live_server.url}/{lang}/confirm/{token}")
    assert response is not None and response.status == 410
    assert_language(page, lang)
    expect(page.locator("h1")).to_have_text(
        translate(live_server.app, lang, "This campaign has closed")
    )
    # The campaign has no text in Kurdish or Turkish: its Arabic title stays
    # isolated inside the sentence, read in its own direction.
    expect(page.locator("main p bdi").first).to_have_text(campaign_title)
    screenshot(page, f"privacy-confirm-closed-{lang}-{size}")
    assert_fits(page, f"closed {lang} {size}")


# --- the console -----------------------------------------------------------------


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("lang", LANGS)
def test_the_login_page_fits_and_shows_the_wait(
    lang: str,
    size: str,
    live_server: LiveServer,
    tabs: SharedContexts,
    world: World,
    screenshot: Shot,
) -> None:
    page = open_page(tabs, size, lang)
    page.goto(live_server.url + "/console/login")
    assert_language(page, lang)
    assert_fields_fill_their_form(page, "main form:has(#password)")
    screenshot(page, f"privacy-login-{lang}-{size}")
    assert_fits(page, f"login {lang} {size}")
    page.fill("#email", world.throttled_email)
    page.fill("#password", PASSWORD)
    with page.expect_response(re.compile(r"/console/login$")) as answer:
        page.locator("main form button[type=submit]").click()
    assert answer.value.status == 429
    alert = page.get_by_role("alert")
    expect(alert).to_be_visible()
    assert in_first_view(page, ".error-summary")
    before, after = translate(
        live_server.app,
        lang,
        "Too many attempts. Please wait %(wait)s, then try again.",
        wait="\x00",
    ).split("\x00")
    expect(alert).to_have_text(re.compile(f"{re.escape(before)}\\S.*{re.escape(after)}"))
    screenshot(page, f"privacy-login-throttled-{lang}-{size}")
    assert_fits(page, f"login throttled {lang} {size}")


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("lang", LANGS)
def test_the_second_factor_pages_fit(
    lang: str,
    size: str,
    live_server: LiveServer,
    tabs: SharedContexts,
    world: World,
    screenshot: Shot,
) -> None:
    """A partner's opt-in (the link, then the first key) and a re-enrolment,
    which asks for the password and the current code."""
    page = open_page(tabs, size, lang)
    page.context.clear_cookies()
    log_in(page, live_server, world.account(Role.partner, False))
    page.wait_for_url(re.compile(r"/console/"))
    link = page.get_by_role("link", name=translate(live_server.app, lang, "Second factor"))
    if size == "phone":  # the console menu is folded under one line
        expect(link).to_be_hidden()
        page.locator(".console-menu > summary").click()
    expect(link).to_be_visible()
    screenshot(page, f"privacy-partner-dashboard-{lang}-{size}")
    assert_fits(page, f"partner dashboard {lang} {size}")
    link.click()
    assert_language(page, lang)
    page.locator("main form button[type=submit]").last.click()
    expect(page.locator(".qr svg")).to_be_visible()
    screenshot(page, f"privacy-totp-first-{lang}-{size}")
    assert_fits(page, f"totp first {lang} {size}")

    page.context.clear_cookies()
    enrolled = world.account(Role.partner, True)
    log_in(page, live_server, enrolled, enrolled.code(live_server))
    page.wait_for_url(re.compile(r"/console/"))
    page.goto(live_server.url + "/console/totp")
    page.locator("main form button[type=submit]").last.click()
    expect(page.locator("#password")).to_be_visible()
    expect(page.locator("#current_code")).to_be_visible()
    assert_fields_fill_their_form(page, "main form:has(#current_code)")
    screenshot(page, f"privacy-totp-again-{lang}-{size}")
    assert_fits(page, f"totp again {lang} {size}")
    page.context.clear_cookies()


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("lang", LANGS)
def test_the_organizers_pages_fit(
    lang: str,
    size: str,
    live_server: LiveServer,
    tabs: SharedContexts,
    world: World,
    screenshot: Shot,
) -> None:
    page = open_page(tabs, size, lang)
    page.context.clear_cookies()
    organizer = world.account(Role.organizer, True)
    log_in(page, live_server, organizer, organizer.code(live_server))
    page.wait_for_url(re.compile(r"/console/"))
    page.goto(live_server.url + "/console/moderation/invalidations/new?campaign=olive-trees-afrin")
    # France has four signers in the seed: the preview says "fewer than 5",
    # and the times come back widened to whole hours.
    since = (utcnow() - timedelta(days=40)).replace(minute=17)
    page.fill("#since", since.strftime("%Y-%m-%dT%H:%M"))
    page.fill("#until", utcnow().strftime("%Y-%m-%dT%H:%M"))
    page.select_option("#country", "FR")
    page.locator("button[value=preview]").click()
    expect(page.locator(".preview")).to_have_text(
        translate(
            live_server.app,
            lang,
            "Fewer than %(num)s signatures meet these conditions now.",
            num=format_number(5, lang),
        )
    )
    expect(page.locator("#since")).to_have_value(since.strftime("%Y-%m-%dT%H:00"))
    assert_fields_fill_their_form(page, "main form[action*=invalidations]")
    screenshot(page, f"privacy-invalidation-{lang}-{size}")
    assert_fits(page, f"invalidation {lang} {size}")
    page.goto(
        f"{live_server.url}/console/campaigns/olive-trees-afrin/paper/{world.paper_import_id}"
    )
    expect(page.locator("[data-awaiting]")).to_have_text(format_number(1, lang))
    expect(page.locator("[data-awaiting]")).to_be_in_viewport()
    screenshot(page, f"privacy-paper-report-{lang}-{size}")
    assert_fits(page, f"paper report {lang} {size}")
    page.context.clear_cookies()
