"""Languages in a real browser: every page declares its language and direction,
works without JavaScript and asks no other origin for anything; the language
switcher keeps the person on the same page, and ``/`` remembers the choice;
it keeps to one row of the header and costs pages in Latin script no Arabic
font."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect

from campaigns.i18n import language_name

from .conftest import SLUG, Contexts, LiveServer, SharedContexts
from .reach_support import (
    DIRECTIONS,
    LANGS,
    PHONE,
    page_paths,
    phone_page,
    translate,
)


@pytest.mark.parametrize(
    ("lang", "js"),
    [("ar", True), ("ar", False), ("ku", True), ("tr", True), ("en", True), ("en", False)],
    ids=["ar-js", "ar-no-js", "ku-js", "tr-js", "en-js", "en-no-js"],
)
def test_every_page_in_every_language(
    lang: str, js: bool, live_server: LiveServer, tabs: SharedContexts
) -> None:
    """Each page declares its language and direction, shows its content with
    or without JavaScript, fits a phone, and asks no other origin for anything."""
    page = phone_page(tabs, java_script_enabled=js)
    already = len(tabs.recorder.requests)
    paths = page_paths(live_server, lang)
    paths["not-found"] = f"/{lang}/campaigns/no-such-campaign"
    for name, path in paths.items():
        response = page.goto(live_server.url + path)
        assert response is not None
        assert response.status == (404 if name == "not-found" else 200), name
        html = page.locator("html")
        expect(html).to_have_attribute("lang", lang)
        expect(html).to_have_attribute("dir", DIRECTIONS[lang])
        expect(page.locator(".title" if name == "embed" else "h1")).to_be_visible()
        if name == "results":
            # Charts are drawn on the server: they need no script.
            expect(page.locator("figure.chart svg")).to_have_count(4)
            expect(page.locator("figure.chart svg").first).to_be_visible()
        if name == "campaign":
            expect(page.locator("[data-live-count]")).to_be_visible()
            # The form's errors come back from the server, in the page's language.
            page.locator("section.sign form button[type=submit]").click()
            expect(page.get_by_role("alert").get_by_role("heading")).to_have_text(
                translate(live_server.app, lang, "Please correct the following:")
            )
            expect(html).to_have_attribute("lang", lang)
        # Nothing is wider than the phone: no sideways scrolling.
        widths = page.evaluate(
            "[document.documentElement.scrollWidth, document.documentElement.clientWidth]"
        )
        assert widths == [PHONE["viewport"]["width"]] * 2, (name, widths)
    requested = {urlsplit(url).path for url in tabs.recorder.requests[already:]}
    assert {urlsplit(path).path for path in paths.values()} <= requested
    assert tabs.recorder.foreign_requests() == []


@pytest.mark.parametrize(
    ("js", "start", "choice"),
    [(False, "ar", "ku"), (True, "en", "tr")],
    ids=["no-js-ar-to-ku", "js-en-to-tr"],
)
def test_switcher_keeps_the_page_and_remembers_the_choice(
    js: bool, start: str, choice: str, live_server: LiveServer, contexts: Contexts
) -> None:
    # The browser asks for English first: the remembered choice must win over it.
    page = phone_page(contexts, java_script_enabled=js, locale="en-US")
    page.goto(live_server.url + "/")
    expect(page).to_have_url(f"{live_server.url}/en/")

    start_paths = page_paths(live_server, start)
    del start_paths["embed"]  # a widget inside partners' pages: its language is in its URL
    for path in start_paths.values():
        page.goto(live_server.url + path)
        nav = page.get_by_role("navigation", name=translate(live_server.app, start, "Language"))
        others = [code for code in LANGS if code != start]
        links = nav.get_by_role("link")
        expect(links).to_have_count(len(others))
        for code, link in zip(others, links.all(), strict=True):
            # Each language is named in itself, so a person finds their own.
            expect(link).to_have_text(language_name(code))
            expect(link).to_have_attribute("lang", code)
            expect(link).to_have_attribute("hreflang", code)

        nav.get_by_role("link", name=language_name(choice), exact=True).click()
        expected = re.sub(rf"^/{start}/", f"/{choice}/", path)
        expect(page).to_have_url(live_server.url + expected)
        expect(page.locator("html")).to_have_attribute("lang", choice)
        expect(page.locator("html")).to_have_attribute("dir", DIRECTIONS[choice])

    # Coming back later: the home page opens in the language chosen.
    page.goto(live_server.url + "/")
    expect(page).to_have_url(f"{live_server.url}/{choice}/")
    expect(page.locator("html")).to_have_attribute("lang", choice)


@pytest.mark.parametrize(("locale", "lang"), [("tr-TR", "tr"), ("fr-FR", "ar")])
def test_first_visit_follows_the_browser_language(
    locale: str, lang: str, live_server: LiveServer, contexts: Contexts
) -> None:
    page = contexts.new_page(locale=locale, java_script_enabled=False)
    page.goto(live_server.url + "/")
    expect(page).to_have_url(f"{live_server.url}/{lang}/")
    expect(page.locator("html")).to_have_attribute("lang", lang)
    page.goto(f"{live_server.url}/{lang}/campaigns/{SLUG}")
    expect(page.locator("section.sign form")).to_be_visible()


# --- the header and its fonts ---------------------------------------------------------

FONTS = "/static/fonts/"


def _font_requests(contexts: Contexts, urls: list[str]) -> list[str]:
    """The web fonts a new browser profile downloads while opening ``urls``."""
    page = contexts.new_page(**PHONE)
    fonts: list[str] = []
    page.on("request", lambda r: fonts.append(r.url) if FONTS in r.url else None)
    for url in urls:
        response = page.goto(url)
        assert response is not None and response.status == 200, url
        page.evaluate("document.fonts.ready.then(() => true)")
        page.wait_for_load_state("networkidle")
    return fonts


@pytest.mark.parametrize("lang", LANGS)
def test_only_arabic_pages_download_the_arabic_font(
    lang: str, live_server: LiveServer, contexts: Contexts
) -> None:
    """The switcher names Arabic in Arabic on every page: drawn with the
    system's font, it costs a page in Latin script no font download."""
    base = f"{live_server.url}/{lang}"
    urls = [
        f"{base}/campaigns/{SLUG}",
        f"{base}/campaigns/no-russia-on-hrc",
        f"{base}/campaigns/{SLUG}/thanks",
        f"{base}/privacy",
    ]
    fonts = _font_requests(contexts, urls)
    if lang == "ar":
        assert fonts, "the Arabic pages no longer load their font (the check above proves nothing)"
    else:
        assert fonts == [], f"{lang} pages downloaded {fonts}"


@pytest.mark.parametrize("size", ["phone", "desktop"])
@pytest.mark.parametrize("lang", LANGS)
def test_the_header_keeps_to_one_row(
    lang: str, size: str, live_server: LiveServer, tabs: SharedContexts
) -> None:
    """The site's name and the other languages on one row, none of them
    broken over two lines, with room between them."""
    viewport = PHONE if size == "phone" else {"viewport": {"width": 1280, "height": 800}}
    page = tabs.new_page(**viewport)
    page.goto(f"{live_server.url}/{lang}/campaigns/{SLUG}")
    page.evaluate("document.fonts.ready.then(() => true)")
    boxes = page.locator(".site-header .brand, .site-header .languages a").evaluate_all(
        """es => es.map(e => { const r = e.getBoundingClientRect();
            return {lines: e.getClientRects().length, top: r.top, bottom: r.bottom,
                    left: r.left, right: r.right}; })"""
    )
    brand, links = boxes[0], boxes[1:]
    assert len(links) == len(LANGS) - 1
    assert all(b["lines"] == 1 for b in boxes), boxes
    # One row: every box's middle within the brand's height.
    middle = (brand["top"] + brand["bottom"]) / 2
    assert all(b["top"] <= middle <= b["bottom"] for b in links), boxes
    # Room between the name and the nearest language, on whichever side.
    gap = min(max(b["left"] - brand["right"], brand["left"] - b["right"]) for b in links)
    assert gap >= 8, boxes
