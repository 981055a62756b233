"""The privacy page: in every language, what is kept, who sees it, what becomes
public and when it is erased, with the retention time the app really runs with."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.signing import pages

# The retention sentence in each language, with 90 days.
ERASED = {
    "en": "Your personal data is erased 90 days after the campaign closes.",
    "ar": "تُحذف بياناتك الشخصية بعد 90 يومًا من إغلاق الحملة.",
    "tr": "Kişisel verileriniz kampanya kapandıktan 90 gün sonra silinir.",
    "ku": "Daneyên te yên kesane 90 roj piştî girtina kampanyayê têne jêbirin.",
}


@pytest.mark.parametrize("lang", sorted(ERASED))
def test_the_privacy_page_says_it_in_the_readers_language(
    app: Flask, client: FlaskClient, lang: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(app.config, "RETENTION_DAYS", 90)
    monkeypatch.setitem(app.config, "PRIVACY_CONTACT", "privacy@union.example")

    response = client.get(f"/{lang}/privacy")

    assert response.status_code == 200
    page = pages.parse(response.get_data(as_text=True))
    assert pages.html_element(page).attrs.get("lang") == lang
    text = page.text
    assert ERASED[lang] in text
    assert "privacy@union.example" in text
    # Five questions answered, each under its own heading.
    # What we keep, who sees it, what is public, erasure, changing your mind, deletion.
    assert len(page.find_all("h2")) == 6
    # It links to itself from the footer, like every page.
    footer = page.find("footer")
    assert footer is not None
    assert f"/{lang}/privacy" in [a.attrs.get("href") for a in footer.find_all("a")]


def test_the_page_follows_the_configured_retention(app: Flask, client: FlaskClient,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(app.config, "RETENTION_DAYS", 1)
    text = pages.parse(client.get("/en/privacy").get_data(as_text=True)).text
    assert "erased 1 day after the campaign closes" in text
    monkeypatch.setitem(app.config, "RETENTION_DAYS", 365)
    text = pages.parse(client.get("/en/privacy").get_data(as_text=True)).text
    assert "erased 365 days after the campaign closes" in text


def test_an_unknown_language_is_not_found(client: FlaskClient) -> None:
    assert client.get("/xx/privacy").status_code == 404
