"""Who a campaign is addressed to: written per language in the console,
shown near the top of the public page in the page's language, served by the
API and printed in the delivery document."""

from __future__ import annotations

import re

import pytest
from flask import Flask
from sqlalchemy import select

from campaigns.exports.delivery import collect_delivery, delivery_html
from campaigns.extensions import db
from campaigns.models import Campaign
from tests.moderation.support import logged_in, make_console

TARGETS = {
    "ar": "الدول الأعضاء في الجمعية العامة",
    "en": "The member states of the General Assembly",
    "ku": "Dewletên endam ên Civata Giştî",
    "tr": "Genel Kurul'a üye devletler",
}
LABELS = {"ar": "موجّهة إلى:", "en": "Addressed to:", "ku": "Ji bo:", "tr": "Muhatap:"}


def _form(**overrides: str) -> dict[str, str]:
    data = {"slug": "honest-campaign", "kind": "petition", "goal": "1000", "unit": "signatures"}
    for lang in TARGETS:
        data |= {
            f"title_{lang}": f"Title {lang}",
            f"summary_{lang}": f"Summary {lang}",
            f"body_{lang}": f"Body {lang}",
            f"target_{lang}": TARGETS[lang],
        }
    data.update(overrides)
    return data


def _campaign() -> Campaign:
    return db.session.execute(
        select(Campaign).where(Campaign.slug == "honest-campaign")
    ).scalar_one()


def _edit(app: Flask, **overrides: str) -> int:
    console = make_console()
    client = logged_in(app, console.organizer)
    return client.post(
        "/console/campaigns/honest-campaign/edit", data=_form(**overrides)
    ).status_code


def test_the_target_is_written_per_language_and_shown_on_page_api_and_document(
    app: Flask,
) -> None:
    # Bidi overrides and extra spaces are cleaned away, as in a title.
    assert _edit(app, target_en="  The member states  of the \u202eGeneral Assembly ") == 303
    db.session.expire_all()
    texts = _campaign().texts
    assert {lang: texts[lang].target for lang in TARGETS} == TARGETS

    public = app.test_client()
    for lang, target in TARGETS.items():
        page = public.get(f"/{lang}/campaigns/honest-campaign").get_data(as_text=True)
        found = re.search(r'<p class="target">(.*?)</p>', page, re.S)
        assert found is not None, lang
        assert LABELS[lang] in found.group(1)
        assert f">{target}</bdi>" in found.group(1).replace("&#39;", "'")
        # Before the story: near the top of the page.
        assert page.index('class="target"') < page.index('class="summary"')

    detail = public.get("/api/v1/campaigns/honest-campaign").get_json()
    assert detail["target"] == TARGETS
    listed = public.get("/api/v1/campaigns").get_json()["campaigns"]
    assert [c["target"] for c in listed if c["slug"] == "honest-campaign"] == [TARGETS]

    campaign = _campaign()
    for lang in TARGETS:
        html = delivery_html(collect_delivery(campaign, lang=lang, english=True))
        line = re.search(r'<p class="target">(.*?)</p>', html, re.S)
        assert line is not None, lang
        assert LABELS[lang] in line.group(1)
        # The Arabic text's addressee, the document's language's, and English.
        for shown in {"ar", lang, "en"}:
            assert TARGETS[shown].replace("'", "&#39;") in line.group(1), (lang, shown)
        for hidden in set(TARGETS) - {"ar", lang, "en"}:
            assert TARGETS[hidden].replace("'", "&#39;") not in line.group(1)


def test_a_language_without_a_target_shows_the_arabic_one(app: Flask) -> None:
    assert _edit(app, target_tr="", target_ku="   ") == 303
    db.session.expire_all()
    assert _campaign().texts["tr"].target is None
    page = app.test_client().get("/tr/campaigns/honest-campaign").get_data(as_text=True)
    assert f'<bdi lang="ar">{TARGETS["ar"]}</bdi>' in page
    detail = app.test_client().get("/api/v1/campaigns/honest-campaign").get_json()
    assert detail["target"] == {"ar": TARGETS["ar"], "en": TARGETS["en"]}


def test_no_target_no_line(app: Flask) -> None:
    assert _edit(app, **{f"target_{lang}": "" for lang in TARGETS}) == 303
    page = app.test_client().get("/en/campaigns/honest-campaign").get_data(as_text=True)
    assert 'class="target"' not in page
    assert app.test_client().get("/api/v1/campaigns/honest-campaign").get_json()["target"] == {}
    html = delivery_html(collect_delivery(_campaign(), lang="en", english=True))
    assert 'class="target"' not in html


@pytest.mark.parametrize("lang", ["ar", "tr"])
def test_a_target_too_long_is_refused_in_the_form_language_and_changes_nothing(
    app: Flask, lang: str
) -> None:
    console = make_console()
    client = logged_in(app, console.organizer)
    client.set_cookie("lang", lang)
    response = client.post(
        "/console/campaigns/honest-campaign/edit", data=_form(target_en="x" * 301)
    )
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert 'name="target_en"' in page and "error-summary" in page
    db.session.expire_all()
    assert _campaign().texts["en"].target is None
