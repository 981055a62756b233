"""Confirming a signature: the link in the email opens a page with a button;
only pressing it (a POST) confirms."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from itsdangerous import TimestampSigner

from campaigns.extensions import db
from campaigns.models import Signature, SignatureState
from campaigns.signing.tokens import make_confirm_token
from tests.factories import create_campaign, create_signature

from . import pages
from .support import csrf_app, stored_signatures


def _reloaded(signature_id: int) -> Signature:
    [signature] = [s for s in stored_signatures() if s.id == signature_id]
    return signature


def _confirm_url(signature: Signature, lang: str = "ar") -> str:
    return f"/{lang}/confirm/{make_confirm_token(signature.uuid)}"


def _expired_token(app: Flask, signature: Signature, monkeypatch: pytest.MonkeyPatch) -> str:
    made_at = int(time.time()) - app.config["CONFIRM_TOKEN_MAX_AGE"] - 60
    with monkeypatch.context() as patch:
        patch.setattr(TimestampSigner, "get_timestamp", lambda self: made_at)
        return make_confirm_token(signature.uuid)


def _assert_is_the_campaign_page_with_confirmation(location: str, slug: str, lang: str) -> None:
    path, _, query = location.partition("?")
    assert path.endswith(f"/{lang}/campaigns/{slug}")
    assert "confirmed=1" in query.split("&")


# the landing page (GET) ---------------------------------------------------------


def test_opening_the_link_changes_nothing_and_shows_a_button(client: FlaskClient) -> None:
    campaign = create_campaign()
    signature = create_signature(campaign, checked=True, locale="ar")
    url = _confirm_url(signature)

    for _ in range(3):  # mail scanners open links, sometimes several times
        response = client.get(url)
        assert response.status_code == 200

    stored = _reloaded(signature.id)
    assert stored.state is SignatureState.pending
    assert stored.validated_at is None
    page = pages.parse(response.get_data(as_text=True))
    assert pages.html_element(page).attrs.get("lang") == "ar"
    form = page.find("form")
    assert form is not None
    assert form.attrs.get("method", "").lower() == "post"
    assert form.attrs.get("action") == url
    assert form.find("button") is not None
    assert campaign.text("ar").title in page.text


def test_a_head_request_on_the_link_changes_nothing(client: FlaskClient) -> None:
    campaign = create_campaign()
    signature = create_signature(campaign, checked=True)

    response = client.head(_confirm_url(signature))

    assert response.status_code == 200
    stored = _reloaded(signature.id)
    assert stored.state is SignatureState.pending
    assert stored.validated_at is None


def test_the_landing_page_does_not_run_the_checks(client: FlaskClient) -> None:
    campaign = create_campaign()
    signature = create_signature(campaign, checked=False)
    assert client.get(_confirm_url(signature)).status_code == 200
    stored = _reloaded(signature.id)
    assert stored.checked_at is None
    assert stored.state is SignatureState.pending


def test_the_landing_page_follows_the_links_language(client: FlaskClient) -> None:
    campaign = create_campaign()
    signature = create_signature(campaign, checked=True, locale="ar")
    response = client.get(_confirm_url(signature, "en"))
    page = pages.parse(response.get_data(as_text=True))
    assert pages.html_element(page).attrs.get("lang") == "en"
    assert campaign.text("en").title in page.text


# confirming (POST) -------------------------------------------------------------------


def test_pressing_the_button_validates_and_returns_to_the_campaign(client: FlaskClient) -> None:
    campaign = create_campaign()
    signature = create_signature(campaign, checked=True)

    response = client.post(_confirm_url(signature))

    assert response.status_code == 303
    _assert_is_the_campaign_page_with_confirmation(
        response.headers["Location"], campaign.slug, "ar"
    )
    stored = _reloaded(signature.id)
    assert stored.state is SignatureState.validated
    assert stored.validated_at is not None
    assert stored.validated_at >= stored.created_at

    landing = client.get(response.headers["Location"])
    assert landing.status_code == 200
    assert pages.parse(landing.get_data(as_text=True)).find(class_="notice") is not None


def test_confirming_twice_is_harmless(client: FlaskClient) -> None:
    campaign = create_campaign()
    signature = create_signature(campaign, checked=True)
    url = _confirm_url(signature)

    first = client.post(url)
    validated_at = _reloaded(signature.id).validated_at
    second = client.post(url)

    assert second.status_code == first.status_code == 303
    assert second.headers["Location"] == first.headers["Location"]
    stored = _reloaded(signature.id)
    assert stored.state is SignatureState.validated
    assert stored.validated_at == validated_at
    assert len(stored_signatures()) == 1


def test_confirming_touches_no_other_signature(client: FlaskClient) -> None:
    campaign = create_campaign()
    mine = create_signature(campaign, checked=True)
    other = create_signature(campaign, checked=True)
    client.post(_confirm_url(mine))
    assert _reloaded(other.id).state is SignatureState.pending
    assert _reloaded(other.id).validated_at is None


def test_a_signature_whose_checks_have_not_run_cannot_be_confirmed(client: FlaskClient) -> None:
    campaign = create_campaign()
    signature = create_signature(campaign, checked=False)

    response = client.post(_confirm_url(signature))

    assert response.status_code < 500
    assert "confirmed=1" not in response.headers.get("Location", "")
    stored = _reloaded(signature.id)
    assert stored.state is SignatureState.pending
    assert stored.validated_at is None
    assert stored.checked_at is None


def test_a_fraudulent_signature_is_not_validated_but_answered_like_a_success(
    app: Flask,
) -> None:
    campaign = create_campaign()
    genuine = create_signature(campaign, checked=True)
    fraud = create_signature(campaign, state=SignatureState.fraudulent, fraud_reason="rate_burst")

    genuine_response = app.test_client().post(_confirm_url(genuine))
    fraud_response = app.test_client().post(_confirm_url(fraud))

    assert fraud_response.status_code == genuine_response.status_code == 303
    assert fraud_response.headers["Location"] == genuine_response.headers["Location"]
    stored = _reloaded(fraud.id)
    assert stored.state is SignatureState.fraudulent
    assert stored.validated_at is None


def test_an_invalidated_signature_is_not_validated_again(client: FlaskClient) -> None:
    campaign = create_campaign()
    signature = create_signature(campaign, state=SignatureState.invalidated)
    response = client.post(_confirm_url(signature))
    assert response.status_code < 500
    assert "confirmed=1" not in response.headers.get("Location", "")
    assert _reloaded(signature.id).state is SignatureState.invalidated


# bad links ----------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_an_invalid_token_is_a_404_page(client: FlaskClient, method: str) -> None:
    campaign = create_campaign()
    signature = create_signature(campaign, checked=True)
    token = make_confirm_token(signature.uuid)
    # One character of the signed id changed (A and g differ in the top bit).
    middle = len(token) // 2
    swapped = "g" if token[middle] == "A" else "A"
    tampered = token[:middle] + swapped + token[middle + 1 :]

    for bad in (tampered, "not-a-token", "x" * 500):
        response = client.open(f"/ar/confirm/{bad}", method=method)
        assert response.status_code == 404
        page = pages.parse(response.get_data(as_text=True))
        assert pages.html_element(page).attrs.get("lang") == "ar"
        assert pages.heading(page)
        assert page.find("form") is None
    assert _reloaded(signature.id).state is SignatureState.pending


def test_a_token_for_a_deleted_signature_is_a_404_page(client: FlaskClient) -> None:
    campaign = create_campaign()
    signature = create_signature(campaign, checked=True)
    url = _confirm_url(signature)
    db.session.delete(signature)
    db.session.commit()
    assert client.get(url).status_code == 404
    assert client.post(url).status_code == 404


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_an_expired_token_is_a_410_page(
    app: Flask, client: FlaskClient, monkeypatch: pytest.MonkeyPatch, method: str
) -> None:
    campaign = create_campaign()
    signature = create_signature(campaign, checked=True)
    token = _expired_token(app, signature, monkeypatch)

    response = client.open(f"/ar/confirm/{token}", method=method)

    assert response.status_code == 410
    page = pages.parse(response.get_data(as_text=True))
    assert pages.html_element(page).attrs.get("lang") == "ar"
    assert page.find("form") is None
    invalid = pages.parse(client.get("/ar/confirm/not-a-token").get_data(as_text=True))
    # The person is told the link expired, not that it is broken.
    assert page.text != invalid.text
    stored = _reloaded(signature.id)
    assert stored.state is SignatureState.pending
    assert stored.validated_at is None


def test_a_confirm_link_under_an_unknown_language_is_not_found(client: FlaskClient) -> None:
    campaign = create_campaign()
    signature = create_signature(campaign, checked=True)
    token = make_confirm_token(signature.uuid)
    assert client.post(f"/fr/confirm/{token}").status_code == 404
    assert _reloaded(signature.id).state is SignatureState.pending


# with CSRF on (the app as deployed) -------------------------------------------------------


@pytest.fixture
def protected_app(tmp_path: Path, database_url: Callable[[str], str]) -> Iterator[Flask]:
    with csrf_app(tmp_path, database_url) as application:
        yield application


def test_the_button_confirms_with_csrf_on(protected_app: Flask) -> None:
    campaign = create_campaign()
    signature = create_signature(campaign, checked=True)
    url = _confirm_url(signature)
    client = protected_app.test_client()

    landing = pages.parse(client.get(url).get_data(as_text=True))
    form = landing.find("form")
    assert form is not None
    fields = {i.attrs["name"]: i.attrs.get("value", "") for i in form.find_all("input")}
    response = client.post(form.attrs["action"], data=fields)

    assert response.status_code == 303
    assert _reloaded(signature.id).state is SignatureState.validated


def test_a_cross_site_post_cannot_confirm(protected_app: Flask) -> None:
    campaign = create_campaign()
    signature = create_signature(campaign, checked=True)
    response = protected_app.test_client().post(_confirm_url(signature))
    assert response.status_code == 400
    assert _reloaded(signature.id).state is SignatureState.pending


def test_a_head_request_cannot_confirm_with_csrf_on(protected_app: Flask) -> None:
    campaign = create_campaign()
    signature = create_signature(campaign, checked=True)
    protected_app.test_client().head(_confirm_url(signature))
    stored = _reloaded(signature.id)
    assert stored.state is SignatureState.pending
    assert stored.validated_at is None
