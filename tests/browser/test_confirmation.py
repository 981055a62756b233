"""The end of the road: after pressing "confirm", the person sees at once,
without scrolling, that their pledge is confirmed and the count with them in
it (before the count job has run), then plain links to pass the campaign on,
with no request to another site; that browser is not offered the form again,
but a link lets someone else at the same device sign. Checked at a phone's and
a desktop's size in the four languages, with axe-core on the new states."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect

from campaigns.counting.services import update_signature_counts
from campaigns.extensions import db

from .conftest import SLUG, Contexts, LiveServer, format_number
from .layout_support import SIZES, box, in_first_view, record_position
from .reach_support import (
    LANGS,
    SERIOUS,
    confirm_token,
    describe_violations,
    fill_sign_form,
    run_axe,
    signer_for,
    translate,
)

PLEDGED = 3
SHARE_HOSTS = ("https://wa.me/", "https://t.me/", "https://www.facebook.com/", "https://x.com/")


@pytest.fixture(autouse=True)
def fold_confirmations(live_server: LiveServer) -> Iterator[None]:
    """Count what the test confirmed once it is done, as the count job would,
    so that the next tests find the count JSON and the tables agreeing."""
    yield
    with live_server.app.app_context():
        update_signature_counts()
        db.session.remove()


def confirm(page: Page, server: LiveServer, lang: str) -> None:
    """Open a fresh signature's link and press its button."""
    page.goto(f"{server.url}/{lang}/confirm/{confirm_token(server, amount=PLEDGED)}")
    page.get_by_role("button", name=translate(server.app, lang, "Confirm my pledge")).click()
    expect(page).to_have_url(f"{server.url}/{lang}/campaigns/{SLUG}?confirmed=1")
    page.evaluate("document.fonts.ready.then(() => true)")


def assert_no_serious_violation(page: Page, what: str) -> None:
    serious = [v for v in run_axe(page) if v["impact"] in SERIOUS]
    assert serious == [], f"{what}:\n{describe_violations(serious)}"


@pytest.mark.parametrize("size", list(SIZES))
@pytest.mark.parametrize("lang", LANGS)
def test_the_confirmation_and_the_new_count_are_in_the_first_view(
    lang: str, size: str, live_server: LiveServer, contexts: Contexts, screenshot
) -> None:
    app = live_server.app
    before = live_server.campaign_json()
    page = contexts.new_page(**SIZES[size])
    confirm(page, live_server, lang)

    notice = page.get_by_role("status")
    expect(notice).to_contain_text(translate(app, lang, "Thank you: your pledge is confirmed."))
    # The count job has not run (it is off in these tests): the person is
    # added to the count they see, never left out of it.
    count = page.locator("[data-confirmed-count]")
    expect(count).to_have_text(format_number(before["total"] + PLEDGED, lang))
    assert live_server.campaign_json()["total"] == before["total"]
    thanks, line = box(page, ".confirmed h2"), box(page, ".confirmed .count")
    figures = {
        "notice_top": thanks["y"],
        "notice_bottom": thanks["y"] + thanks["height"],
        "count_top": line["y"],
        "count_bottom": line["y"] + line["height"],
        "share_top": box(page, ".confirmed .share")["y"],
    }
    record_position("confirmation", f"{lang} {size}", figures)
    screenshot(page, f"confirmed-{lang}-{size}")
    assert in_first_view(page, ".confirmed h2"), figures
    assert in_first_view(page, ".confirmed .count"), figures

    # Plain links to pass it on, to the campaign page in the person's language.
    links = page.locator(".confirmed .share a")
    expect(links).to_have_count(5)
    hrefs = [link.get_attribute("href") or "" for link in links.all()]
    for host in SHARE_HOSTS:
        assert any(href.startswith(host) for href in hrefs), (host, hrefs)
    assert any(href.startswith("mailto:?") for href in hrefs)
    expect(page.locator("#share-link")).to_have_value(f"{live_server.url}/{lang}/campaigns/{SLUG}")
    # No second form for this browser.
    expect(page.locator("section.sign form")).to_have_count(0)
    assert_no_serious_violation(page, f"confirmed {lang} {size}")


@pytest.mark.parametrize("lang", ["ar", "en"])
def test_the_link_can_be_copied_with_and_without_javascript(
    lang: str, live_server: LiveServer, contexts: Contexts
) -> None:
    url = f"{live_server.url}/{lang}/campaigns/{SLUG}"
    plain = contexts.new_page(java_script_enabled=False)
    confirm(plain, live_server, lang)
    expect(plain.locator("#share-link")).to_have_value(url)
    expect(plain.locator("#share-link")).to_be_visible()
    expect(plain.locator("button[data-copy]")).to_be_hidden()

    context = contexts.new_context()
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server.url)
    page = context.new_page()
    confirm(page, live_server, lang)
    button = page.locator("button[data-copy]")
    expect(button).to_have_text(translate(live_server.app, lang, "Copy"))
    button.click()
    expect(button).to_have_text(translate(live_server.app, lang, "Copied"))
    assert page.evaluate("navigator.clipboard.readText()") == url


@pytest.mark.parametrize("js", [True, False], ids=["js", "no-js"])
@pytest.mark.parametrize("lang", ["ar", "en"])
def test_the_form_is_not_offered_again_but_someone_else_may_sign(
    lang: str, js: bool, live_server: LiveServer, contexts: Contexts
) -> None:
    app = live_server.app
    page = contexts.new_page(**SIZES["phone"], java_script_enabled=js)
    confirm(page, live_server, lang)
    page.goto(f"{live_server.url}/{lang}/campaigns/{SLUG}")
    signed = page.locator(".signed-here")
    expect(signed).to_contain_text(
        translate(app, lang, "You have pledged to this campaign from this browser.")
    )
    expect(page.locator("section.sign form")).to_have_count(0)
    expect(page.locator(".to-sign")).to_have_count(0)
    if js:  # axe-core is a script: it cannot run in a page without them
        assert_no_serious_violation(page, f"signed here {lang}")

    # Someone else at the same phone.
    signed.get_by_role("link", name=translate(app, lang, "Pledge as someone else")).click()
    expect(page.locator("#sign-heading")).to_be_in_viewport()
    fill_sign_form(page, app, lang, signer_for(lang, js))
    page.locator("section.sign form button[type=submit]").click()
    expect(page).to_have_url(f"{live_server.url}/{lang}/campaigns/{SLUG}/thanks")
    # Back on the campaign: not counted until the link in the email is pressed.
    page.goto(f"{live_server.url}/{lang}/campaigns/{SLUG}")
    expect(page.locator(".signed-here")).to_contain_text(
        translate(
            app,
            lang,
            "If you have not done so yet, open the link in the email we sent you and press "
            "its button: only then is it counted.",
        )
    )
