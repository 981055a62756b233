"""The embed widget inside another site's iframe, and every other page refusing
to be framed (clickjacking)."""

from __future__ import annotations

from html import escape
from urllib.parse import quote

import pytest
from playwright.sync_api import FrameLocator, Page, expect

from campaigns.seed import CAMPAIGNS

from .conftest import SLUG, Contexts, LiveServer, format_number

LANGS = ["ar", "en"]
TITLES = next(spec["texts"] for spec in CAMPAIGNS if spec["slug"] == SLUG)


def partner_page(contexts: Contexts, partner_site: str, src: str) -> Page:
    """A partner's page (another origin than the app) holding ``src`` in an iframe."""
    contexts.allow(partner_site)
    page = contexts.new_page(viewport={"width": 400, "height": 260})
    response = page.goto(f"{partner_site}/?src={quote(src, safe='')}")
    assert response is not None and response.status == 200
    return page


def assert_widget_shown(page: Page, frame: FrameLocator, server: LiveServer, lang: str) -> None:
    src = f"{server.url}/embed/{SLUG}?lang={lang}"
    # A refused frame shows Chromium's error page instead: fail at once, not after a wait.
    assert src in [f.url for f in page.frames], [f.url for f in page.frames]
    data = server.campaign_json()
    expect(frame.locator("html")).to_have_attribute("dir", "rtl" if lang == "ar" else "ltr")
    expect(frame.locator(".title")).to_have_text(TITLES[lang]["title"])
    expect(frame.locator(".count [data-live-count]")).to_have_text(
        format_number(data["total"], lang)
    )
    progress = frame.locator("progress")
    expect(progress).to_have_count(1)
    expect(progress).to_be_visible()
    expect(progress).to_have_attribute("max", str(data["goal"]))
    expect(progress).to_have_attribute("value", str(min(data["total"], data["goal"])))
    sign = frame.locator("a.button")
    expect(sign).to_be_visible()
    # The link opens the campaign page on the app itself, in the widget's language.
    expect(sign).to_have_attribute("href", f"{server.url}/{lang}/campaigns/{SLUG}")
    expect(sign).to_have_attribute("target", "_blank")


@pytest.mark.parametrize("lang", LANGS)
def test_embed_renders_in_a_partner_sites_iframe(
    lang: str, live_server: LiveServer, partner_site: str, contexts: Contexts, screenshot
) -> None:
    page = partner_page(contexts, partner_site, f"{live_server.url}/embed/{SLUG}?lang={lang}")
    assert_widget_shown(page, page.frame_locator("iframe"), live_server, lang)
    screenshot(page, f"embed-{lang}")


@pytest.mark.parametrize("host", ["about-blank", "sandboxed-frame"])
def test_embed_renders_in_an_opaque_origin_host(
    host: str, live_server: LiveServer, partner_site: str, contexts: Contexts, screenshot
) -> None:
    src = f"{live_server.url}/embed/{SLUG}?lang=ar"
    frame_tag = f'<iframe src="{src}" width="320" height="200"></iframe>'
    if host == "about-blank":
        page = contexts.new_page(viewport={"width": 400, "height": 260})
        assert page.url == "about:blank"
        page.set_content(frame_tag)
        frame = page.frame_locator("iframe")
    else:
        # A partner's CMS that isolates embed code in a sandboxed frame.
        page = partner_page(contexts, partner_site, "about:blank")
        page.set_content(
            f'<iframe sandbox="allow-scripts allow-popups" srcdoc="{escape(frame_tag)}"'
            ' width="360" height="230"></iframe>'
        )
        frame = page.frame_locator("iframe").frame_locator("iframe")
    screenshot(page, f"embed-ar-{host}-host")
    assert_widget_shown(page, frame, live_server, "ar")


@pytest.mark.parametrize(
    ("name", "path"),
    [("results-ar", f"/ar/campaigns/{SLUG}/results"), ("campaign-en", f"/en/campaigns/{SLUG}")],
)
def test_other_pages_refuse_to_be_framed(
    name: str, path: str, live_server: LiveServer, partner_site: str, contexts: Contexts, screenshot
) -> None:
    target = live_server.url + path
    page = partner_page(contexts, partner_site, target)
    assert target in contexts.requests, "the browser asked for the page"
    (child,) = page.main_frame.child_frames
    # Chromium replaces a refused frame by its error page; the app's page never shows.
    expect(page.locator("iframe")).to_be_visible()
    assert child.url != target
    expect(child.locator("h1", has_text=TITLES["ar"]["title"])).to_have_count(0)
    expect(child.locator("h1", has_text=TITLES["en"]["title"])).to_have_count(0)
    expect(child.locator("form")).to_have_count(0)
    screenshot(page, f"framed-{name}-refused")
