"""Accessibility in a real browser: axe-core finds no serious or critical
violation on any public page in Arabic and English, on a phone; focus is
visible; charts have text alternatives. Each page is saved as a screenshot."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from .conftest import SLUG, LiveServer, SharedContexts
from .reach_support import (
    PAGE_NAMES,
    SERIOUS,
    describe_violations,
    page_paths,
    phone_page,
    run_axe,
    translate,
)

LANGS = ["ar", "en"]


def open_page(contexts: SharedContexts, server: LiveServer, name: str, lang: str) -> Page:
    page = phone_page(contexts)
    path = page_paths(server, lang)["campaign" if name == "campaign-errors" else name]
    response = page.goto(server.url + path)
    assert response is not None and response.status == 200
    if name == "campaign-errors":
        # The form sent empty: the page comes back with its error summary.
        page.locator("section.sign form button[type=submit]").click()
        expect(page.locator(".error-summary")).to_be_visible()
    page.evaluate("document.fonts.ready.then(() => true)")
    return page


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("name", [*PAGE_NAMES, "campaign-errors"])
def test_no_serious_axe_violations(
    name: str, lang: str, live_server: LiveServer, tabs: SharedContexts, screenshot
) -> None:
    page = open_page(tabs, live_server, name, lang)
    screenshot(page, f"page-{name}-{lang}")
    violations = run_axe(page)
    print(f"\naxe {name} ({lang}): {len(violations)} violation(s)")
    if violations:
        print(describe_violations(violations))
    serious = [v for v in violations if v["impact"] in SERIOUS]
    assert serious == [], f"{name} ({lang}):\n{describe_violations(serious)}"


def _luminance(css_color: str) -> float:
    r, g, b = (int(c) / 255 for c in re.findall(r"\d+", css_color)[:3])
    channels = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in (r, g, b)]
    return 0.2126 * channels[0] + 0.7152 * channels[1] + 0.0722 * channels[2]


def contrast(foreground: str, background: str) -> float:
    """WCAG contrast ratio of two opaque CSS ``rgb()`` colours."""
    light, dark = sorted((_luminance(foreground), _luminance(background)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def test_axe_reports_what_it_should(tabs: SharedContexts, live_server: LiveServer) -> None:
    """The harness can fail: an unlabelled field and grey-on-white text are caught."""
    page = tabs.new_page()
    page.goto(f"{live_server.url}/en/")
    # Styled through the CSSOM: the page's CSP refuses inline style attributes.
    page.evaluate(
        """() => { const main = document.querySelector('main');
            const faint = document.createElement('p');
            faint.textContent = 'faint';
            faint.style.color = '#bbb'; faint.style.background = '#fff';
            const input = document.createElement('input'); input.type = 'text';
            main.append(faint, input); }"""
    )
    found = {v["id"] for v in run_axe(page) if v["impact"] in SERIOUS}
    assert {"color-contrast", "label"} <= found, found


@pytest.mark.parametrize("lang", LANGS)
def test_keyboard_focus_is_always_visible(
    lang: str, live_server: LiveServer, tabs: SharedContexts
) -> None:
    page = tabs.new_page()
    page.goto(f"{live_server.url}/{lang}/campaigns/{SLUG}")
    seen: list[str] = []
    for _ in range(40):
        page.keyboard.press("Tab")
        focus: dict[str, Any] | None = page.evaluate(
            """() => { const el = document.activeElement;
                if (!el || el === document.body) return null;
                const style = getComputedStyle(el); const box = el.getBoundingClientRect();
                return {name: el.tagName.toLowerCase() + (el.id ? '#' + el.id : '')
                          + (el.className ? '.' + el.className : ''),
                        outline: style.outlineStyle, width: parseFloat(style.outlineWidth),
                        shadow: style.boxShadow, visible: box.width > 0 && box.height > 0
                          && box.bottom > 0 && box.top < innerHeight
                          && box.right > 0 && box.left < innerWidth}; }"""
        )
        if focus is None:
            break
        seen.append(focus["name"])
        outline = focus["outline"] != "none" and focus["width"] >= 2
        assert outline or focus["shadow"] != "none", f"no visible focus indicator on {focus}"
        # Focus scrolls into view: the person sees where they are.
        assert focus["visible"], f"focused element off screen: {focus}"
        if focus["name"].startswith("button"):
            break
    assert seen[0].startswith("a.skip"), seen
    for field in ("full_name", "email", "phone", "country", "region", "amount"):
        assert any(f"#{field}" in name for name in seen), (field, seen)
    assert seen[-1].startswith("button"), seen
    assert not any("#website" in name for name in seen), "the honeypot takes no focus"


@pytest.mark.parametrize("lang", LANGS)
def test_charts_have_text_alternatives(
    lang: str, live_server: LiveServer, tabs: SharedContexts
) -> None:
    page = tabs.new_page()
    page.goto(f"{live_server.url}/{lang}/campaigns/{SLUG}/results")
    app = live_server.app
    charts = page.locator("figure.chart svg")
    expect(charts).to_have_count(4)
    for chart in charts.all():
        expect(chart).to_have_attribute("role", "img")
        title = chart.locator(":scope > title").text_content() or ""
        assert title.strip(), "every chart has a title"
        expect(chart).to_have_accessible_name(re.compile("^" + re.escape(title.strip())))
        # The same figures as text: a table follows each chart (the daily one folded).
        section = chart.locator("xpath=ancestor::section[1]")
        expect(section.locator("table")).to_have_count(1)
    # axe cannot tell the background of SVG text: check its contrast here.
    background = page.evaluate("getComputedStyle(document.documentElement).backgroundColor")
    fills = page.locator("figure.chart svg text").evaluate_all(
        "texts => [...new Set(texts.map(t => getComputedStyle(t).fill))]"
    )
    assert fills, "the charts have labels"
    for fill in fills:
        assert contrast(fill, background) >= 4.5, (fill, background)
    # The day chart also says where its figures are written out.
    daily = page.locator("section[aria-labelledby=daily-heading] svg")
    where = translate(app, lang, "One bar per day; the table below lists every figure.")
    expect(daily).to_have_accessible_name(re.compile(re.escape(where)))
    expect(page.locator("section[aria-labelledby=total-heading] progress")).to_have_accessible_name(
        translate(app, lang, "Progress towards the goal")
    )
