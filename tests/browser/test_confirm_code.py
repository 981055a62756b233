"""Confirming by the code in the email, as a person on a phone does it with
JavaScript off: sign, read the code in the email, type it on the thanks page
(in Arabic-Indic digits in Arabic), and see the confirmation with the count
including the pledge."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

import pytest
from playwright.sync_api import expect

from campaigns.counting.services import update_signature_counts
from campaigns.extensions import db
from campaigns.outbox import relay_outbox

from .conftest import SLUG, LiveServer, SharedContexts, format_number
from .layout_support import in_first_view
from .reach_support import email_to, fill_sign_form, phone_page, signer_for, translate

CODE_LINE = re.compile(r"^\u2066?(\d{4} \d{4})\u2069?$", re.MULTILINE)
ARABIC_INDIC = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")


@pytest.fixture
def tabs(tabs: SharedContexts) -> SharedContexts:
    """Browser profiles without the cookies of the signatures made before."""
    for context in tabs.kept.values():
        context.clear_cookies()
    return tabs


@pytest.fixture
def one_address_for_all_signers(live_server: LiveServer) -> Iterator[None]:
    """Every browser signer comes from 127.0.0.1: lift the per-address rate
    rule (tested in tests/workers) so that it does not mark ours fraudulent."""
    config = live_server.app.config
    saved = {key: config[key] for key in ("RATE_BURST_LIMIT", "RATE_SUSTAINED_LIMIT")}
    config.update(RATE_BURST_LIMIT=10_000, RATE_SUSTAINED_LIMIT=10_000)
    yield
    config.update(saved)


def run_in_app(server: LiveServer, job: Callable[[], object]) -> None:
    with server.app.app_context():
        job()
        db.session.remove()


@pytest.mark.usefixtures("one_address_for_all_signers")
@pytest.mark.parametrize("lang", ["ar", "en"])
def test_sign_and_confirm_by_code_without_javascript(
    lang: str, live_server: LiveServer, tabs: SharedContexts, screenshot
) -> None:
    app, url = live_server.app, live_server.url
    campaign_url = f"{url}/{lang}/campaigns/{SLUG}"
    run_in_app(live_server, update_signature_counts)
    before = live_server.campaign_json()

    page = phone_page(tabs, java_script_enabled=False)
    page.goto(campaign_url)
    signer = signer_for(lang, False)
    fill_sign_form(page, app, lang, signer)
    page.get_by_role("button", name=translate(app, lang, "Pledge"), exact=True).click()
    expect(page).to_have_url(re.compile(re.escape(f"{campaign_url}/thanks") + r"(#sign-heading)?$"))

    # The email, read as on another device: only its code is used here.
    run_in_app(live_server, relay_outbox)
    (message,) = email_to(app, signer.email)
    plain = message.get_body(("plain",))
    assert plain is not None
    (code,) = CODE_LINE.findall(plain.get_content())

    box = page.get_by_label(translate(app, lang, "Code from the email"), exact=True)
    expect(box).to_be_visible()
    # In Arabic, typed as an Arabic keyboard types digits.
    box.fill(code.translate(ARABIC_INDIC) if lang == "ar" else code)
    screenshot(page, f"confirm-code-{lang}-typed")
    page.get_by_role("button", name=translate(app, lang, "Confirm my pledge")).click()

    expect(page).to_have_url(f"{campaign_url}?confirmed=1")
    notice = page.get_by_role("status")
    expect(notice).to_contain_text(translate(app, lang, "Thank you: your pledge is confirmed."))
    assert in_first_view(page, "[role=status]")
    expect(page.locator("[data-confirmed-count]")).to_have_text(
        format_number(before["total"] + signer.amount, lang)
    )
    screenshot(page, f"confirm-code-{lang}-confirmed")
    run_in_app(live_server, update_signature_counts)
    after = live_server.campaign_json()
    assert after["total"] == before["total"] + signer.amount
    assert after["signers"] == before["signers"] + 1


@pytest.mark.usefixtures("one_address_for_all_signers")
def test_a_wrong_code_is_refused_on_the_page_without_javascript(
    live_server: LiveServer, tabs: SharedContexts
) -> None:
    app, url = live_server.app, live_server.url
    lang = "ar"
    campaign_url = f"{url}/{lang}/campaigns/{SLUG}"
    page = phone_page(tabs, java_script_enabled=False)
    page.goto(campaign_url)
    fill_sign_form(page, app, lang, signer_for(lang, False))
    page.get_by_role("button", name=translate(app, lang, "Pledge"), exact=True).click()

    box = page.get_by_label(translate(app, lang, "Code from the email"), exact=True)
    box.fill("٠٠٠٠ ٠٠٠٠")
    page.get_by_role("button", name=translate(app, lang, "Confirm my pledge")).click()

    error = page.locator("#code-error")
    wrong = "This code is not right. Please check the digits in the email."
    expect(error).to_have_text(translate(app, lang, wrong))
    expect(page.locator("h1")).to_have_text(
        translate(app, lang, "Thank you. One more step: check your email")
    )
    # The error summary takes the focus, so a phone shows it without scrolling.
    summary = page.locator("#error-summary")
    expect(summary).to_be_focused()
    expect(summary).to_contain_text(translate(app, lang, wrong))
    assert in_first_view(page, "#error-summary")
