"""The collection sheets page on a phone (360×740), in a real browser without
JavaScript: an organizer issues sheets to a collector from the form, the page
says so, lists them, and is never wider than the phone, in Arabic and
English; the collector's name is only on the page asked for with its
button."""

from __future__ import annotations

import re
import uuid

import pytest
from playwright.sync_api import Page, expect

from campaigns.models import Role

from .conftest import Contexts, LiveServer
from .reach_support import console_page, translate

SLUG = "olive-trees-afrin"
PHONE = {"width": 360, "height": 740}


def _scroll_width(page: Page) -> int:
    return int(page.evaluate("document.documentElement.scrollWidth"))


@pytest.mark.parametrize("lang", ["ar", "en"])
def test_issuing_sheets_on_a_phone_without_javascript(
    lang: str, live_server: LiveServer, contexts: Contexts, screenshot
) -> None:
    app = live_server.app
    page = console_page(live_server, contexts, Role.organizer, lang, viewport=PHONE)
    page.goto(f"{live_server.url}/console/campaigns/{SLUG}/sheets")
    name = f"نور حسن {uuid.uuid4().hex[:6]}"
    page.get_by_label(translate(app, lang, "How many sheets")).fill("3")
    page.get_by_label(translate(app, lang, "Collector's name")).fill(name)
    page.get_by_label(translate(app, lang, "Collector's phone (optional)")).fill("0944 123 456")
    page.get_by_role("button", name=translate(app, lang, "Issue"), exact=True).click()
    page.wait_for_url(re.compile(rf"/console/campaigns/{SLUG}/sheets"))

    expect(page.locator("[role=status]")).to_be_visible()
    rows = page.locator("tr[data-sheet]")
    assert rows.count() >= 3
    assert name not in page.content()
    assert _scroll_width(page) <= PHONE["width"], "the page scrolls sideways"
    screenshot(page, f"console/sheets-{lang}-360")

    page.get_by_role("button", name=translate(app, lang, "Show the collector")).first.click()
    expect(page.locator("[data-collector-name]")).to_have_text(name)
    assert _scroll_width(page) <= PHONE["width"]
