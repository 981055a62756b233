"""The public results page in a real browser: its figures are those of the JSON
API, it reads right to left in Arabic with mirrored charts, and it fits a phone."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

import pytest
from babel.dates import format_date
from flask import Flask
from flask_babel import force_locale, gettext
from playwright.sync_api import FloatRect, Locator, Page, expect

from campaigns.kernel.countries import country_name
from campaigns.kernel.regions import OTHER, region_name

from .conftest import SLUG, Contexts, LiveServer, format_number

LANGS = ["ar", "en"]
PHONE = {"width": 360, "height": 740}


def open_results(contexts: Contexts, server: LiveServer, lang: str, **options: object) -> Page:
    page = contexts.new_page(**options)
    response = page.goto(f"{server.url}/{lang}/campaigns/{SLUG}/results")
    assert response is not None and response.status == 200
    return page


def translate(app: Flask, lang: str, message: str) -> str:
    with app.test_request_context(), force_locale(lang):
        return str(gettext(message))


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
    labels = [
        other_countries if row["country"] == OTHER else country_name(row["country"], lang)
        for row in data["by_country"]
    ]
    assert table_cells(countries.locator("table")) == [
        [label, fmt(row["signers"]), fmt(row["total"])]
        for label, row in zip(labels, data["by_country"], strict=True)
    ]
    # The chart draws the trees pledged per country, the same figures as the table.
    assert countries.locator("svg rect title").all_text_contents() == [
        f"{label}: {fmt(row['total'])}"
        for label, row in zip(labels, data["by_country"], strict=True)
    ]

    other_regions = translate(app, lang, "Other regions")
    shown_regions = [country for country, rows in data["by_region"].items() if rows]
    assert sorted(shown_regions) == ["SY", "TR"]
    for country in shown_regions:
        section = page.locator(f"section[aria-labelledby=regions-{country}]")
        assert table_cells(section.locator("table")) == [
            [
                other_regions if row["region"] == OTHER else region_name(row["region"], lang),
                fmt(row["signers"]),
            ]
            for row in data["by_region"][country]
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

    daily = live_server.campaign_json()["daily"]
    oldest, newest = daily[0], daily[-1]
    assert oldest["total"] > 0 and newest["total"] > 0, "the seed gives both days a bar"
    bars = page.locator("section[aria-labelledby=daily-heading] svg rect")

    def bar_of(day: dict[str, Any]) -> FloatRect:
        label = format_date(date.fromisoformat(day["day"]), "d MMM", locale=lang)
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
