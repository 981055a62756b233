"""The count is final at closing: a pending signature can no longer be
confirmed once its campaign has closed (by its status, or its closing time),
and the person is told so kindly, in their language."""

from __future__ import annotations

from datetime import timedelta

import pytest
from flask.testing import FlaskClient

from campaigns.extensions import db
from campaigns.models import Campaign, CampaignStatus, Signature, SignatureState
from campaigns.models.types import utcnow
from campaigns.signing.tokens import make_confirm_token
from tests.factories import create_campaign, create_signature

from . import pages

CLOSED_TITLE = {"ar": "أُغلقت هذه الحملة", "en": "This campaign has closed"}


def _close(campaign: Campaign, how: str) -> None:
    if how == "status":
        campaign.status = CampaignStatus.closed
    else:  # its closing time passed, with no one changing its status yet
        campaign.closes_at = utcnow() - timedelta(minutes=1)
    db.session.commit()


def _state(signature_id: int) -> SignatureState:
    db.session.expire_all()
    return db.session.get(Signature, signature_id).state  # type: ignore[union-attr]


@pytest.mark.parametrize("how", ["status", "closing_time"])
@pytest.mark.parametrize("lang", ["ar", "en"])
def test_a_confirmation_after_closing_is_refused_kindly(
    client: FlaskClient, how: str, lang: str
) -> None:
    campaign = create_campaign()
    signature = create_signature(campaign, checked=True)
    url = f"/{lang}/confirm/{make_confirm_token(signature.uuid)}"
    _close(campaign, how)

    landing = client.get(url)
    answer = client.post(url)

    for response in (landing, answer):
        assert response.status_code == 410
        page = pages.parse(response.get_data(as_text=True))
        assert CLOSED_TITLE[lang] in page.find("h1").text
        assert page.find("form") is None  # no button that cannot work
    assert _state(signature.id) is SignatureState.pending


def test_a_closed_campaign_answers_alike_for_a_fraudulent_signature(
    client: FlaskClient,
) -> None:
    """Bots learn nothing: fraudulent and pending get the same closed page."""
    campaign = create_campaign()
    pending = create_signature(campaign, checked=True)
    fraudulent = create_signature(campaign, state=SignatureState.fraudulent)
    _close(campaign, "status")

    answers = [
        client.post(f"/ar/confirm/{make_confirm_token(s.uuid)}") for s in (pending, fraudulent)
    ]

    assert [a.status_code for a in answers] == [410, 410]
    main = [pages.parse(a.get_data(as_text=True)).find("main").text for a in answers]
    assert main[0] == main[1]
    assert _state(fraudulent.id) is SignatureState.fraudulent


def test_a_signature_confirmed_before_closing_stays_confirmed(client: FlaskClient) -> None:
    campaign = create_campaign()
    signature = create_signature(campaign, checked=True)
    url = f"/ar/confirm/{make_confirm_token(signature.uuid)}"
    assert client.post(url).status_code == 303
    _close(campaign, "status")

    again = client.post(url)

    assert again.status_code == 303  # "already confirmed", as before closing
    assert _state(signature.id) is SignatureState.validated


def test_a_paused_campaign_still_takes_confirmations(client: FlaskClient) -> None:
    campaign = create_campaign()
    signature = create_signature(campaign, checked=True)
    campaign.signing_paused = True
    db.session.commit()

    response = client.post(f"/ar/confirm/{make_confirm_token(signature.uuid)}")

    assert response.status_code == 303
    assert _state(signature.id) is SignatureState.validated


def test_a_reopened_campaign_takes_confirmations_again(client: FlaskClient) -> None:
    campaign = create_campaign(status=CampaignStatus.closed)
    signature = create_signature(campaign, checked=True)
    campaign.status = CampaignStatus.open
    db.session.commit()

    response = client.post(f"/ar/confirm/{make_confirm_token(signature.uuid)}")

    assert response.status_code == 303
    assert _state(signature.id) is SignatureState.validated
