"""The public results page, its share image and the embeddable widget, read
the way a visitor (or a screen reader) reads them, in Arabic and English."""

from __future__ import annotations

import io
from datetime import date, timedelta
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

import pytest
from babel import Locale
from babel.dates import format_date, format_skeleton
from babel.numbers import format_decimal, format_percent
from flask import Flask
from flask.testing import FlaskClient
from PIL import Image
from werkzeug.test import TestResponse

from campaigns.demo import seed_demo_signatures
from campaigns.extensions import db
from campaigns.models import CampaignKind, CampaignStatus, SignatureState
from tests.factories import create_campaign, create_signature
from tests.signing.pages import Element, parse

from .support import (
    BY_COUNTRY,
    BY_REGION,
    GOAL,
    PER_DAY,
    SIGNERS,
    Sample,
    count_now,
    days_ago,
    make_sample,
)

LANGS = ["ar", "en"]
SITE = "http://zaytoun.test"

TEXTS: dict[str, dict[str, str]] = {
    "en": {
        "other_countries": "Other countries",
        "other_regions": "Other regions",
        "by_region": "By region: {country}",
        "people": "People who signed:",
        "goal": "of {goal}",
        "milestone": "{percent} of the goal reached on {day}",
        "closed": "This campaign is closed. These are its final figures.",
        "demo": "Demo data: {num} of these signatures were made up to show how the page looks.",
        "chart_title": "Confirmed per day, the last four weeks",
        "email": "Email",
        "comma": ",",
    },
    "ar": {
        "other_countries": "بلدان أخرى",
        "other_regions": "مناطق أخرى",
        "by_region": "حسب المنطقة: {country}",
        "people": "عدد الموقّعين:",
        "goal": "من أصل {goal}",
        "milestone": "بلغنا {percent} من الهدف في {day}",
        "closed": "أُغلقت هذه الحملة، وهذه أرقامها النهائية.",
        "demo": "بيانات تجريبية: {num} من هذه التواقيع مختلَقة لعرض شكل الصفحة فقط.",
        "chart_title": "المؤكَّد يوميًا خلال الأسابيع الأربعة الأخيرة",
        "email": "البريد الإلكتروني",
        "comma": "،",
    },
}
REGION_NAMES = {
    "en": {"SY-HL": "Aleppo", "SY-ID": "Idlib", "TR-27": "Gaziantep"},
    "ar": {"SY-HL": "حلب", "SY-ID": "إدلب", "TR-27": "غازي عنتاب"},
}
OLIVE, LIGHT = (77, 91, 35), (201, 198, 184)


@pytest.fixture
def sample(app: Flask) -> Sample:
    return make_sample()


def results_url(lang: str, slug: str) -> str:
    return f"/{lang}/campaigns/{slug}/results"


def get_page(client: FlaskClient, url: str) -> tuple[TestResponse, Element]:
    response = client.get(url)
    assert response.status_code == 200, response.status_code
    return response, parse(response.get_data(as_text=True))


def section(page: Element, heading_id: str) -> Element:
    found = page.find("section", **{"aria-labelledby": heading_id})
    assert found is not None, f"no section labelled by #{heading_id}"
    return found


def table_rows(element: Element) -> list[list[str]]:
    """The body rows of the first table inside ``element``, as cell texts."""
    table = element.find("table")
    assert table is not None, "no table"
    body = table.find("tbody")
    assert body is not None
    return [
        [cell.text for cell in row.children if cell.tag in {"th", "td"}]
        for row in body.find_all("tr")
    ]


def country(code: str, lang: str) -> str:
    return str(Locale.parse(lang).territories[code])


def number(value: int, lang: str) -> str:
    return str(format_decimal(value, locale=lang))


def latest_signers(client: FlaskClient, slug: str) -> tuple[Element, list[list[str]]]:
    """The English results page once the counts are up to date, and what its
    list of latest signers shows of each, newest first."""
    count_now()
    _, page = get_page(client, results_url("en", slug))
    shown = [
        [b.text for b in li.find_all("bdi")]
        for li in page.find_all("li")
        if li.ancestor("ul", "latest")
    ]
    return page, shown


def day_label(day: date, lang: str) -> str:
    """A day as the time axis labels it: the locale's day and short month."""
    return str(format_skeleton("MMMd", day, locale=lang))


def meta(page: Element) -> dict[str, str]:
    tags = {}
    for tag in page.find_all("meta"):
        key = tag.attrs.get("property") or tag.attrs.get("name")
        if key:
            tags[key] = tag.attrs.get("content", "")
    return tags


# --- Figures -----------------------------------------------------------------


@pytest.mark.parametrize("lang", LANGS)
def test_total_against_goal_and_signers(client: FlaskClient, sample: Sample, lang: str) -> None:
    _, page = get_page(client, results_url(lang, sample.campaign.slug))
    html = page.find("html")
    assert html is not None and html.attrs["lang"] == lang
    assert html.attrs["dir"] == ("rtl" if lang == "ar" else "ltr")
    total = section(page, "total-heading")
    live = total.find("strong", **{"data-live-count": ""})
    assert live is not None and live.text == number(SIGNERS, lang)
    goal = total.find("span", class_="goal")
    assert goal is not None and goal.text == TEXTS[lang]["goal"].format(goal=number(GOAL, lang))
    bar = total.find("progress")
    assert bar is not None and bar.attrs["max"] == str(GOAL)
    assert bar.attrs["value"] == str(GOAL)  # over the goal: the bar is full, not overflowing
    assert TEXTS[lang]["people"] in total.text
    signers = total.find("strong", **{"data-live-signers": ""})
    assert signers is not None and signers.text == number(SIGNERS, lang)
    # Pending and fraudulent signatures are not counted.
    assert number(SIGNERS + 1, lang) not in total.text


@pytest.mark.parametrize("lang", LANGS)
def test_daily_chart_is_described_for_screen_readers_and_tabulated(
    client: FlaskClient, sample: Sample, lang: str
) -> None:
    _, page = get_page(client, results_url(lang, sample.campaign.slug))
    daily = section(page, "daily-heading")
    svg = daily.find("svg")
    assert svg is not None
    assert svg.attrs["role"] == "img"
    assert svg.attrs["aria-labelledby"] == "daily-title daily-desc"
    title, desc = svg.find("title", id="daily-title"), svg.find("desc", id="daily-desc")
    assert title is not None and title.text == TEXTS[lang]["chart_title"]
    assert desc is not None and desc.text

    # One bar per day for four weeks; each bar says its day and figure.
    bars = svg.find_all("rect")
    assert len(bars) == 28
    labels = {}
    for bar in bars:
        tooltip = bar.find("title")
        assert tooltip is not None
        label, _, value = tooltip.text.rpartition(": ")
        labels[label] = (float(bar.attrs["x"]), value)
    today = day_label(sample.today, lang)
    oldest = day_label(sample.today - timedelta(days=27), lang)
    assert labels[today][1] == number(PER_DAY[0], lang)
    heights = sorted(float(b.attrs["height"]) for b in bars)
    assert heights[:24] == [0.0] * 24 and heights[-1] > 0
    # Time runs with the reading direction: today is at the end of the line.
    if lang == "ar":
        assert labels[today][0] < labels[oldest][0]
    else:
        assert labels[today][0] > labels[oldest][0]

    # The same figures as a table, newest first.
    rows = table_rows(daily)
    assert len(rows) == 28
    expected = [
        [
            format_date(sample.today - timedelta(days=n), "medium", locale=lang),
            number(PER_DAY.get(n, 0), lang),
        ]
        for n in range(28)
    ]
    assert rows == expected


@pytest.mark.parametrize("lang", LANGS)
def test_breakdown_by_country_merges_small_countries(
    client: FlaskClient, sample: Sample, lang: str
) -> None:
    _, page = get_page(client, results_url(lang, sample.campaign.slug))
    countries = section(page, "countries-heading")
    expected = [
        [
            TEXTS[lang]["other_countries"] if code == "other" else country(code, lang),
            number(n, lang),
        ]
        for code, n in BY_COUNTRY
    ]
    assert table_rows(countries) == expected
    svg = countries.find("svg")
    assert svg is not None and svg.attrs["role"] == "img"
    assert len(svg.find_all("rect")) == len(BY_COUNTRY)
    # Lebanon (3) and Jordan (2) are too small to be named anywhere.
    for code in ("LB", "JO"):
        assert country(code, lang) not in page.text


@pytest.mark.parametrize("lang", LANGS)
def test_breakdown_by_region_for_syria_and_turkey(
    client: FlaskClient, sample: Sample, lang: str
) -> None:
    _, page = get_page(client, results_url(lang, sample.campaign.slug))
    for code, regions in BY_REGION.items():
        if not regions:
            # Turkey's 9 are public: one named region would give away the rest.
            assert page.find("section", **{"aria-labelledby": f"regions-{code}"}) is None
            continue
        block = section(page, f"regions-{code}")
        heading = block.find("h2")
        assert heading is not None
        assert heading.text == TEXTS[lang]["by_region"].format(country=country(code, lang))
        expected = [
            [
                TEXTS[lang]["other_regions"] if r == "other" else REGION_NAMES[lang][r],
                number(n, lang),
            ]
            for r, n in regions
        ]
        assert table_rows(block) == expected
        svg = block.find("svg")
        assert svg is not None and svg.attrs["role"] == "img"
    # No breakdown by region for other countries.
    assert page.find("section", **{"aria-labelledby": "regions-DE"}) is None
    # Damascus (2 signers) and Istanbul (3) are never named; nor are Idlib (5,
    # the smallest region beside Damascus) and Gaziantep (Turkey minus Istanbul).
    names = (
        ("Damascus", "İstanbul", "Idlib", "Gaziantep")
        if lang == "en"
        else ("دمشق", "إسطنبول", "إدلب", "غازي عنتاب")
    )
    for name in names:
        assert name not in page.text


@pytest.mark.parametrize("lang", LANGS)
def test_latest_signers_show_first_name_and_city_of_public_signers_only(
    client: FlaskClient, sample: Sample, lang: str
) -> None:
    response, page = get_page(client, results_url(lang, sample.campaign.slug))
    latest = section(page, "latest-heading")
    shown = []
    for item in latest.find_all("li"):
        parts = [b.text for b in item.find_all("bdi")]
        assert "".join(item.parts).strip() == TEXTS[lang]["comma"]
        shown.append(parts)
    # Newest first: only validated signers who chose to be shown.
    assert shown == [[p.first_name, p.city] for p in sample.public]
    html = response.get_data(as_text=True)
    for person in sample.public:
        assert person.family_name not in html
        assert person.email not in html
    # Private, pending and fraudulent signers do not appear at all.
    for person in sample.private:
        assert person.first_name not in html
        assert person.email not in html
        assert person.city not in html
    assert "Hidden" not in html


def test_latest_signers_are_the_ten_newest(client: FlaskClient, app: Flask) -> None:
    campaign = create_campaign()
    for n in range(12):
        create_signature(
            campaign,
            state=SignatureState.validated,
            name=f"Person{n:02d} Family",
            region=f"City{n:02d}",
            show_name=True,
            created_at=days_ago(12 - n),
        )
    _, shown = latest_signers(client, campaign.slug)
    assert shown == [[f"Person{n:02d}", f"City{n:02d}"] for n in range(11, 1, -1)]


@pytest.mark.parametrize("lang", LANGS)
def test_milestones_with_the_days_they_were_reached(
    client: FlaskClient, sample: Sample, lang: str
) -> None:
    _, page = get_page(client, results_url(lang, sample.campaign.slug))
    milestones = section(page, "milestones-heading")
    items = [li.text for li in milestones.find_all("li")]
    assert items == [
        TEXTS[lang]["milestone"].format(
            percent=format_percent(percent / 100, locale=lang),
            day=format_date(day, "long", locale=lang),
        )
        for percent, day in sample.milestones.items()
    ]


def test_no_milestones_before_a_quarter_of_the_goal(client: FlaskClient, app: Flask) -> None:
    campaign = create_campaign(goal=100)
    for _ in range(24):
        create_signature(campaign, state=SignatureState.validated)
    count_now()
    _, page = get_page(client, results_url("en", campaign.slug))
    assert page.find("section", **{"aria-labelledby": "milestones-heading"}) is None


@pytest.mark.parametrize("lang", LANGS)
def test_numbers_and_dates_are_formatted_for_the_language(
    client: FlaskClient, app: Flask, lang: str
) -> None:
    campaign = create_campaign(kind=CampaignKind.pledge, goal=5000)
    for _ in range(25):
        create_signature(
            campaign,
            state=SignatureState.validated,
            amount=50,
            country="DE",
            created_at=days_ago(2),
        )
    count_now()
    _, page = get_page(client, results_url(lang, campaign.slug))
    total = section(page, "total-heading")
    live = total.find("strong", **{"data-live-count": ""})
    assert live is not None and live.text == number(1250, lang)
    assert live.text in {"1,250", "١٬٢٥٠"}  # grouped, never a bare "1250"
    goal = total.find("span", class_="goal")
    assert goal is not None and number(5000, lang) in goal.text
    # A pledge's table lists signers and units pledged.
    assert table_rows(section(page, "countries-heading")) == [
        [country("DE", lang), number(25, lang), number(1250, lang)]
    ]
    day = format_date(days_ago(2).date(), "long", locale=lang)
    milestones = section(page, "milestones-heading")
    assert [li.text for li in milestones.find_all("li")] == [
        TEXTS[lang]["milestone"].format(percent=format_percent(0.25, locale=lang), day=day)
    ]
    if lang == "ar":
        month = format_date(days_ago(2).date(), "MMMM", locale="ar")
        assert month in day and not any("a" <= ch.lower() <= "z" for ch in month)


# --- Small buckets -----------------------------------------------------------


def test_small_buckets_are_merged_in_the_json_api(client: FlaskClient, sample: Sample) -> None:
    data = client.get(f"/api/v1/campaigns/{sample.campaign.slug}").get_json()
    assert [(c["country"], c["signers"]) for c in data["by_country"]] == BY_COUNTRY
    assert {
        code: [(r["region"], r["signers"]) for r in rows]
        for code, rows in data["by_region"].items()
    } == BY_REGION
    # Every figure, "other" included, holds at least 5 signers.
    for bucket in data["by_country"]:
        assert bucket["signers"] >= 5
    for rows in data["by_region"].values():
        for bucket in rows:
            assert bucket["signers"] >= 5


def few_signers_in_turkey() -> Any:
    campaign = create_campaign()
    for _ in range(10):
        create_signature(campaign, state=SignatureState.validated, country="DE", region="Berlin")
    for _ in range(3):
        create_signature(
            campaign,
            state=SignatureState.validated,
            country="TR",
            region="Gaziantep",
            region_code="TR-27",
        )
    count_now()
    return campaign


def test_a_country_too_small_to_name_has_no_region_breakdown(
    client: FlaskClient, app: Flask
) -> None:
    campaign = few_signers_in_turkey()
    data = client.get(f"/api/v1/campaigns/{campaign.slug}").get_json()
    # "other" would hold Turkey's 3; naming Germany's 10 beside the public
    # total of 13 would give them away too: no country is named.
    assert data["total"] == 13
    assert data["by_country"] == []
    assert data["by_region"].get("TR", []) == []
    _, page = get_page(client, results_url("en", campaign.slug))
    assert page.find("section", **{"aria-labelledby": "regions-TR"}) is None


def syria_and_one_unmatched_signer() -> Any:
    """The finding "Syria → other regions: 1": six in Aleppo, one whose region
    nobody could match; Syria's 7 are public."""
    campaign = create_campaign()
    for _ in range(6):
        create_signature(campaign, state=SignatureState.validated, country="SY",
                         region="Aleppo", region_code="SY-HL")
    create_signature(campaign, state=SignatureState.validated, country="SY",
                     region="Atlantis", region_code=None)
    for _ in range(5):
        create_signature(campaign, state=SignatureState.validated, country="DE", region="Berlin")
    count_now()
    return campaign


@pytest.mark.parametrize("lang", LANGS)
def test_syria_other_regions_one_is_never_shown(
    client: FlaskClient, app: Flask, lang: str
) -> None:
    campaign = syria_and_one_unmatched_signer()
    data = client.get(f"/api/v1/campaigns/{campaign.slug}").get_json()
    assert [(c["country"], c["signers"]) for c in data["by_country"]] == [("SY", 7), ("DE", 5)]
    # Neither "other regions: 1" nor Aleppo's 6 (7 − 6 = 1).
    assert data["by_region"]["SY"] == []
    _, page = get_page(client, results_url(lang, campaign.slug))
    assert page.find("section", **{"aria-labelledby": "regions-SY"}) is None
    assert TEXTS[lang]["other_regions"] not in page.text


def test_no_region_can_be_derived_by_subtraction(client: FlaskClient, app: Flask) -> None:
    # Syria 12: Aleppo 6, Idlib 5, Damascus 1. Naming Aleppo and Idlib would
    # leave Damascus's one to subtract; Idlib joins "other" instead.
    campaign = create_campaign()
    places = (("Aleppo", "SY-HL", 6), ("Idlib", "SY-ID", 5), ("Damascus", "SY-DI", 1))
    for region, code, n in places:
        for _ in range(n):
            create_signature(campaign, state=SignatureState.validated, country="SY",
                             region=region, region_code=code)
    count_now()
    data = client.get(f"/api/v1/campaigns/{campaign.slug}").get_json()
    assert data["by_country"] == [{"country": "SY", "signers": 12, "total": 12}]
    regions = data["by_region"]["SY"]
    assert [(r["region"], r["signers"]) for r in regions] == [("SY-HL", 6), ("other", 6)]
    for published in regions:
        assert published["signers"] >= 5
    assert data["total"] - sum(r["signers"] for r in regions if r["region"] != "other") >= 5


# --- Status ------------------------------------------------------------------


@pytest.mark.parametrize("lang", LANGS)
def test_closed_campaign_results_stay_public_and_say_it_is_closed(
    client: FlaskClient, app: Flask, lang: str
) -> None:
    closed = make_sample(status=CampaignStatus.closed)
    _, page = get_page(client, results_url(lang, closed.campaign.slug))
    notice = page.find("p", class_="notice")
    assert notice is not None and notice.text == TEXTS[lang]["closed"]
    live = page.find("strong", **{"data-live-count": ""})
    assert live is not None and live.text == number(SIGNERS, lang)
    assert client.get(f"/api/v1/campaigns/{closed.campaign.slug}").get_json()["status"] == "closed"
    # The embed keeps showing the figures, without a button to sign.
    _, embed = get_page(client, f"/embed/{closed.campaign.slug}?lang={lang}")
    live = embed.find("strong", **{"data-live-count": ""})
    assert live is not None and live.text == number(SIGNERS, lang)
    assert embed.find("a", class_="button") is None

    open_campaign = create_campaign()
    _, page = get_page(client, results_url(lang, open_campaign.slug))
    assert TEXTS[lang]["closed"] not in page.text


@pytest.mark.parametrize("status", [CampaignStatus.draft, CampaignStatus.archived])
def test_unpublished_campaign_is_not_found_anywhere(
    client: FlaskClient, app: Flask, status: CampaignStatus
) -> None:
    campaign = create_campaign(status=status)
    create_signature(campaign, state=SignatureState.validated)
    count_now()
    for url in (
        results_url("ar", campaign.slug),
        results_url("en", campaign.slug),
        f"/en/campaigns/{campaign.slug}/share.png",
        f"/embed/{campaign.slug}?lang=ar",
        f"/api/v1/campaigns/{campaign.slug}",
        f"/api/v1/campaigns/{campaign.slug}/count",
    ):
        assert client.get(url).status_code == 404, url
    listed = client.get("/api/v1/campaigns").get_json()["campaigns"]
    assert campaign.slug not in [c["slug"] for c in listed]


def test_unknown_campaign_and_language_are_not_found(client: FlaskClient, sample: Sample) -> None:
    assert client.get(results_url("en", "no-such-campaign")).status_code == 404
    assert client.get(results_url("fr", sample.campaign.slug)).status_code == 404


# --- Sharing -----------------------------------------------------------------


@pytest.mark.parametrize("lang", LANGS)
def test_open_graph_and_twitter_tags_use_absolute_urls(
    client: FlaskClient, sample: Sample, lang: str
) -> None:
    url = results_url(lang, sample.campaign.slug)
    _, page = get_page(client, url)
    tags = meta(page)
    text = sample.campaign.text(lang)
    assert tags["og:title"] == tags["twitter:title"] == text.title
    assert tags["og:description"] == tags["twitter:description"] == text.summary
    assert tags["og:type"] == "website"
    assert tags["og:url"] == SITE + url
    assert tags["twitter:card"] == "summary_large_image"
    assert (tags["og:image:width"], tags["og:image:height"]) == ("1200", "630")
    for key in ("og:image", "twitter:image"):
        image = urlsplit(tags[key])
        assert (image.scheme, image.netloc) == ("http", "zaytoun.test"), tags[key]
        assert image.path == f"/{lang}/campaigns/{sample.campaign.slug}/share.png"
    # The image the tags point at is served.
    image = urlsplit(tags["og:image"])
    response = client.get(f"{image.path}?{image.query}")
    assert response.status_code == 200 and response.mimetype == "image/png"


@pytest.mark.parametrize("lang", LANGS)
def test_share_links_are_plain_links_to_the_campaign(
    client: FlaskClient, sample: Sample, lang: str
) -> None:
    response, page = get_page(client, results_url(lang, sample.campaign.slug))
    campaign_url = f"{SITE}/{lang}/campaigns/{sample.campaign.slug}"
    links = {a.text: a.attrs["href"] for a in section(page, "share-heading").find_all("a")}
    assert list(links) == ["WhatsApp", "Telegram", "Facebook", "X", TEXTS[lang]["email"]]
    hosts = {
        "WhatsApp": ("https", "wa.me"),
        "Telegram": ("https", "t.me"),
        "Facebook": ("https", "www.facebook.com"),
        "X": ("https", "x.com"),
    }
    for name, href in links.items():
        parts = urlsplit(href)
        if name in hosts:
            assert (parts.scheme, parts.netloc) == hosts[name], href
        else:
            assert parts.scheme == "mailto", href
        values = " ".join(v for vs in parse_qs(parts.query).values() for v in vs)
        assert campaign_url in values, href
        assert quote(campaign_url, safe="") in href
    # No third-party script, frame or widget is loaded to share.
    assert page.find_all("script") == [] and page.find_all("iframe") == []
    html = response.get_data(as_text=True)
    for host in ("facebook.com", "x.com", "t.me", "wa.me"):
        assert f'src="https://{host}' not in html and f"src='https://{host}" not in html


@pytest.mark.parametrize("lang", LANGS)
def test_share_image_is_a_1200_by_630_png(client: FlaskClient, sample: Sample, lang: str) -> None:
    response = client.get(f"/{lang}/campaigns/{sample.campaign.slug}/share.png")
    assert response.status_code == 200
    assert response.mimetype == "image/png"
    assert "max-age" in response.headers["Cache-Control"]
    with Image.open(io.BytesIO(response.data)) as image:
        assert image.format == "PNG"
        assert image.size == (1200, 630)
        image.verify()


def test_share_image_progress_fills_from_the_start_side(client: FlaskClient, app: Flask) -> None:
    campaign = create_campaign(goal=10)
    for _ in range(5):
        create_signature(campaign, state=SignatureState.validated)
    count_now()
    images = {}
    for lang in LANGS:
        response = client.get(f"/{lang}/campaigns/{campaign.slug}/share.png")
        images[lang] = Image.open(io.BytesIO(response.data)).convert("RGB")
    # Half the bar is filled: from the left in English, from the right in Arabic.
    left, right, y = (100, 510), (1100, 510), 510
    assert images["en"].getpixel(left) == OLIVE and images["en"].getpixel(right) == LIGHT
    assert images["ar"].getpixel(left) == LIGHT and images["ar"].getpixel(right) == OLIVE
    assert images["ar"].getpixel((600 - 20, y)) == LIGHT
    assert images["en"].getpixel((600 - 20, y)) == OLIVE
    # The title differs, so the pictures differ.
    assert images["ar"].tobytes() != images["en"].tobytes()


# --- Demo data ---------------------------------------------------------------


@pytest.mark.parametrize("lang", LANGS)
def test_demo_signatures_are_announced(client: FlaskClient, app: Flask, lang: str) -> None:
    campaign = create_campaign()
    assert seed_demo_signatures(campaign, 30) == 30
    db.session.commit()
    count_now()
    _, page = get_page(client, results_url(lang, campaign.slug))
    note = page.find("p", class_="note")
    assert note is not None
    assert note.text == TEXTS[lang]["demo"].format(num=number(30, lang))
    live = page.find("strong", **{"data-live-count": ""})
    assert live is not None and live.text == number(30, lang)

    real = create_campaign()
    create_signature(real, state=SignatureState.validated)
    count_now()
    _, page = get_page(client, results_url(lang, real.slug))
    assert page.find("p", class_="note") is None


# --- Embed and framing -------------------------------------------------------


def frame_headers(response: TestResponse) -> tuple[str | None, str | None]:
    csp = response.headers["Content-Security-Policy"]
    ancestors = [d.strip() for d in csp.split(";") if d.strip().startswith("frame-ancestors")]
    assert len(ancestors) <= 1, csp
    return (ancestors[0] if ancestors else None), response.headers.get("X-Frame-Options")


@pytest.mark.parametrize("query", ["?lang=ar", "?lang=en", "?lang=ar&size=compact", ""])
def test_embed_may_be_framed_by_any_site(client: FlaskClient, sample: Sample, query: str) -> None:
    response = client.get(f"/embed/{sample.campaign.slug}{query}")
    assert response.status_code == 200
    # No frame-ancestors at all: "*" would refuse sandboxed and srcdoc hosts.
    assert frame_headers(response) == (None, None)
    assert "object-src 'none'" in response.headers["Content-Security-Policy"]


def test_every_other_page_refuses_to_be_framed(client: FlaskClient, sample: Sample) -> None:
    slug = sample.campaign.slug
    for url in (
        "/",
        "/ar/",
        "/en/",
        f"/ar/campaigns/{slug}",
        results_url("ar", slug),
        results_url("en", slug),
        f"/ar/campaigns/{slug}/share.png",
        f"/ar/campaigns/{slug}/thanks",
        "/api/v1/campaigns",
        f"/api/v1/campaigns/{slug}",
        f"/api/v1/campaigns/{slug}/count",
        "/api/v1/openapi.json",
        "/ar/no-such-page",
        f"/embedded/{slug}",
    ):
        response = client.get(url)
        assert frame_headers(response) == ("frame-ancestors 'none'", "DENY"), url


@pytest.mark.parametrize("lang", ["xx", "fr", "", "ar"])
def test_embed_in_an_unknown_language_falls_back_to_arabic(
    client: FlaskClient, sample: Sample, lang: str
) -> None:
    _, page = get_page(client, f"/embed/{sample.campaign.slug}?lang={lang}")
    html = page.find("html")
    assert html is not None and (html.attrs["lang"], html.attrs["dir"]) == ("ar", "rtl")
    title = page.find("p", class_="title")
    assert title is not None and title.text == sample.campaign.text("ar").title
    link = title.find("a")
    assert link is not None
    assert link.attrs["href"] == f"{SITE}/ar/campaigns/{sample.campaign.slug}"


def test_embed_in_english(client: FlaskClient, sample: Sample) -> None:
    _, page = get_page(client, f"/embed/{sample.campaign.slug}?lang=en")
    html = page.find("html")
    assert html is not None and (html.attrs["lang"], html.attrs["dir"]) == ("en", "ltr")
    title = page.find("p", class_="title")
    assert title is not None and title.text == sample.campaign.text("en").title
    count = page.find("p", class_="count")
    assert count is not None
    live = count.find("strong", **{"data-live-count": ""})
    assert live is not None and live.text == str(SIGNERS)
    assert " ".join("".join(count.parts).split()) == f"of {GOAL} signatures"
    button = page.find("a", class_="button")
    assert button is not None and button.text == "Sign the petition"


@pytest.mark.parametrize("lang", LANGS)
def test_compact_embed_hides_the_summary(client: FlaskClient, sample: Sample, lang: str) -> None:
    summary = sample.campaign.text(lang).summary
    _, full = get_page(client, f"/embed/{sample.campaign.slug}?lang={lang}")
    shown = full.find("p", class_="summary")
    assert shown is not None and shown.text == summary
    _, compact = get_page(client, f"/embed/{sample.campaign.slug}?lang={lang}&size=compact")
    assert compact.find("p", class_="summary") is None
    body = compact.find("body")
    assert body is not None and "compact" in body.classes
    # The figures stay.
    live = compact.find("strong", **{"data-live-count": ""})
    assert live is not None and live.text == number(SIGNERS, lang)


def test_the_public_list_shows_only_what_each_wording_covered(
    client: FlaskClient, app: Flask
) -> None:
    """The new wording ("first name and city") shows both; the old one ("my
    name on the list") shows the first name only; no tick, nothing; agreeing
    only to the delivered petition puts nobody on the public list."""
    campaign = create_campaign()
    people = [
        ("Rojda Xelîl", "Qamişlo", {"show_name": True}),
        ("Azad Osman", "Kobanî", {"show_name": True, "consent_version": 1}),
        ("Hevin Mustafa", "Afrin", {"show_name": False}),
        ("Karwan Haddad", "Azaz", {"show_name": False, "deliver_name": True}),
    ]
    for n, (name, city, consent) in enumerate(people):
        create_signature(
            campaign,
            state=SignatureState.validated,
            name=name,
            region=city,
            created_at=days_ago(4 - n),
            **consent,
        )
    page, shown = latest_signers(client, campaign.slug)
    assert shown == [["Azad"], ["Rojda", "Qamişlo"]]
    html = page.text
    for hidden in ("Kobanî", "Hevin", "Afrin", "Karwan", "Azaz", "Xelîl", "Osman"):
        assert hidden not in html


# --- Channels: online, on paper, in person -------------------------------------

CHANNEL_WORDS = {
    "en": ["Online", "On paper", "In person at a stand", "Other ways (small groups together)"],
}


def signed_by_channel(kind: CampaignKind, **per_source: int) -> Any:
    from campaigns.models import SignatureSource

    campaign = create_campaign(kind=kind)
    for source, n in per_source.items():
        for _ in range(n):
            create_signature(
                campaign,
                state=SignatureState.validated,
                source=SignatureSource[source],
                amount=3 if kind is CampaignKind.pledge else None,
            )
    count_now()
    return campaign


def channel_figures(page: Element) -> list[tuple[str, str, str]]:
    found = section(page, "channels-heading").find("dl")
    assert found is not None
    names = [dt.text for dt in found.find_all("dt")]
    return [
        (dd.attrs["data-channel"], name, dd.text)
        for name, dd in zip(names, found.find_all("dd"), strict=True)
    ]


@pytest.mark.parametrize("lang", ["ar", "en", "ku", "tr"])
def test_the_total_is_shown_apart_by_channel(client: FlaskClient, app: Flask, lang: str) -> None:
    campaign = signed_by_channel(CampaignKind.petition, web=9, paper=6, in_person=5)
    _, page = get_page(client, results_url(lang, campaign.slug))
    shown = channel_figures(page)
    assert [(key, figure) for key, _, figure in shown] == [
        ("online", number(9, lang)),
        ("paper", number(6, lang)),
        ("in_person", number(5, lang)),
    ]
    words = [name for _, name, _ in shown]
    if lang == "en":
        assert words == CHANNEL_WORDS["en"][:3]
    else:
        # Translated: none of the English words is left.
        assert not set(words) & set(CHANNEL_WORDS["en"]), words
        assert len(set(words)) == 3


@pytest.mark.parametrize("lang", LANGS)
def test_a_small_channel_cannot_be_subtracted_from_the_total(
    client: FlaskClient, app: Flask, lang: str
) -> None:
    # 3 on paper: naming online (20) and in person (6) would leave it as the
    # total (29) minus the two; in person joins "other ways" with it.
    campaign = signed_by_channel(CampaignKind.petition, web=20, paper=3, in_person=6)
    data = client.get(f"/api/v1/campaigns/{campaign.slug}").get_json()
    assert data["signers"] == 29
    assert data["channels"] == [
        {"channel": "online", "signers": 20},
        {"channel": "other", "signers": 9},
    ]
    listed = client.get("/api/v1/campaigns").get_json()["campaigns"]
    assert [c["channels"] for c in listed if c["slug"] == campaign.slug] == [data["channels"]]
    _, page = get_page(client, results_url(lang, campaign.slug))
    shown = channel_figures(page)
    assert [(key, figure) for key, _, figure in shown] == [
        ("online", number(20, lang)),
        ("other", number(9, lang)),
    ]
    assert number(3, lang) not in [figure for _, _, figure in shown]


def test_nothing_apart_when_only_the_total_hides_a_small_channel(
    client: FlaskClient, app: Flask
) -> None:
    campaign = signed_by_channel(CampaignKind.petition, web=20, paper=2)
    assert client.get(f"/api/v1/campaigns/{campaign.slug}").get_json()["channels"] == []
    _, page = get_page(client, results_url("en", campaign.slug))
    assert page.find("section", **{"aria-labelledby": "channels-heading"}) is None


def test_a_pledge_splits_the_people_not_the_units(client: FlaskClient, app: Flask) -> None:
    campaign = signed_by_channel(CampaignKind.pledge, web=7, paper=5)
    data = client.get(f"/api/v1/campaigns/{campaign.slug}").get_json()
    assert (data["signers"], data["total"]) == (12, 36)
    assert data["channels"] == [
        {"channel": "online", "signers": 7},
        {"channel": "paper", "signers": 5},
        {"channel": "in_person", "signers": 0},
    ]
    _, page = get_page(client, results_url("en", campaign.slug))
    assert section(page, "channels-heading").find("h2").text == "How people pledged"
