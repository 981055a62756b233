"""The public results page in a real browser: its figures are those of the JSON
API, it reads right to left in Arabic with mirrored charts, and it fits a phone."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

import pytest
from babel.dates import format_skeleton
from flask import Flask
from flask_babel import force_locale, gettext
from playwright.sync_api import FloatRect, Locator, Page, expect

from campaigns.kernel.countries import country_name
from campaigns.kernel.regions import OTHER, region_name

from .conftest import SLUG, Contexts, LiveServer, SharedContexts, format_number
from .reach_support import unit_label

LANGS = ["ar", "en"]
PHONE = {"width": 360, "height": 740}


def open_results(contexts: Contexts, server: LiveServer, lang: str, **options: object) -> Page:
    page = contexts.new_page(**options)
    response = page.goto(f"{server.url}/{lang}/campaigns/{SLUG}/results")
    assert response is not None and response.status == 200
    return page


def translate(app: Flask, lang: str, message: str, **params: Any) -> str:
    with app.test_request_context(), force_locale(lang):
        return str(gettext(message, **params))


def by_value(rows: list[dict[str, Any]], key: str, metric: str = "total") -> list[dict[str, Any]]:
    """Rows in the order their bars are drawn: largest first, "other" last."""
    return sorted(rows, key=lambda row: (row[key] == OTHER, -row[metric]))


def day_label(day: str, lang: str) -> str:
    """A day as the time axis labels it: the locale's day and short month."""
    return str(format_skeleton("MMMd", date.fromisoformat(day), locale=lang))


def numbers_in(text: str) -> list[str]:
    return re.findall(r"\d(?:[\d,.]*\d)?", text)


def table_cells(table: Locator) -> list[list[str]]:
    return [
        [cell.inner_text().strip() for cell in row.locator("th, td").all()]
        for row in table.locator("tbody tr").all()
    ]


@pytest.mark.parametrize("lang", LANGS)
def test_figures_match_the_json_api(
    lang: str, live_server: LiveServer, contexts: Contexts, screenshot
) -> None:
    page = open_results(contexts, live_server, lang)
    data = live_server.campaign_json()
    app = live_server.app

    def fmt(value: int) -> str:
        return format_number(value, lang)

    total = page.locator("section[aria-labelledby=total-heading]")
    expect(total.locator("[data-live-count]")).to_have_text(fmt(data["total"]))
    assert fmt(data["goal"]) in numbers_in(total.locator(".goal").inner_text())
    progress = total.locator("progress")
    assert progress.get_attribute("max") == str(data["goal"])
    assert progress.get_attribute("value") == str(min(data["total"], data["goal"]))
    assert fmt(data["signers"]) in numbers_in(total.locator(".signers").inner_text())

    countries = page.locator("section[aria-labelledby=countries-heading]")
    other_countries = translate(app, lang, "Other countries")
    # A pledge's bars (and the table beside them) are in the order of the
    # trees pledged, which they show; "other" stays last.
    by_country = by_value(data["by_country"], "country")
    labels = [
        other_countries if row["country"] == OTHER else country_name(row["country"], lang)
        for row in by_country
    ]
    assert table_cells(countries.locator("table")) == [
        [label, fmt(row["signers"]), fmt(row["total"])]
        for label, row in zip(labels, by_country, strict=True)
    ]
    # The chart draws the trees pledged per country, the same figures as the table.
    assert countries.locator("svg rect title").all_text_contents() == [
        f"{label}: {fmt(row['total'])}"
        for label, row in zip(labels, by_country, strict=True)
    ]

    other_regions = translate(app, lang, "Other regions")
    shown_regions = [country for country, rows in data["by_region"].items() if rows]
    assert sorted(shown_regions) == ["SY", "TR"]
    for country in shown_regions:
        section = page.locator(f"section[aria-labelledby=regions-{country}]")
        # Beside the signers, the trees pledged that the region's bars show.
        assert table_cells(section.locator("table")) == [
            [
                other_regions if row["region"] == OTHER else region_name(row["region"], lang),
                fmt(row["signers"]),
                fmt(row["total"]),
            ]
            for row in by_value(data["by_region"][country], "region")
        ]
    screenshot(page, f"results-{lang}")


@pytest.mark.parametrize(("lang", "direction"), [("ar", "rtl"), ("en", "ltr")])
def test_page_direction_follows_the_language(
    lang: str, direction: str, live_server: LiveServer, contexts: Contexts
) -> None:
    page = open_results(contexts, live_server, lang)
    html = page.locator("html")
    expect(html).to_have_attribute("lang", lang)
    expect(html).to_have_attribute("dir", direction)
    assert page.evaluate("getComputedStyle(document.body).direction") == direction


def _boxes(svg: Locator) -> list[dict[str, dict[str, float]]]:
    """Per bar of a row chart: the boxes of its label, its bar and its value."""
    result: list[dict[str, dict[str, float]]] = svg.evaluate(
        """svg => Array.from(svg.querySelectorAll(':scope > rect')).map(rect => {
            const box = el => { const r = el.getBoundingClientRect();
                return {left: r.left, right: r.right, width: r.width, height: r.height}; };
            return {label: box(rect.previousElementSibling), bar: box(rect),
                    value: box(rect.nextElementSibling), svg: box(svg)};
        })"""
    )
    return result


@pytest.mark.parametrize("lang", LANGS)
def test_charts_are_drawn_and_mirrored_in_arabic(
    lang: str, live_server: LiveServer, contexts: Contexts
) -> None:
    page = open_results(contexts, live_server, lang)
    charts = page.locator("figure.chart svg")
    # The last four weeks, by country, by region in Syria and in Turkey.
    expect(charts).to_have_count(4)
    for chart in charts.all():
        expect(chart).to_be_visible()
        box = chart.bounding_box()
        assert box is not None and box["width"] > 0 and box["height"] > 0

    # The days with a bar: the seed's oldest and newest, unless the run
    # crossed midnight (UTC) since it seeded, and the window moved a day.
    with_bars = [day for day in live_server.campaign_json()["daily"] if day["total"] > 0]
    assert len(with_bars) >= 2, "the seed gives several days a bar"
    oldest, newest = with_bars[0], with_bars[-1]
    bars = page.locator("section[aria-labelledby=daily-heading] svg rect")

    def bar_of(day: dict[str, Any]) -> FloatRect:
        label = day_label(day["day"], lang)
        title = f"{label}: {format_number(day['total'], lang)}"
        bar = bars.filter(has=page.locator("title", has_text=re.compile(f"^{re.escape(title)}$")))
        expect(bar).to_have_count(1)
        box = bar.bounding_box()
        assert box is not None and box["width"] > 0 and box["height"] > 0
        return box

    first, last = bar_of(oldest), bar_of(newest)
    if lang == "ar":
        # Time runs from right to left: the newest day is at the left end.
        assert last["x"] + last["width"] <= first["x"]
    else:
        assert first["x"] + first["width"] <= last["x"]

    # Row charts: the label sits at the start side, the bar grows away from it,
    # and the figure follows the bar's end; nothing is cut off by the chart.
    row_charts = page.locator(
        "section[aria-labelledby=countries-heading] svg, section[aria-labelledby^=regions-] svg"
    )
    expect(row_charts).to_have_count(3)
    for chart in row_charts.all():
        for row in _boxes(chart):
            label, bar, value, svg = row["label"], row["bar"], row["value"], row["svg"]
            if lang == "ar":
                assert label["left"] >= bar["right"] - 0.5
                assert value["right"] <= bar["left"] + 0.5
            else:
                assert label["right"] <= bar["left"] + 0.5
                assert value["left"] >= bar["right"] - 0.5
            for part in (label, value):
                assert svg["left"] - 0.5 <= part["left"] and part["right"] <= svg["right"] + 0.5


@pytest.mark.parametrize("lang", LANGS)
def test_no_horizontal_overflow_on_a_phone(
    lang: str, live_server: LiveServer, contexts: Contexts, screenshot
) -> None:
    page = open_results(contexts, live_server, lang, viewport=PHONE, is_mobile=True, has_touch=True)
    # A reader may open the per-day table too.
    page.locator("section[aria-labelledby=daily-heading] details summary").click()
    expect(page.locator("section[aria-labelledby=daily-heading] details table")).to_be_visible()
    widths = page.evaluate(
        "({scroll: document.documentElement.scrollWidth,"
        " client: document.documentElement.clientWidth})"
    )
    assert widths["client"] == PHONE["width"]
    assert widths["scroll"] <= widths["client"], widths
    screenshot(page, f"results-{lang}-phone")


# --- Issue 14: charts that say what they count, on every screen ---------------

ALL_LANGS = ["ar", "ku", "tr", "en"]
VIEWPORTS = {
    "phone": {"viewport": PHONE, "is_mobile": True, "has_touch": True},
    "desktop": {"viewport": {"width": 1280, "height": 800}},
}
PETITION = "no-russia-on-hrc"
# The smallest size a chart's text may render at (CSS pixels).
MIN_LABEL_PX = 12

# What the page shows of its charts, as the browser lays them out.
CHARTS_JS = """() => {
  const box = el => { const r = el.getBoundingClientRect();
    return {left: r.left, right: r.right, top: r.top, bottom: r.bottom}; };
  return Array.from(document.querySelectorAll('figure.chart')).map(figure => {
    const svg = figure.querySelector('svg');
    const texts = Array.from(svg.querySelectorAll('text')).map(t => {
      const m = t.getScreenCTM();
      return {text: t.textContent, box: box(t), direction: getComputedStyle(t).direction,
              cls: t.getAttribute('class') || '',
              px: parseFloat(getComputedStyle(t).fontSize) * Math.hypot(m.a, m.b)};
    });
    const rows = Array.from(svg.querySelectorAll(':scope > rect')).map(rect => ({
      label: rect.querySelector('title').textContent,
      shown: rect.nextElementSibling && rect.nextElementSibling.tagName === 'text'
        ? rect.nextElementSibling.textContent : null,
      top: rect.getBoundingClientRect().top}));
    const caption = figure.querySelector('figcaption');
    return {id: svg.getAttribute('aria-labelledby'), svg: box(svg), texts, rows,
            caption: caption ? caption.innerText.trim() : ''};
  });
}"""


def read_number(text: str) -> int:
    """A figure as the page writes it, in any of the app's languages."""
    digits = "".join(str(int(ch)) for ch in text if ch.isdigit())
    assert digits, text
    return int(digits)


def open_results_in(
    tabs: SharedContexts, server: LiveServer, lang: str, slug: str, viewport: str
) -> Page:
    page = tabs.new_page(**VIEWPORTS[viewport])
    response = page.goto(f"{server.url}/{lang}/campaigns/{slug}/results")
    assert response is not None and response.status == 200
    page.evaluate("document.fonts.ready.then(() => true)")
    return page


@pytest.mark.parametrize("viewport", list(VIEWPORTS))
@pytest.mark.parametrize("lang", ALL_LANGS)
@pytest.mark.parametrize("slug", [SLUG, PETITION])
def test_charts_say_what_they_count_and_read_on_every_screen(
    slug: str, lang: str, viewport: str, live_server: LiveServer, tabs: SharedContexts, screenshot
) -> None:
    """Every chart and table names its unit; bars run largest first; labels are
    at least 12 px; the time axis runs in the reading direction with the
    locale's day and month, inside the chart; the page never scrolls sideways."""
    app = live_server.app
    page = open_results_in(tabs, live_server, lang, slug, viewport)
    data = live_server.campaign_json(slug)
    pledge = data["kind"] == "pledge"
    unit = unit_label(app, lang, slug)
    # A reader may open the per-day table too.
    page.locator("section[aria-labelledby=daily-heading] details summary").click()
    screenshot(page, f"results-{slug}-{lang}-{viewport}")

    widths = page.evaluate(
        "({scroll: document.documentElement.scrollWidth,"
        " client: document.documentElement.clientWidth})"
    )
    assert widths["scroll"] <= widths["client"], f"the page scrolls sideways: {widths}"

    charts = page.evaluate(CHARTS_JS)
    assert charts, "no chart"
    other = {translate(app, lang, "Other countries"), translate(app, lang, "Other regions")}
    for chart in charts:
        # The unit, in words, beside every chart.
        assert unit in chart["caption"], (chart["id"], chart["caption"], unit)
        for text in chart["texts"]:
            size = f"{chart['id']}: {text['text']!r} at {text['px']:.1f} px"
            assert text["px"] >= MIN_LABEL_PX, size
            assert chart["svg"]["left"] - 0.5 <= text["box"]["left"], (chart["id"], text)
            assert text["box"]["right"] <= chart["svg"]["right"] + 0.5, (chart["id"], text)
        if chart["id"].startswith("daily"):
            continue
        # Row charts: largest first by the figure each bar shows, "other" last.
        rows = sorted(chart["rows"], key=lambda row: row["top"])
        named = [row for row in rows if row["label"].rpartition(": ")[0] not in other]
        assert rows[: len(named)] == named, f"{chart['id']}: other is not last"
        values = [read_number(row["shown"]) for row in named]
        assert values == sorted(values, reverse=True), f"{chart['id']}: {values}"

    # The time axis: labels in the page's direction, the oldest day at the
    # start side, none touching the chart's edge.
    (daily,) = [chart for chart in charts if chart["id"].startswith("daily")]
    ticks = [text for text in daily["texts"] if "chart-tick" in text["cls"]]
    days = [day_label(d["day"], lang) for d in data["daily"]]
    assert [tick["text"] for tick in ticks] == [days[0], days[13], days[-1]]
    direction = "rtl" if lang == "ar" else "ltr"
    assert {tick["direction"] for tick in ticks} == {direction}
    lefts = [tick["box"]["left"] for tick in ticks]
    assert lefts == sorted(lefts, reverse=(lang == "ar")), "the days run against the reading"
    for tick in ticks:
        assert tick["box"]["left"] >= daily["svg"]["left"] + 2, tick
        assert tick["box"]["right"] <= daily["svg"]["right"] - 2, tick

    # Every table names what its figures count.
    people = translate(app, lang, "People who pledged" if pledge else "Signers")
    counted = translate(app, lang, "%(unit)s pledged", unit=unit) if pledge else unit
    for table in page.locator("main table").all():
        headers = table.locator("thead th").all_inner_texts()
        figures_headers = [h.strip() for h in headers[1:]]
        assert figures_headers in ([counted], [people], [people, counted]), headers

    # When the figures were last counted, in words and in UTC.
    stamp = page.locator("main .counted time")
    if data["updated_at"]:
        expect(stamp).to_be_visible()
        assert stamp.get_attribute("datetime") == data["updated_at"][:16] + "Z"
        assert "UTC" in stamp.inner_text()
    else:
        expect(stamp).to_have_count(0)
