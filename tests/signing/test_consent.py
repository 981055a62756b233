"""The sign form's consents say what becomes public and where, start unticked,
and each is stored as the person gave it (on SQLite and on PostgreSQL's
one-statement path alike)."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient

from campaigns.models import CURRENT_CONSENT
from campaigns.privacy.personal import read_personal_data
from tests.factories import create_campaign

from . import pages
from .support import sign_url, stored_signatures, valid_form

WORDS = {
    "en": (
        ("first name", "city", "public list"),
        ("full name", "petition we deliver", "addressed to"),
    ),
    "ar": (("اسمي الأول", "مدينتي", "القائمة العلنية"), ("اسمي الكامل", "العريضة")),
}


@pytest.mark.parametrize("lang", ["en", "ar"])
def test_two_unticked_choices_say_what_becomes_public_and_link_the_privacy_page(
    client: FlaskClient, lang: str
) -> None:
    campaign = create_campaign()
    page = pages.parse(client.get(f"/{lang}/campaigns/{campaign.slug}").get_data(as_text=True))
    for field, words in zip(("show_name", "deliver_name"), WORDS[lang], strict=True):
        box = page.find("input", id=field)
        assert box is not None, field
        assert box.attrs.get("type") == "checkbox"
        assert "checked" not in box.attrs, f"{field} is ticked by default"
        label = page.find("label", **{"for": field})
        assert label is not None
        for word in words:
            assert word in label.text, (field, word, label.text)
    form = page.find("form")
    assert form is not None
    links = [a.attrs.get("href") for a in form.find_all("a")]
    assert f"/{lang}/privacy" in links
    # And from the footer of every page.
    footer = page.find("footer")
    assert footer is not None
    assert f"/{lang}/privacy" in [a.attrs.get("href") for a in footer.find_all("a")]


@pytest.mark.parametrize(
    ("ticked", "show", "deliver"),
    [
        pytest.param({}, False, False, id="neither"),
        pytest.param({"show_name": "y"}, True, False, id="list-only"),
        pytest.param({"deliver_name": "y"}, False, True, id="delivery-only"),
        pytest.param({"show_name": "y", "deliver_name": "y"}, True, True, id="both"),
    ],
)
def test_each_choice_is_stored_as_given_with_the_wording_it_answered(
    client: FlaskClient, ticked: dict[str, str], show: bool, deliver: bool
) -> None:
    campaign = create_campaign()
    form = {**valid_form(region="Kafranbel"), "show_name": None, **ticked}
    response = client.post(
        sign_url(campaign), data={k: v for k, v in form.items() if v is not None}
    )
    assert response.status_code == 303
    [signature] = stored_signatures()
    assert (signature.show_name, signature.deliver_name) == (show, deliver)
    assert signature.consent_version == CURRENT_CONSENT
    # The typed region is only in the ciphertext.
    assert read_personal_data(signature)["region"] == "Kafranbel"
    assert b"Kafranbel" not in (signature.personal_data or b"")
