""""Leave quickly" on a sensitive campaign's page, in Chromium, on a phone
(360×740) and a desktop (1280×800): the link is in the first viewport, and
stays in view as the page scrolls; without JavaScript it is a plain link to
the neutral page; with JavaScript the campaign page (or its results) is also
taken out of the history, so Back does not return to it. The neutral page asks our server for
nothing else (no style sheet, script, image or icon)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from campaigns.extensions import db
from campaigns.models import Campaign

from .conftest import Contexts, LiveServer

# The petition, made sensitive for this module only.
SLUG = "no-russia-on-hrc"
SIZES: dict[str, dict[str, Any]] = {
    "phone": {"viewport": {"width": 360, "height": 740}, "is_mobile": True, "has_touch": True},
    "desktop": {"viewport": {"width": 1280, "height": 800}},
}
LEAVE = {"ar": "غادر بسرعة", "en": "Leave quickly"}


def _set_sensitive(server: LiveServer, value: bool) -> None:
    with server.app.app_context():
        campaign = db.session.execute(select(Campaign).where(Campaign.slug == SLUG)).scalar_one()
        campaign.sensitive = value
        db.session.commit()
        db.session.remove()


@pytest.fixture(scope="module")
def sensitive(live_server: LiveServer) -> Iterator[str]:
    _set_sensitive(live_server, True)
    try:
        yield SLUG
    finally:
        _set_sensitive(live_server, False)


def _in_viewport(page: Page, selector: str) -> bool:
    box = page.locator(selector).bounding_box()
    size = page.viewport_size
    assert box is not None and size is not None
    return (
        box["y"] >= 0
        and box["y"] + box["height"] <= size["height"]
        and box["x"] >= 0
        and box["x"] + box["width"] <= size["width"]
    )


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("lang", ["ar", "en"])
def test_the_leave_link_is_in_the_first_viewport_and_stays_there(
    contexts: Contexts,
    live_server: LiveServer,
    sensitive: str,
    screenshot: Callable[[Page, str], Path],
    size: str,
    lang: str,
) -> None:
    page = contexts.new_page(**SIZES[size])
    page.goto(f"{live_server.url}/{lang}/campaigns/{sensitive}")
    link = page.get_by_role("link", name=LEAVE[lang])
    expect(link).to_be_visible()
    assert _in_viewport(page, "a[data-leave]")
    # Big enough to hit with a thumb.
    box = link.bounding_box()
    assert box is not None and box["height"] >= 44
    screenshot(page, f"leave-quickly-{lang}-{size}")
    # Scrolled to the sign form at the bottom, it is still there.
    page.locator("#sign-heading").scroll_into_view_if_needed()
    page.mouse.wheel(0, 5000)
    page.wait_for_timeout(100)
    assert page.evaluate("window.scrollY") > 0
    assert _in_viewport(page, "a[data-leave]")


@pytest.mark.parametrize("size", SIZES)
def test_without_javascript_it_is_a_plain_link_to_the_neutral_page(
    contexts: Contexts, live_server: LiveServer, sensitive: str, size: str
) -> None:
    page = contexts.new_page(java_script_enabled=False, **SIZES[size])
    page.goto(f"{live_server.url}/ar/campaigns/{sensitive}")
    page.wait_for_load_state("networkidle")
    before = len(contexts.requests)
    page.get_by_role("link", name=LEAVE["ar"]).click()
    page.wait_for_url(f"{live_server.url}/ar/today")
    expect(page.locator("h1")).to_be_visible()
    html = page.content()
    assert "زيتون" not in html and "Zaytoun" not in html and "حلب" not in html
    # The neutral page alone: no style sheet, script, image or icon of ours.
    assert contexts.requests[before:] == [f"{live_server.url}/ar/today"]
    # A plain link: Back still knows the campaign page (the docs say so).
    page.go_back()
    assert page.url.endswith(f"/ar/campaigns/{sensitive}")


@pytest.mark.parametrize("where", ["", "/results"])
def test_with_javascript_back_does_not_return_to_the_campaign(
    contexts: Contexts, live_server: LiveServer, sensitive: str, where: str
) -> None:
    page = contexts.new_page(**SIZES["phone"])
    page.goto(f"{live_server.url}/ar/")
    page.goto(f"{live_server.url}/ar/campaigns/{sensitive}{where}")
    page.wait_for_load_state("load")
    length = page.evaluate("history.length")
    page.get_by_role("link", name=LEAVE["ar"]).click()
    page.wait_for_url(f"{live_server.url}/ar/today")
    # The campaign page was replaced, not followed by a new entry.
    assert page.evaluate("history.length") == length
    page.go_back()
    page.wait_for_url(f"{live_server.url}/ar/")
    assert page.url == f"{live_server.url}/ar/"


def test_other_campaign_pages_have_no_leave_link(
    contexts: Contexts, live_server: LiveServer, sensitive: str
) -> None:
    page = contexts.new_page(**SIZES["phone"])
    page.goto(f"{live_server.url}/ar/campaigns/olive-trees-afrin")
    expect(page.locator("h1")).to_be_visible()
    assert page.locator("a[data-leave]").count() == 0
