"""The embed widget inside another site's iframe, and every other page refusing
to be framed (clickjacking)."""

from __future__ import annotations

import re
from html import escape
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from playwright.sync_api import FrameLocator, Page, expect

from campaigns.seed import CAMPAIGNS

from .conftest import SLUG, Contexts, LiveServer, SharedContexts, format_number

LANGS = ["ar", "en"]
CAMPAIGN_TEXTS = {str(spec["slug"]): spec["texts"] for spec in CAMPAIGNS}
TITLES = CAMPAIGN_TEXTS[SLUG]


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


# --- Issue 14: the widget fits the frames the README documents ----------------

README = Path(__file__).resolve().parents[2] / "README.md"
SNIPPET = re.compile(
    r'<iframe src="https://SITE/embed/([\w-]+)\?([^"]*)" width="(\d+)" height="(\d+)"'
)
PETITION = "no-russia-on-hrc"
ALL_LANGS = ["ar", "ku", "tr", "en"]
VIEWPORTS = {"phone": {"width": 360, "height": 740}, "desktop": {"width": 1280, "height": 800}}
# What the widget's page holds, measured inside its frame (CSS pixels).
MEASURE_JS = """() => {
  const root = document.documentElement, title = document.querySelector('.title');
  const link = document.querySelector('a.button');
  const button = link && link.getBoundingClientRect();
  const lineHeight = parseFloat(getComputedStyle(title).lineHeight);
  return {height: root.scrollHeight, width: root.scrollWidth,
          content: Math.ceil(document.body.getBoundingClientRect().height),
          button: button && {left: button.left, right: button.right,
                             top: button.top, bottom: button.bottom},
          titleLines: Math.round(title.getBoundingClientRect().height / lineHeight)};
}"""


def documented_frames() -> dict[str, tuple[int, int]]:
    """The iframe sizes the README gives partners, per widget size."""
    frames = {}
    for _slug, query, width, height in SNIPPET.findall(README.read_text(encoding="utf-8")):
        frames["compact" if "size=compact" in query else "full"] = (int(width), int(height))
    return frames


def test_the_readme_documents_both_sizes() -> None:
    assert set(documented_frames()) == {"full", "compact"}


def frame_problems(name: str, measured: dict[str, Any], width: int, height: int) -> list[str]:
    """What does not fit a frame of ``width``×``height``; empty when all does."""
    problems = []
    if measured["height"] > height or measured["width"] > width:
        problems.append(f"{name}: content {measured['width']}×{measured['height']}")
    button = measured["button"]
    if button is None:
        problems.append(f"{name}: no button")
    elif min(button["top"], button["left"]) < 0 or button["bottom"] > height or (
        button["right"] > width
    ):
        problems.append(f"{name}: the button is outside the frame: {button}")
    if measured["titleLines"] > 2:
        problems.append(f"{name}: the title takes {measured['titleLines']} lines")
    return problems


@pytest.mark.parametrize("viewport", list(VIEWPORTS))
@pytest.mark.parametrize("lang", ALL_LANGS)
def test_embed_fits_its_documented_frame(
    lang: str, viewport: str, live_server: LiveServer, tabs: SharedContexts, screenshot
) -> None:
    """Both campaigns, both sizes: nothing taller or wider than the frame (no
    scrolling, nothing cut), the button inside the frame, and the title cut to
    its lines with the whole title in its tooltip and text."""
    frames = documented_frames()
    widgets = [
        (slug, size, f"{live_server.url}/embed/{slug}?lang={lang}" + query)
        for slug in (SLUG, PETITION)
        for size, query in (("full", ""), ("compact", "&size=compact"))
    ]
    page = tabs.new_page(viewport=VIEWPORTS[viewport])
    page.set_content(
        "".join(
            f'<iframe src="{escape(src)}" width="{frames[size][0]}" height="{frames[size][1]}"'
            f' style="border:0;display:block;margin:8px" title="{slug} {size}"></iframe>'
            for slug, size, src in widgets
        )
    )
    problems = []
    for slug, size, src in widgets:
        width, height = frames[size]
        frame = page.frame(url=src)
        assert frame is not None, src
        frame.wait_for_load_state()
        frame.evaluate("document.fonts.ready.then(() => true)")
        measured = frame.evaluate(MEASURE_JS)
        print(f"\nembed {slug} {size} {lang} {viewport}: {measured}")
        name = f"{slug} {size} ({lang}, {width}×{height})"
        problems += frame_problems(name, measured, width, height)
        title = CAMPAIGN_TEXTS[slug][lang]["title"]
        link = frame.locator(".title a")
        expect(link).to_have_text(title)
        expect(link).to_have_attribute("title", title)
        expect(frame.locator("a.button")).to_be_visible()
    screenshot(page, f"embed-fit-{lang}-{viewport}")
    assert problems == [], "\n".join(problems)
