"""The results page's charts and tables say what they count (issue 14): a unit
beside every chart and in every table, bars largest first by the figure they
show, the time axis in the locale's words and inside the chart, and when the
figures were last counted."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from babel.dates import format_date, format_time
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import update

from campaigns.extensions import db
from campaigns.models import CampaignCount, CampaignKind, SignatureState
from campaigns.results.charts import FONT, PAD, WIDTH, column_chart, fit, row_chart, text_width
from tests.factories import create_campaign, create_signature
from tests.signing.pages import Element, parse

from .support import count_now, days_ago

LANGS = ["ar", "en"]
# (region code, signers, trees each): by signers Aleppo, Damascus, Idlib;
# by trees pledged Aleppo (35), Idlib (30), Damascus (10).
REGIONS = [("SY-HL", 7, 5), ("SY-DI", 5, 2), ("SY-ID", 5, 6)]
PLEDGED = {"en": "{unit} pledged", "ar": "{unit} متعهَّد بها"}


def page_of(client: FlaskClient, lang: str, slug: str) -> Element:
    response = client.get(f"/{lang}/campaigns/{slug}/results")
    assert response.status_code == 200
    return parse(response.get_data(as_text=True))


def section(page: Element, heading_id: str) -> Element:
    found = page.find("section", **{"aria-labelledby": heading_id})
    assert found is not None, heading_id
    return found


def header_cells(element: Element) -> list[str]:
    table = element.find("table")
    assert table is not None
    head = table.find("thead")
    assert head is not None
    return [cell.text for cell in head.find_all("th")]


def body_rows(element: Element) -> list[list[str]]:
    table = element.find("table")
    assert table is not None
    body = table.find("tbody")
    assert body is not None
    return [
        [cell.text for cell in row.children if cell.tag in {"th", "td"}]
        for row in body.find_all("tr")
    ]


@pytest.fixture
def olive_trees(app: Flask) -> str:
    """A pledge whose regions of Syria rank differently by signers and by trees."""
    campaign = create_campaign(kind=CampaignKind.pledge, goal=500)
    for code, signers, trees in REGIONS:
        for _ in range(signers):
            create_signature(
                campaign,
                state=SignatureState.validated,
                country="SY",
                region_code=code,
                amount=trees,
                created_at=days_ago(1),
            )
    count_now()
    return str(campaign.slug)


@pytest.mark.parametrize("lang", LANGS)
def test_a_pledges_bars_and_tables_name_the_trees_and_rank_by_them(
    client: FlaskClient, olive_trees: str, lang: str
) -> None:
    page = page_of(client, lang, olive_trees)
    unit = "توقيع" if lang == "ar" else "signatures"  # the factory's unit label
    pledged = PLEDGED[lang].format(unit=unit)
    people = "المتعهّدون" if lang == "ar" else "People who pledged"

    regions = section(page, "regions-SY")
    caption = regions.find("figcaption")
    assert caption is not None and pledged in caption.text
    # The table beside the bars shows what they show, and names both figures.
    assert header_cells(regions)[1:] == [people, pledged]
    names = {"en": ["Aleppo", "Idlib", "Damascus"], "ar": ["حلب", "إدلب", "دمشق"]}[lang]
    assert [row[0] for row in body_rows(regions)] == names
    assert [row[2] for row in body_rows(regions)] == ["35", "30", "10"]
    svg = regions.find("svg")
    assert svg is not None
    tooltips = [rect.find("title") for rect in svg.find_all("rect")]
    assert [t.text.rpartition(": ")[2] for t in tooltips if t is not None] == ["35", "30", "10"]

    daily = section(page, "daily-heading")
    caption = daily.find("figcaption")
    assert caption is not None and pledged in caption.text
    assert header_cells(daily)[1:] == [pledged]
    countries = section(page, "countries-heading")
    assert header_cells(countries)[1:] == [people, pledged]


def test_a_petitions_charts_count_signatures(client: FlaskClient, app: Flask) -> None:
    campaign = create_campaign(kind=CampaignKind.petition)
    for _ in range(6):
        create_signature(campaign, state=SignatureState.validated, country="DE")
    count_now()
    page = page_of(client, "en", str(campaign.slug))
    for heading in ("daily-heading", "countries-heading"):
        caption = section(page, heading).find("figcaption")
        assert caption is not None and "signatures per" in caption.text
    assert header_cells(section(page, "countries-heading")) == ["Country", "Signers"]
    assert header_cells(section(page, "daily-heading")) == ["Day", "signatures"]


@pytest.mark.parametrize("lang", LANGS)
def test_the_page_says_when_the_figures_were_last_counted(
    client: FlaskClient, app: Flask, lang: str
) -> None:
    campaign = create_campaign()
    create_signature(campaign, state=SignatureState.validated)
    count_now()
    when = datetime(2026, 3, 15, 9, 5, 42, tzinfo=UTC)
    db.session.execute(
        update(CampaignCount)
        .where(CampaignCount.campaign_id == campaign.id)
        .values(updated_at=when)
    )
    db.session.commit()

    stamp = page_of(client, lang, str(campaign.slug)).find("time")
    assert stamp is not None
    assert stamp.attrs["datetime"] == "2026-03-15T09:05Z"
    # (The page parser reads a narrow no-break space as a space.)
    assert " ".join(format_date(when, "long", locale=lang).split()) in stamp.text
    assert " ".join(format_time(when, "short", locale=lang, tzinfo=UTC).split()) in stamp.text
    assert "UTC" in stamp.text


def test_nothing_counted_yet_says_no_time(client: FlaskClient, app: Flask) -> None:
    campaign = create_campaign()
    page = page_of(client, "en", str(campaign.slug))
    assert page.find("time") is None


@pytest.mark.parametrize("rtl", [False, True])
def test_the_time_axis_labels_stay_inside_the_chart(rtl: bool) -> None:
    days = [(f"{n} Nov" if n < 31 else f"{n - 30} December", n) for n in range(7, 35)]
    chart = column_chart(days, rtl=rtl)
    assert [tick.text for tick in chart.ticks] == [days[0][0], days[13][0], days[-1][0]]
    for tick in chart.ticks:
        width = text_width(tick.text)
        left = {"left": tick.x, "right": tick.x - width, "center": tick.x - width / 2}[tick.side]
        assert left >= PAD and left + width <= WIDTH - PAD, tick
    # The newest day is at the end of the reading: right, or left in Arabic.
    newest, oldest = chart.bars[-1], chart.bars[0]
    assert (newest.x < oldest.x) == rtl
    assert chart.font == FONT


def test_long_row_labels_are_cut_to_leave_room_for_the_bars() -> None:
    long = "Saint Vincent and the Grenadines"
    chart = row_chart([(long, 10), ("Syria", 5)], rtl=False)
    assert chart.bars[0].label == long
    assert chart.bars[0].shown.endswith("…") and len(chart.bars[0].shown) < len(long)
    assert chart.bars[1].shown == "Syria"
    assert chart.baseline <= WIDTH * 0.45
    assert fit("Syria", 100) == "Syria"
