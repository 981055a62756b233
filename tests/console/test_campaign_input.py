"""What the campaign and update forms refuse and accept at their edges: the
slug matched whole and never the name of a page, control characters, and
bodies as large as the forms' own limits allow."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from campaigns.console.campaigns import CONTENT_LANGUAGES, reserved_slugs
from campaigns.extensions import db
from campaigns.forms import largest_body
from campaigns.models import Campaign, CampaignText, CampaignUpdate
from tests.moderation.support import logged_in, make_console

from .test_campaigns import _form

SLUG_ERROR = "Use lowercase Latin letters, digits and dashes."
PAGE_NAME_ERROR = "This address is the name of a page of the site: please choose another."
LINE_ERROR = "Please remove the line breaks and control characters from this field."
TEXT_ERROR = "Please remove the control characters from this text."
# The widest character a Length validator counts: 4 bytes of UTF-8, 12 encoded.
WIDE = "\U00013000"


@pytest.fixture
def organizer(app: Flask) -> FlaskClient:
    client = logged_in(app, make_console().organizer)
    client.set_cookie("lang", "en")  # the console's messages in English, to read them here
    return client


def _campaigns() -> int:
    return db.session.execute(select(func.count()).select_from(Campaign)).scalar_one()


def _refused(client: FlaskClient, data: dict[str, str], message: str) -> None:
    before = _campaigns()
    response = client.post("/console/campaigns/new", data=data, headers={"Accept-Language": "en"})
    assert response.status_code == 422, response.status_code
    assert message in response.get_data(as_text=True)
    db.session.rollback()
    assert _campaigns() == before


def test_a_slug_is_matched_whole(organizer: FlaskClient) -> None:
    """A final line break passed `re.match(...$)`; its CSV downloads then failed."""
    for slug in ("clean-slug\n", "clean-slug\r\n", "\nclean-slug", "a--b", "-a", "a-"):
        _refused(organizer, _form(slug=slug), SLUG_ERROR if "\n" not in slug else LINE_ERROR)


def _slug_clashes(app: Flask) -> set[str]:
    """Literal segments that sit where a rule of the map takes <slug> after the
    same prefix: a campaign named like one is hidden behind that page."""
    rules = [rule.rule.strip("/").split("/") for rule in app.url_map.iter_rules()]
    clashes = set()
    for parts in rules:
        for i, part in enumerate(parts):
            if part != "<slug>":
                continue
            for other in rules:
                if len(other) > i and other[:i] == parts[:i] and "<" not in other[i]:
                    clashes.add(other[i])
    return clashes


def test_no_slug_can_take_the_name_of_a_page(app: Flask, organizer: FlaskClient) -> None:
    """Derived from the URL map: a route added later cannot bring the clash back."""
    clashes = _slug_clashes(app)
    assert "new" in clashes  # /console/campaigns/new hid a campaign named "new"
    with app.test_request_context():
        assert clashes <= reserved_slugs()
    for slug in sorted(clashes):
        _refused(organizer, _form(slug=slug), PAGE_NAME_ERROR)


CONTROL_CASES = [
    ("title_ar", "عنوان\x00", LINE_ERROR),
    ("title_en", "Title\nline", LINE_ERROR),
    ("unit", "trees\x1b[31m", LINE_ERROR),
    ("unit_label_ku", "dar\x7f", LINE_ERROR),
    ("body_ar", "نص\x00الحملة", TEXT_ERROR),
    ("summary_en", "A\x07summary", TEXT_ERROR),
    ("body_en", "Text\x85more", TEXT_ERROR),
]


def test_control_characters_are_refused_with_a_message(organizer: FlaskClient) -> None:
    """A NUL was a 500 on PostgreSQL; the others were stored."""
    for field, value, message in CONTROL_CASES:
        _refused(organizer, _form(**{field: value}), message)


def test_line_breaks_and_tabs_stay_in_multi_line_text(organizer: FlaskClient) -> None:
    data = _form(body_ar="فقرة أولى\r\n\r\nفقرة\tثانية", summary_en="One\nTwo")
    assert organizer.post("/console/campaigns/new", data=data).status_code == 303
    text = db.session.execute(
        select(CampaignText.body).where(CampaignText.locale == "ar")
    ).scalars().all()
    assert any("\n" in body for body in text)


def _full_campaign(char: str) -> dict[str, str]:
    data = _form(slug="full-campaign", unit="u" * 32)
    for lang in CONTENT_LANGUAGES:
        data |= {
            f"title_{lang}": char * 200,
            f"summary_{lang}": char * 500,
            f"body_{lang}": char * 20000,
            f"unit_label_{lang}": char * 64,
        }
    return data


@pytest.mark.parametrize("char", ["ب", WIDE], ids=["arabic", "four-byte"])
def test_a_campaign_with_every_text_at_its_maximum_is_accepted(
    organizer: FlaskClient, char: str
) -> None:
    """Arabic takes 6 bytes a character url-encoded: 12,000 characters were
    already refused (413) by a request limit smaller than the form's."""
    data = _full_campaign(char)
    response = organizer.post("/console/campaigns/new", data=data)
    assert response.status_code == 303, response.status_code
    ku = select(CampaignText).where(CampaignText.locale == "ku")
    assert len(db.session.execute(ku).scalar_one().body) == 20000


def test_a_campaign_body_past_the_form_limit_is_refused(
    app: Flask, organizer: FlaskClient
) -> None:
    from campaigns.console.campaigns import campaign_form_class

    limit = largest_body(campaign_form_class())
    before = _campaigns()
    data = _form() | {"padding": "a" * limit}
    assert organizer.post("/console/campaigns/new", data=data).status_code == 413
    assert _campaigns() == before


def test_an_update_with_every_text_at_its_maximum_is_accepted(
    app: Flask, organizer: FlaskClient
) -> None:
    slug = db.session.execute(select(Campaign.slug)).scalars().first()
    data = {}
    for lang in CONTENT_LANGUAGES:
        data |= {f"subject_{lang}": "ب" * 200, f"body_{lang}": "ب" * 20000}
    response = organizer.post(f"/console/campaigns/{slug}/updates/new", data=data)
    assert response.status_code == 303, response.status_code
    assert db.session.execute(select(func.count()).select_from(CampaignUpdate)).scalar_one() == 1


def test_the_limits_follow_the_form_not_a_constant() -> None:
    from campaigns.console.campaigns import campaign_form_class

    # 4 languages x (200 + 500 + 20,000 + 64) characters, 12 bytes each.
    assert largest_body(campaign_form_class()) >= 4 * 20764 * 12
