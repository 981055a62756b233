"""Signing and confirming as a person does it, on a phone, in each of the four
languages, with JavaScript on and off: the form, the thanks page, the email,
the confirmation landing page and its button, and the count going up. And the
form's errors: a summary linked to the fields, in the page's language, that
takes the focus with or without JavaScript; every invalid box drawn as one;
boxes big enough for a thumb, starting in the page's direction."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Page, expect

from campaigns.counting.services import update_signature_counts
from campaigns.extensions import db
from campaigns.outbox import relay_outbox
from campaigns.seed import CAMPAIGNS

from .conftest import SLUG, Contexts, LiveServer, SharedContexts, format_number
from .layout_support import SIZES, in_first_view
from .reach_support import (
    DIRECTIONS,
    LANGS,
    confirm_link,
    email_to,
    fill_sign_form,
    phone_page,
    signer_for,
    translate,
)

TITLES = {
    lang: texts["title"]
    for lang, texts in next(s["texts"] for s in CAMPAIGNS if s["slug"] == SLUG).items()
}
# The errors of an empty pledge form, in the order of the fields.
EMPTY_FORM_ERRORS = [
    ("full_name", "Please enter your name."),
    ("email", "Please enter your email address."),
    ("country", "Please choose your country."),
    ("region", "Please enter your city or region."),
    ("amount", "Please enter how many you pledge."),
]


@pytest.fixture
def tabs(tabs: SharedContexts) -> SharedContexts:
    """The module's browser profiles, without the cookies of the signatures
    made by the tests before: a browser that signed is not offered the form."""
    for context in tabs.kept.values():
        context.clear_cookies()
    return tabs


@pytest.fixture
def one_address_for_all_signers(live_server: LiveServer) -> Iterator[None]:
    """Every browser signer comes from 127.0.0.1, and the seed and the other
    browser tests add signatures from it too: lift the per-address rate rule
    (tested in tests/workers) so that it does not silently mark ours fraudulent."""
    config = live_server.app.config
    saved = {key: config[key] for key in ("RATE_BURST_LIMIT", "RATE_SUSTAINED_LIMIT")}
    config.update(RATE_BURST_LIMIT=10_000, RATE_SUSTAINED_LIMIT=10_000)
    yield
    config.update(saved)


def run_in_app(server: LiveServer, job: Callable[[], object]) -> None:
    """A periodic job, run the way the scheduler would (it is off in tests)."""
    with server.app.app_context():
        job()
        db.session.remove()


@pytest.mark.usefixtures("one_address_for_all_signers")
@pytest.mark.parametrize("js", [True, False], ids=["js", "no-js"])
@pytest.mark.parametrize("lang", LANGS)
def test_sign_and_confirm(
    lang: str, js: bool, live_server: LiveServer, tabs: SharedContexts, screenshot
) -> None:
    app, url = live_server.app, live_server.url
    campaign_url = f"{url}/{lang}/campaigns/{SLUG}"
    run_in_app(live_server, update_signature_counts)
    before = live_server.campaign_json()

    page = phone_page(tabs, java_script_enabled=js)
    page.goto(campaign_url)
    expect(page.locator("html")).to_have_attribute("lang", lang)
    expect(page.locator("html")).to_have_attribute("dir", DIRECTIONS[lang])
    signer = signer_for(lang, js)
    fill_sign_form(page, app, lang, signer)
    page.get_by_role("button", name=translate(app, lang, "Pledge"), exact=True).click()

    # The sign form's #sign-heading anchor carries over the redirect.
    expect(page).to_have_url(re.compile(re.escape(f"{campaign_url}/thanks") + r"(#sign-heading)?$"))
    expect(page.locator("h1")).to_have_text(
        translate(app, lang, "Thank you. One more step: check your email")
    )
    # The email leaves once the outbox is relayed (the scheduler's job, off in tests).
    assert email_to(app, signer.email) == []
    run_in_app(live_server, relay_outbox)
    (message,) = email_to(app, signer.email)
    assert message["Content-Language"] == lang
    assert message["Subject"] == translate(
        app, lang, "Please confirm your pledge: %(title)s", title=TITLES[lang]
    )
    link = confirm_link(message, live_server)
    assert urlsplit(link).path.startswith(f"/{lang}/confirm/")

    page.goto(link)
    expect(page.locator("html")).to_have_attribute("lang", lang)
    expect(page.locator("h1")).to_have_text(translate(app, lang, "Confirm your pledge"))
    page.get_by_role("button", name=translate(app, lang, "Confirm my pledge")).click()

    expect(page).to_have_url(f"{campaign_url}?confirmed=1")
    expect(page.get_by_role("status")).to_contain_text(
        translate(app, lang, "Thank you: your pledge is confirmed.")
    )
    # With the person in it at once, before the count job has run.
    expect(page.locator("[data-confirmed-count]")).to_have_text(
        format_number(before["total"] + signer.amount, lang)
    )
    run_in_app(live_server, update_signature_counts)
    after = live_server.campaign_json()
    assert after["total"] == before["total"] + signer.amount
    assert after["signers"] == before["signers"] + 1
    page.goto(campaign_url)
    expect(page.locator("[data-count-url] [data-live-count]")).to_have_text(
        format_number(after["total"], lang)
    )
    # This browser has signed: no second form.
    expect(page.locator("section.sign form")).to_have_count(0)
    screenshot(page, f"signed-{lang}-{'js' if js else 'no-js'}")


@pytest.mark.parametrize("lang", LANGS)
def test_form_errors_without_javascript(
    lang: str, live_server: LiveServer, tabs: SharedContexts, screenshot
) -> None:
    app = live_server.app
    page = phone_page(tabs, java_script_enabled=False)
    page.goto(f"{live_server.url}/{lang}/campaigns/{SLUG}")
    with page.expect_response(lambda r: r.request.method == "POST") as posted:
        page.get_by_role("button", name=translate(app, lang, "Pledge"), exact=True).click()
    assert posted.value.status == 422
    expect(page.locator("html")).to_have_attribute("lang", lang)
    expect(page.locator("html")).to_have_attribute("dir", DIRECTIONS[lang])

    summary = page.get_by_role("alert")
    expect(summary).to_be_visible()
    expect(summary.get_by_role("heading")).to_have_text(
        translate(app, lang, "Please correct the following:")
    )
    expected = [(name, translate(app, lang, message)) for name, message in EMPTY_FORM_ERRORS]
    if lang != "en":
        # Really translated: none of the errors is left in English.
        english = {message for _, message in EMPTY_FORM_ERRORS}
        assert not english & {text for _, text in expected}, expected
    links = summary.get_by_role("link")
    expect(links).to_have_text([text for _, text in expected])
    assert [link.get_attribute("href") for link in links.all()] == [
        f"#{name}" for name, _ in expected
    ]
    for name, text in expected:
        field = page.locator(f"#{name}")
        expect(page.locator(f"#{name}-error")).to_have_text(text)
        expect(field).to_have_attribute("aria-invalid", "true")
        # Read out with the field (after its hint, where it has one).
        expect(field).to_have_accessible_description(re.compile(re.escape(text)))
    screenshot(page, f"sign-errors-{lang}-no-js")

    # The summary's links lead to their fields, without any script.
    for index, (name, _) in enumerate(expected):
        links.nth(index).click()
        expect(page).to_have_url(f"{live_server.url}/{lang}/campaigns/{SLUG}/sign#{name}")
        expect(page.locator(f"#{name}")).to_be_in_viewport()
        expect(page.locator(f"#{name}")).to_be_focused()


@pytest.mark.parametrize(("lang", "js"), [("ar", False), ("en", True)], ids=["ar-no-js", "en-js"])
def test_error_summary_is_in_view_after_a_failed_submit(
    lang: str, js: bool, live_server: LiveServer, tabs: SharedContexts
) -> None:
    page = phone_page(tabs, java_script_enabled=js)
    page.goto(f"{live_server.url}/{lang}/campaigns/{SLUG}")
    page.locator("section.sign form button[type=submit]").click()
    summary = page.get_by_role("alert")
    expect(summary).to_be_visible()
    # Where the person is looking once the answer has loaded: it does not move later.
    page.wait_for_load_state("load")
    expect(summary.get_by_role("heading")).to_be_in_viewport(ratio=1, timeout=1_000)


# The fields an empty pledge form refuses, and one it accepts empty.
INVALID = [name for name, _ in EMPTY_FORM_ERRORS]
VALID = "phone"
BOXES = "section.sign form :is(input:not([type=hidden]):not([type=checkbox]), select)"
# The honeypot's box is for bots: hidden from people, so not for thumbs.
VISIBLE_BOXES = "es => es.filter(e => !e.closest('.hp')).map(e => e.offsetHeight)"


def _borders(page: Page) -> dict[str, list[str]]:
    """Each field's computed border (colour and width, every side)."""
    borders: dict[str, list[str]] = page.evaluate(
        """ids => Object.fromEntries(ids.map(id => {
            const s = getComputedStyle(document.getElementById(id));
            return [id, [s.borderTopColor, s.borderInlineStartColor, s.borderTopWidth]];
        }))""",
        [*INVALID, VALID],
    )
    return borders


@pytest.mark.parametrize("js", [True, False], ids=["js", "no-js"])
@pytest.mark.parametrize("size", list(SIZES))
@pytest.mark.parametrize("lang", LANGS)
def test_every_invalid_field_shows_its_error_and_the_summary_takes_the_focus(
    lang: str, js: bool, size: str, live_server: LiveServer, contexts: Contexts
) -> None:
    page = contexts.new_page(**SIZES[size], java_script_enabled=js)
    page.goto(f"{live_server.url}/{lang}/campaigns/{SLUG}")
    valid = _borders(page)
    # Boxes for a thumb; empty ones start in the page's direction (email and
    # phone read left to right in every language).
    heights = page.locator(BOXES).evaluate_all(VISIBLE_BOXES)
    assert heights and min(heights) >= 44, heights
    directions = page.evaluate(
        """() => Object.fromEntries(['full_name', 'email', 'phone', 'region', 'amount']
            .map(id => [id, getComputedStyle(document.getElementById(id)).direction]))"""
    )
    page_dir = DIRECTIONS[lang]
    assert directions == {
        "full_name": page_dir, "email": "ltr", "phone": "ltr", "region": page_dir,
        "amount": page_dir,
    }

    page.locator("section.sign form button[type=submit]").click()
    summary = page.locator(".error-summary")
    expect(summary).to_be_focused()
    assert in_first_view(page, ".error-summary h3")
    shown = _borders(page)
    for name in INVALID:
        # Not the border it had before, nor the one a valid field keeps.
        assert shown[name] != valid[name], (name, shown[name], valid[name])
        assert shown[name][:2] != shown[VALID][:2], (name, shown[name], shown[VALID])
    assert shown[VALID] == valid[VALID]


def test_typed_text_takes_its_own_direction(live_server: LiveServer, contexts: Contexts) -> None:
    page = contexts.new_page(**SIZES["phone"])
    page.goto(f"{live_server.url}/ar/campaigns/{SLUG}")
    name = page.locator("#full_name")
    expect(name).to_have_js_property("dir", "rtl")
    name.fill("Hanna Schmidt")
    expect(name).to_have_js_property("dir", "auto")
    assert name.evaluate("e => getComputedStyle(e).direction") == "ltr"
    name.fill("")
    expect(name).to_have_js_property("dir", "rtl")
