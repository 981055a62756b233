"""The campaign image in Chromium: on a 360 × 740 phone the browser fetches
only the phone's variant (AVIF, within 40 KB), lazily and decoded off the
main thread, and the page around it stays within its own 30 KB budget (the
image is counted separately); a wide screen takes the next width up; the
picture's place is kept while it loads (no layout shift)."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
from sqlalchemy import select

from campaigns.extensions import db
from campaigns.media.services import remove_campaign_image
from campaigns.models import Campaign

from .conftest import Contexts, LiveServer
from .reach_support import PHONE, NetworkLog
from .test_budget import BUDGETS

# The petition: the other browser tests measure the pledge's page.
SLUG = "no-russia-on-hrc"
IMAGE_BUDGET = 40_000
# Layout shifts of the page while it loads, as Chromium reports them.
LAYOUT_SHIFTS = """() => new Promise(resolve => {
  let total = 0;
  new PerformanceObserver(list => {
    for (const entry of list.getEntries()) if (!entry.hadRecentInput) total += entry.value;
  }).observe({type: "layout-shift", buffered: true});
  setTimeout(() => resolve(total), 300);
})"""


@pytest.fixture(scope="module")
def pictured(live_server: LiveServer) -> Iterator[str]:
    """The petition with a 2400 × 1600 phone photo, for this module only."""
    from tests.media.support import give_image

    app = live_server.app
    with app.app_context():
        campaign = db.session.execute(select(Campaign).where(Campaign.slug == SLUG)).scalar_one()
        give_image(campaign, 2400, 1600)
        db.session.remove()
    try:
        yield SLUG
    finally:
        with app.app_context():
            campaign = db.session.execute(
                select(Campaign).where(Campaign.slug == SLUG)
            ).scalar_one()
            remove_campaign_image(campaign)
            for text in campaign.texts.values():
                text.image_alt = ""
            db.session.commit()
            db.session.remove()


def _first_visit(
    contexts: Contexts, server: LiveServer, path: str, **options: object
) -> tuple[NetworkLog, dict[str, object]]:
    context = contexts.new_context(**options)
    page = context.new_page()
    log = NetworkLog.attach(context, page)
    response = page.goto(server.url + path)
    assert response is not None and response.status == 200
    page.wait_for_load_state("networkidle")
    log.cdp.detach()
    image = page.locator(".campaign-image img")
    facts = image.evaluate(
        """img => ({loading: img.loading, decoding: img.decoding, src: img.currentSrc,
                    alt: img.alt, width: img.width, height: img.height,
                    attrWidth: img.getAttribute("width"), attrHeight: img.getAttribute("height"),
                    top: img.getBoundingClientRect().top + window.scrollY})"""
    )
    facts["shift"] = page.evaluate(LAYOUT_SHIFTS)
    return log, facts


def _images(log: NetworkLog) -> list[tuple[str, int]]:
    return [
        (urlsplit(t.url).path, t.bytes)
        for t in log.transfers.values()
        if urlsplit(t.url).path.startswith("/media/")
    ]


@pytest.mark.parametrize("lang", ["ar", "en"])
def test_a_phone_fetches_only_the_phone_variant_and_the_page_keeps_its_budget(
    lang: str, pictured: str, live_server: LiveServer, contexts: Contexts, screenshot
) -> None:
    log, facts = _first_visit(contexts, live_server, f"/{lang}/campaigns/{pictured}", **PHONE)
    images = _images(log)
    page_bytes = log.total() - sum(size for _, size in images)
    print(
        f"\ncampaign page with its image ({lang}, 360 × 740): {log.total()} bytes in all, "
        f"{page_bytes} without the image; image {images}; image top at {facts['top']:.0f} px; "
        f"layout shift {facts['shift']:.4f}\n{log.report('transfers')}"
    )
    assert facts["loading"] == "lazy" and facts["decoding"] == "async"
    assert (facts["attrWidth"], facts["attrHeight"]) == ("1080", "720")
    assert facts["alt"] == f"Olive trees on a hill ({lang})"
    assert len(images) == 1, images
    path, size = images[0]
    assert path.endswith("-360.avif") and str(facts["src"]).endswith(path)
    assert size <= IMAGE_BUDGET
    assert page_bytes <= BUDGETS["campaign"]
    # Its place was kept: the text below did not jump when the picture arrived.
    assert facts["shift"] < 0.01
    context = contexts.new_context(**PHONE)
    page = context.new_page()
    page.goto(f"{live_server.url}/{lang}/campaigns/{pictured}")
    page.wait_for_load_state("networkidle")
    screenshot(page, f"campaign-image-phone-{lang}")


def test_a_wide_screen_takes_the_next_width(
    pictured: str, live_server: LiveServer, contexts: Contexts
) -> None:
    log, facts = _first_visit(
        contexts, live_server, f"/en/campaigns/{pictured}", viewport={"width": 1280, "height": 800}
    )
    images = _images(log)
    print(f"\ncampaign page (en, 1280 × 800): image {images}, {log.total()} bytes in all")
    assert len(images) == 1 and images[0][0].endswith("-720.avif"), images
    assert facts["width"] == 640 and facts["height"] == 427
