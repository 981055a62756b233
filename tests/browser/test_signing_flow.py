"""Signing and confirming as a person does it, on a phone, in each of the four
languages, with JavaScript on and off: the form, the thanks page, the email,
the confirmation landing page and its button, and the count going up. And the
form's errors without JavaScript: a summary linked to the fields, in the
page's language."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect

from campaigns.counting.services import update_signature_counts
from campaigns.extensions import db
from campaigns.outbox import relay_outbox
from campaigns.seed import CAMPAIGNS

from .conftest import SLUG, LiveServer, SharedContexts, format_number
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
    expect(page.locator("h1")).to_have_text(translate(app, lang, "Confirm your signature"))
    page.get_by_role("button", name=translate(app, lang, "Confirm my signature")).click()

    expect(page).to_have_url(f"{campaign_url}?confirmed=1")
    expect(page.get_by_role("status")).to_have_text(
        translate(
            app,
            lang,
            "Thank you: your signature is confirmed and will be counted within a few seconds.",
        )
    )
    run_in_app(live_server, update_signature_counts)
    after = live_server.campaign_json()
    assert after["total"] == before["total"] + signer.amount
    assert after["signers"] == before["signers"] + 1
    page.goto(campaign_url)
    expect(page.locator("[data-count-url] [data-live-count]")).to_have_text(
        format_number(after["total"], lang)
    )
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
