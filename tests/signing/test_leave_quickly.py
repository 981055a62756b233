"""A sensitive campaign's page offers "Leave quickly" first thing (issue 15,
item 4): a plain link, no referrer, to a page of today's date that shows
nothing of ours. Other campaigns' pages do not have it."""

from __future__ import annotations

import re

import pytest
from flask import Flask
from flask.testing import FlaskClient
from flask_babel import force_locale, gettext

from campaigns.models import Campaign
from campaigns.signing.tokens import make_confirm_token
from tests.factories import create_campaign, create_signature

LANGUAGES = ("ar", "ku", "tr", "en")
LEAVE = re.compile(
    r'<p class="leave"><a href="([^"]+)" rel="noreferrer" data-leave>([^<]+)</a></p>'
)


def translated(text: str, lang: str) -> str:
    with force_locale(lang):
        return gettext(text)


@pytest.mark.parametrize("lang", LANGUAGES)
def test_a_sensitive_campaigns_page_starts_with_the_leave_link(
    client: FlaskClient, lang: str
) -> None:
    campaign = create_campaign(sensitive=True)
    html = client.get(f"/{lang}/campaigns/{campaign.slug}").get_data(as_text=True)
    found = LEAVE.search(html)
    assert found is not None
    assert found.group(1) == f"/{lang}/today"
    assert found.group(2) == translated("Leave quickly", lang)
    body = html[html.index("<body") :]
    # First in the page: before the skip link, the site's name and the campaign.
    assert body.index('class="leave"') < body.index('class="skip"') < body.index("<h1")


def test_other_campaigns_pages_have_no_leave_link(client: FlaskClient) -> None:
    campaign = create_campaign()
    for path in campaign_pages(campaign):
        html = client.get(path).get_data(as_text=True)
        assert "data-leave" not in html and "/ar/today" not in html, path


def campaign_pages(campaign: Campaign) -> list[str]:
    """The pages a signer of the campaign sees: the campaign, after signing,
    the confirmation landing page from the email, and the results."""
    signature = create_signature(campaign, checked=True)
    return [
        f"/ar/campaigns/{campaign.slug}",
        f"/ar/campaigns/{campaign.slug}/thanks",
        f"/ar/confirm/{make_confirm_token(signature.uuid)}",
        f"/ar/campaigns/{campaign.slug}/results",
    ]


def test_every_page_a_signer_of_a_sensitive_campaign_sees_has_the_leave_link(
    client: FlaskClient,
) -> None:
    campaign = create_campaign(sensitive=True)
    for path in campaign_pages(campaign):
        response = client.get(path)
        assert response.status_code == 200, path
        assert LEAVE.search(response.get_data(as_text=True)), path


def brand_words() -> set[str]:
    words = {"zaytoun", "زيتون", "campaign", "petition", "sign"}
    for lang in LANGUAGES:
        for text in ("Zaytoun", "Aleppo Revolutionaries Union", "Privacy", "Sign the petition"):
            words.add(translated(text, lang).lower())
    return words


@pytest.mark.parametrize("lang", LANGUAGES)
def test_the_neutral_page_shows_nothing_of_ours(app: Flask, client: FlaskClient, lang: str) -> None:
    create_campaign(sensitive=True)
    response = client.get(f"/{lang}/today")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    for word in brand_words():
        assert word not in html.lower(), word
    # No link back, no script, no style sheet, no image of ours, and a blank
    # icon, so that the browser does not fetch the site's favicon.
    for tag in ("<a ", "<script", "<link rel=\"stylesheet\"", "<img", "<form"):
        assert tag not in html, tag
    assert '<link rel="icon" href="data:,">' in html
    assert "/static/" not in html
    assert f'lang="{lang}"' in html
    # Sets no cookie, and sends no referrer onwards.
    assert "Set-Cookie" not in response.headers
    assert response.headers["Referrer-Policy"] == "no-referrer"
    title = re.search(r"<title>([^<]+)</title>", html)
    assert title is not None and title.group(1).strip()


def test_every_public_page_sends_no_referrer(client: FlaskClient) -> None:
    campaign = create_campaign(sensitive=True)
    for path in (f"/ar/campaigns/{campaign.slug}", "/ar/today", "/ar/", "/ar/privacy"):
        assert client.get(path).headers["Referrer-Policy"] == "no-referrer", path


@pytest.mark.parametrize("lang", LANGUAGES)
def test_the_privacy_page_says_what_a_sensitive_campaign_hides_and_what_not(
    app: Flask, client: FlaskClient, lang: str
) -> None:
    app.config["MAIL_NEUTRAL_SENDER_NAME"] = "Rappels"
    html = client.get(f"/{lang}/privacy").get_data(as_text=True)
    with force_locale(lang):
        paragraph = gettext(
            "For campaigns that could put their signers at risk, our emails come from "
            "“%(name)s” with a plain subject and name neither the campaign nor the union, and "
            "the campaign's page has a “Leave quickly” button. Your mail provider and your "
            "network can still see our address, and your browser's history keeps the pages "
            "you opened: sign in a private window, and delete our emails once you have "
            "confirmed.",
            name="Rappels",
        )
    assert "Rappels" in paragraph
    assert paragraph.replace("'", "&#39;") in html or paragraph in html
