"""After signing and confirming: the page the confirmation leads to shows the
count with the person in it (before the count job has folded them in, and
after, never twice), that browser is not offered the form again (unless
someone else asks for it), and no page that differs per browser may be kept
by a shared cache. Also what the sign form shows: the closing date, digits
grouped as the live count groups them, boxes in the page's direction, and an
error summary that takes the focus."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from babel.dates import format_date
from babel.numbers import get_group_symbol
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from campaigns.counting.services import update_signature_counts
from campaigns.models import Campaign, CampaignKind, Signature, SignatureState
from campaigns.models.types import utcnow
from campaigns.signing.tokens import make_confirm_token
from tests.factories import create_campaign, create_signature

from . import pages
from .support import sign_url, valid_form

DAYS_30 = 30 * 24 * 3600


def _pledge(goal: int = 500) -> Campaign:
    campaign = create_campaign(kind=CampaignKind.pledge, goal=goal, max_amount_per_signer=50)
    for amount in (3, 4):
        create_signature(campaign, state=SignatureState.validated, amount=amount)
    update_signature_counts()
    return campaign


def _confirm(client: FlaskClient, signature: Signature, lang: str = "en") -> TestResponse:
    answer = client.post(f"/{lang}/confirm/{make_confirm_token(signature.uuid)}")
    assert answer.status_code == 303
    return answer


def _page(client: FlaskClient, url: str) -> pages.Element:
    response = client.get(url)
    assert response.status_code == 200
    return pages.parse(response.get_data(as_text=True))


def _text(page: pages.Element, **attrs: str) -> str:
    element = page.find(**attrs)
    assert element is not None, attrs
    return element.text


def _marker(response: TestResponse) -> list[str]:
    return [h for h in response.headers.getlist("Set-Cookie") if h.startswith("signed-")]


# the confirmation's page ----------------------------------------------------------


def test_the_count_holds_the_person_before_the_count_job_and_once_after(
    client: FlaskClient,
) -> None:
    campaign = _pledge()
    mine = create_signature(campaign, checked=True, amount=5)

    landing = _confirm(client, mine).headers["Location"]
    page = _page(client, landing)
    assert "confirmed" in page.text.lower()
    # 3 + 4 counted, 5 not yet: shown as 12 of 500, by 3 people.
    assert _text(page, **{"data-confirmed-count": ""}) == "12"
    assert _text(page, **{"data-live-count": ""}) == "12"
    assert _text(page, **{"data-live-signers": ""}) == "3"
    # Read again before the job has run: still with the person.
    assert _text(_page(client, landing), **{"data-confirmed-count": ""}) == "12"

    assert update_signature_counts() == 1
    page = _page(client, landing)
    # Now the count holds it: not added a second time.
    assert _text(page, **{"data-confirmed-count": ""}) == "12"
    assert _text(page, **{"data-live-signers": ""}) == "3"


def test_a_petition_adds_one_signature(client: FlaskClient) -> None:
    campaign = create_campaign(goal=None)
    create_signature(campaign, state=SignatureState.validated)
    update_signature_counts()
    mine = create_signature(campaign, checked=True)
    page = _page(client, _confirm(client, mine).headers["Location"])
    assert _text(page, **{"data-confirmed-count": ""}) == "2"
    assert page.find(class_="share") is not None


def test_the_page_after_confirming_shows_no_form_and_a_way_to_share(client: FlaskClient) -> None:
    campaign = _pledge()
    mine = create_signature(campaign, checked=True, amount=5)
    page = _page(client, _confirm(client, mine).headers["Location"])

    assert page.find("form") is None
    links = [a.attrs["href"] for a in page.find(class_="share").find_all("a")]  # type: ignore[union-attr]
    hosts = ["https://wa.me/", "https://t.me/", "https://www.facebook.com/", "https://x.com/"]
    for host in hosts:
        assert any(link.startswith(host) for link in links), host
    assert any(link.startswith("mailto:?") for link in links)
    # The address to copy, without any script: a read-only field.
    field = page.find("input", id="share-link")
    assert field is not None and "readonly" in field.attrs
    assert field.attrs["value"] == f"http://zaytoun.test/en/campaigns/{campaign.slug}"
    # Nothing on the page is fetched from another site.
    for tag, attr in (("img", "src"), ("script", "src"), ("link", "href"), ("iframe", "src")):
        for element in page.find_all(tag):
            assert not element.attrs.get(attr, "").startswith(("http:", "https:", "//")), element


RECEIPT = re.compile(r"(?:[A-Z2-7]{4}-){7}[A-Z2-7]{4}")
MANAGE_LINK = re.compile(r"/manage/[^\"/]+")


def test_a_fraudulent_signature_sees_exactly_what_a_genuine_one_sees(
    client: FlaskClient,
) -> None:
    campaign = _pledge()
    genuine = create_signature(campaign, checked=True, amount=5)
    fraud = create_signature(
        campaign, state=SignatureState.fraudulent, fraud_reason="rate_burst", amount=5
    )
    bodies = []
    for signature in (genuine, fraud):
        visitor = client.application.test_client()
        landing = _confirm(visitor, signature).headers["Location"]
        page = visitor.get(landing).get_data(as_text=True)
        # Each gets a manage link of its own (signing/manage): alike but for its token.
        assert len(MANAGE_LINK.findall(page)) == 1
        # And a receipt code of its own (a fraudulent one's is in no ledger).
        assert len(RECEIPT.findall(page)) == 1
        bodies.append(RECEIPT.sub("<receipt>", MANAGE_LINK.sub("/manage/<token>", page)))
    assert bodies[0] == bodies[1]
    assert "12" in bodies[0]


def test_a_stranger_opening_the_confirmed_address_gets_the_plain_page(
    client: FlaskClient,
) -> None:
    campaign = _pledge()
    page = _page(client, f"/en/campaigns/{campaign.slug}?confirmed=1")
    assert page.find(**{"data-confirmed-count": ""}) is None
    assert page.find("form") is not None


# the browser that signed -------------------------------------------------------------


def test_confirming_marks_the_browser_with_nothing_about_the_person(
    client: FlaskClient,
) -> None:
    campaign = _pledge()
    mine = create_signature(campaign, checked=True, amount=5)
    answer = _confirm(client, mine)
    assert _marker(answer) == [
        f"signed-{campaign.slug}=confirmed; Max-Age={DAYS_30}; HttpOnly; Path=/; SameSite=Lax"
    ]

    page = _page(client, f"/ar/campaigns/{campaign.slug}")
    assert page.find("form") is None
    assert page.find(class_="signed-here") is not None
    assert page.find(class_="to-sign") is None
    again = page.find(class_="signed-here").find("a")  # type: ignore[union-attr]
    assert again is not None
    assert again.attrs["href"] == f"/ar/campaigns/{campaign.slug}?someone_else=1#sign-heading"
    # Someone else at the same device: the form is back.
    assert _page(client, again.attrs["href"].split("#")[0]).find("form") is not None


@pytest.mark.parametrize("again", [False, True], ids=["new", "duplicate"])
def test_signing_marks_the_browser_alike_for_a_new_and_a_duplicate_signature(
    client: FlaskClient, again: bool
) -> None:
    campaign = create_campaign(kind=CampaignKind.pledge, max_amount_per_signer=50)
    if again:
        client.application.test_client().post(sign_url(campaign), data=valid_form())
    answer = client.post(sign_url(campaign), data=valid_form())
    assert answer.status_code == 303
    assert _marker(answer) == [
        f"signed-{campaign.slug}=signed; Max-Age={DAYS_30}; HttpOnly; Path=/; SameSite=Lax"
    ]
    page = _page(client, f"/ar/campaigns/{campaign.slug}")
    assert page.find("form") is None
    # Not counted until the link in the email is pressed: the page says so.
    assert len(page.find(class_="signed-here").find_all("p")) == 3  # type: ignore[union-attr]


def test_a_refused_form_marks_nothing(client: FlaskClient) -> None:
    campaign = create_campaign()
    answer = client.post(sign_url(campaign), data=valid_form(email="not-an-address"))
    assert answer.status_code == 422
    assert _marker(answer) == []


def test_a_marker_of_another_campaign_or_with_another_value_is_ignored(
    client: FlaskClient,
) -> None:
    campaign, other = create_campaign(), create_campaign()
    client.set_cookie(f"signed-{other.slug}", "confirmed")
    client.set_cookie(f"signed-{campaign.slug}", "someone@example.org")
    assert _page(client, f"/en/campaigns/{campaign.slug}").find("form") is not None


def test_the_campaign_page_is_never_kept_by_a_shared_cache(client: FlaskClient) -> None:
    campaign = _pledge()
    url = f"/en/campaigns/{campaign.slug}"
    before = client.get(url)
    _confirm(client, create_signature(campaign, checked=True, amount=5))
    for response in (before, client.get(url), client.get(url + "?confirmed=1")):
        assert response.status_code == 200
        assert not response.cache_control.public
        assert response.cache_control.private
        assert response.cache_control.no_cache


# the form -----------------------------------------------------------------------------


@pytest.mark.parametrize("lang", ["ar", "ku", "tr", "en"])
def test_the_closing_date_is_shown_in_the_languages_format(
    client: FlaskClient, lang: str
) -> None:
    closes = datetime(2031, 3, 15, 12, 0, tzinfo=UTC)
    campaign = create_campaign(closes_at=closes)
    page = _page(client, f"/{lang}/campaigns/{campaign.slug}")
    assert format_date(closes.date(), "long", locale=lang) in _text(page, class_="deadline")


def test_a_past_closing_date_is_not_announced(client: FlaskClient) -> None:
    campaign = create_campaign(closes_at=utcnow() - timedelta(days=1))
    page = _page(client, f"/en/campaigns/{campaign.slug}")
    assert page.find(class_="deadline") is None


@pytest.mark.parametrize("lang", ["ar", "ku", "tr", "en"])
def test_the_count_carries_the_languages_digit_grouping(client: FlaskClient, lang: str) -> None:
    campaign = create_campaign(kind=CampaignKind.pledge, goal=100_000)
    create_signature(campaign, state=SignatureState.validated, amount=1500)
    update_signature_counts()
    page = _page(client, f"/{lang}/campaigns/{campaign.slug}")
    root = page.find(**{"data-count-url": f"/api/v1/campaigns/{campaign.slug}/count"})
    assert root is not None
    symbol = get_group_symbol(lang)
    assert root.attrs["data-number-symbol"] == symbol
    assert root.attrs["data-number-sizes"] == "3 3"
    # The server's own figure is grouped with that symbol.
    assert _text(root, **{"data-live-count": ""}) == f"1{symbol}500"


@pytest.mark.parametrize(("lang", "page_dir"), [("ar", "rtl"), ("en", "ltr")])
def test_empty_boxes_start_in_the_pages_direction(
    client: FlaskClient, lang: str, page_dir: str
) -> None:
    campaign = create_campaign(kind=CampaignKind.pledge, max_amount_per_signer=50)
    page = _page(client, f"/{lang}/campaigns/{campaign.slug}")
    directions = {
        name: page.find(id=name).attrs.get("dir")  # type: ignore[union-attr]
        for name in ("full_name", "email", "phone", "region", "amount")
    }
    assert directions == {
        "full_name": page_dir,
        "email": "ltr",
        "phone": "ltr",
        "region": page_dir,
        "amount": page_dir,
    }
    # Sent back with errors: the same, whatever was typed (what the page
    # answers never depends on it; the script gives typed text its direction).
    refused = client.post(
        sign_url(campaign, lang), data=valid_form(full_name="Hanna Schmidt", email="x")
    )
    assert refused.status_code == 422
    page = pages.parse(refused.get_data(as_text=True))
    assert page.find(id="full_name").attrs["dir"] == page_dir  # type: ignore[union-attr]
    assert page.find(id="email").attrs["dir"] == "ltr"  # type: ignore[union-attr]


def test_the_error_summary_takes_the_focus_without_javascript(client: FlaskClient) -> None:
    campaign = create_campaign()
    form = _page(client, f"/en/campaigns/{campaign.slug}").find("form")
    assert form is not None
    # No fragment in the action: a fragment would stop the browser from
    # honouring autofocus.
    assert "#" not in form.attrs["action"]
    refused = client.post(sign_url(campaign, "en"), data={})
    summary = pages.parse(refused.get_data(as_text=True)).find(class_="error-summary")
    assert summary is not None
    assert summary.attrs.get("tabindex") == "-1"
    assert "autofocus" in summary.attrs


def test_a_plain_visit_to_a_paused_campaign_moves_no_focus(client: FlaskClient) -> None:
    campaign = create_campaign(signing_paused=True)
    page = _page(client, f"/en/campaigns/{campaign.slug}")
    assert not [e for e in page.iter() if "autofocus" in e.attrs]
