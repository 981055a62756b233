"""The campaign page: the live count moves with JavaScript on, writing numbers
as the server does in every language; the page keeps its count and sign form
with JavaScript off; and it leads to the action: the count, the goal and the
closing date near the top, a sign button in a phone's first view, the form
beside the story on a wide screen (mirrored in Arabic)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime, timedelta
from urllib.parse import urlsplit

import pytest
from babel.dates import format_date
from playwright.sync_api import ConsoleMessage, Route, expect
from sqlalchemy import select

from campaigns.extensions import db
from campaigns.models import Campaign
from campaigns.models.types import utcnow
from campaigns.seed import CAMPAIGNS

from .conftest import SLUG, Contexts, LiveServer, SharedContexts, format_number
from .layout_support import SIZES, box, in_first_view, record_position
from .reach_support import DIRECTIONS
from .reach_support import LANGS as ALL_LANGS

LANGS = ["ar", "en"]
# live-count.js polls every 5 s.
LIVE_COUNT_WAIT_MS = 12_000
PETITION = "no-russia-on-hrc"
SLUGS = [PETITION, SLUG]


@pytest.mark.parametrize("lang", LANGS)
def test_live_count_follows_new_signatures(
    lang: str, live_server: LiveServer, contexts: Contexts, screenshot
) -> None:
    page = contexts.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if _is_error(m) else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(f"{live_server.url}/{lang}/campaigns/{SLUG}")
    count = page.locator("[data-count-url] [data-live-count]")
    progress = page.locator("[data-count-url] progress")
    before = live_server.campaign_json()
    expect(count).to_have_text(format_number(before["total"], lang))

    live_server.add_validated_signature(amount=7)
    after = live_server.campaign_json()
    assert after["total"] == before["total"] + 7

    expect(count).to_have_text(format_number(after["total"], lang), timeout=LIVE_COUNT_WAIT_MS)
    expect(progress).to_have_js_property("value", min(after["total"], after["goal"]))
    # CSP violations and script errors show up in the console.
    assert errors == []
    screenshot(page, f"campaign-{lang}")


def _is_error(message: ConsoleMessage) -> bool:
    # The browser asks for /favicon.ico by itself; the app has none (see the report).
    favicon = urlsplit(message.location.get("url", "")).path.startswith("/favicon.ico")
    return message.type == "error" and not favicon


@pytest.mark.parametrize("lang", LANGS)
def test_page_works_without_javascript(
    lang: str, live_server: LiveServer, contexts: Contexts, screenshot
) -> None:
    page = contexts.new_page(java_script_enabled=False)
    response = page.goto(f"{live_server.url}/{lang}/campaigns/{SLUG}")
    assert response is not None and response.status == 200
    data = live_server.campaign_json()

    expect(page.locator("[data-live-count]")).to_have_text(format_number(data["total"], lang))
    expect(page.locator(".progress progress")).to_be_visible()
    form = page.locator("section.sign form")
    expect(form).to_be_visible()
    expect(form).to_have_attribute("method", "post")
    # No fragment: after a refused form the error summary's autofocus brings
    # it into view (a fragment would make the browser skip autofocus).
    expect(form).to_have_attribute("action", f"/{lang}/campaigns/{SLUG}/sign")
    for name in ("full_name", "email", "phone", "country", "region", "amount"):
        expect(form.locator(f"[name={name}]")).to_be_visible()
    expect(form.locator("[name=show_name]")).to_be_visible()
    expect(form.locator("button[type=submit]")).to_be_visible()
    screenshot(page, f"campaign-{lang}-no-js")


# --- numbers ------------------------------------------------------------------------

# A busy campaign's count JSON: numbers big enough to need grouping.
BUSY = {"total": 1_234_567, "signers": 23_456, "goal": 100_000}


@pytest.mark.parametrize("lang", ALL_LANGS)
def test_the_live_count_writes_numbers_as_the_server_does(
    lang: str, live_server: LiveServer, contexts: Contexts
) -> None:
    page = contexts.new_page()

    def busy(route: Route) -> None:
        route.fulfill(json=BUSY, headers={"Cache-Control": "no-store"})

    page.route(f"{live_server.url}/api/v1/campaigns/{PETITION}/count", busy)
    page.goto(f"{live_server.url}/{lang}/campaigns/{PETITION}")
    root = page.locator("[data-count-url]")
    # The goal is written by the server: "100.000" in Kurdish and Turkish.
    expect(root.locator(".goal")).to_contain_text(format_number(BUSY["goal"], lang))
    expect(root.locator("[data-live-count]")).to_have_text(
        format_number(BUSY["total"], lang), timeout=LIVE_COUNT_WAIT_MS
    )
    expect(root.locator("[data-live-signers]")).to_have_text(format_number(BUSY["signers"], lang))


# --- leading to the action ------------------------------------------------------------


@pytest.fixture(scope="module")
def closing_date(live_server: LiveServer) -> Iterator[datetime]:
    """The pledge campaign closes in three months (the seed sets no date)."""
    closes = (utcnow() + timedelta(days=90)).replace(hour=12, minute=0, second=0, microsecond=0)

    def set_closing(value: datetime | None) -> None:
        with live_server.app.app_context():
            query = select(Campaign).where(Campaign.slug == SLUG)
            campaign = db.session.execute(query).scalar_one()
            campaign.closes_at = value
            db.session.commit()
            db.session.remove()

    set_closing(closes)
    try:
        yield closes
    finally:
        set_closing(None)


@pytest.mark.parametrize("size", list(SIZES))
@pytest.mark.parametrize("lang", ALL_LANGS)
@pytest.mark.parametrize("slug", SLUGS)
def test_the_count_the_deadline_and_the_way_to_sign_are_in_the_first_view(
    slug: str,
    lang: str,
    size: str,
    live_server: LiveServer,
    tabs: SharedContexts,
    closing_date: datetime,
) -> None:
    page = tabs.new_page(**SIZES[size], java_script_enabled=False)
    page.goto(f"{live_server.url}/{lang}/campaigns/{slug}")
    page.evaluate("document.fonts.ready.then(() => true)")
    assert in_first_view(page, "[data-count-url] [data-live-count]")
    assert in_first_view(page, "[data-count-url] .goal")
    # Who the petition asks, in the page's language, before any scrolling.
    targets = {spec["slug"]: spec["texts"] for spec in CAMPAIGNS}[slug]
    if targets[lang].get("target"):
        expect(page.locator(".campaign .target bdi")).to_have_text(targets[lang]["target"])
        record_position("target", f"{slug} {lang} {size}", box(page, ".campaign .target"))
        assert in_first_view(page, ".campaign .target")
    if slug == SLUG:
        deadline = page.locator(".deadline")
        expect(deadline).to_contain_text(format_date(closing_date.date(), "long", locale=lang))
        assert in_first_view(page, ".deadline")
    if size == "phone":
        button = box(page, ".to-sign a")
        record_position("sign-button", f"{slug} {lang} {size}", button)
        assert in_first_view(page, ".to-sign a")
        assert button["height"] >= 44
        page.locator(".to-sign a").click()
        expect(page).to_have_url(re.compile("#sign-heading$"))
        expect(page.locator("#sign-heading")).to_be_in_viewport()
        return
    # On a wide screen the form is beside the story, on its end side: the
    # right in English, the left in Arabic.
    expect(page.locator(".to-sign")).to_be_hidden()
    story, form = box(page, "article.campaign"), box(page, "section.sign")
    record_position("sign-button", f"{slug} {lang} {size}", box(page, "section.sign button"))
    record_position("sign-form", f"{slug} {lang} {size}", form)
    assert in_first_view(page, "#sign-heading")
    assert in_first_view(page, "section.sign form input[name=full_name]")
    if DIRECTIONS[lang] == "rtl":
        assert form["x"] + form["width"] <= story["x"], (form, story)
    else:
        assert story["x"] + story["width"] <= form["x"], (form, story)
