"""Signing over HTTP, as a citizen's browser does it: what the person sees and
what the database keeps."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from campaigns.models import (
    CURRENT_CONSENT,
    CampaignKind,
    CampaignStatus,
    SignatureSource,
    SignatureState,
)
from campaigns.models.types import utcnow
from campaigns.privacy.crypto import hash_ip
from campaigns.privacy.personal import read_personal_data
from campaigns.signing.services import email_fingerprint
from tests.factories import create_campaign

from . import pages
from .support import csrf_app, sign_url, stored_outbox, stored_signatures, valid_form

ARABIC_LETTER = re.compile("[\u0621-\u064a]")


def _assert_nothing_stored() -> None:
    assert stored_signatures() == []
    assert stored_outbox() == []


def _assert_page_language(page: pages.Element, lang: str) -> None:
    html = pages.html_element(page)
    assert html.attrs.get("lang") == lang
    assert html.attrs.get("dir") == ("rtl" if lang == "ar" else "ltr")


# a new signature ------------------------------------------------------------


def test_signing_stores_one_pending_encrypted_signature(client: FlaskClient) -> None:
    campaign = create_campaign(kind=CampaignKind.pledge, goal=500)
    slug = campaign.slug
    form = valid_form(
        full_name="  رامي \u202eالحلبي\u202c ",
        email="Rami.Halabi+trees@Gmail.com",
        phone="٠٩٤٤ ١٢٣ ٤٥٦",
        region="  عفرين  ",
        amount="١٢",
        show_name="y",
    )

    response = client.post(sign_url(slug), data=form)

    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"/ar/campaigns/{slug}/thanks")
    [signature] = stored_signatures()
    assert signature.state is SignatureState.pending
    assert signature.source is SignatureSource.web
    assert signature.country == "SY"
    assert signature.region_code == "SY-HL"
    assert signature.amount == 12
    assert signature.show_name is True
    assert signature.deliver_name is False
    assert signature.consent_version == CURRENT_CONSENT == 2
    assert signature.contact_ok is False
    assert signature.locale == "ar"
    assert signature.checked_at is None
    assert signature.validated_at is None
    assert signature.ip_hash == hash_ip("127.0.0.1")
    assert signature.fingerprint == email_fingerprint("ramihalabi@gmail.com")
    assert read_personal_data(signature) == {
        "name": "رامي الحلبي",
        "email": "Rami.Halabi+trees@gmail.com",
        "phone": "+963944123456",
        "region": "عفرين",
    }
    blob = signature.personal_data or b""
    secrets = ("رامي".encode(), b"Rami", b"Halabi", b"944123456", b"127.0.0.1", "عفرين".encode())
    for secret in secrets:
        assert secret not in blob
    assert stored_outbox() == [("validate_signature", signature.id)]


def test_the_thanks_page_follows_in_the_signers_language(client: FlaskClient) -> None:
    campaign = create_campaign()
    response = client.post(sign_url(campaign, "ar"), data=valid_form(), follow_redirects=True)
    assert response.status_code == 200
    page = pages.parse(response.get_data(as_text=True))
    _assert_page_language(page, "ar")
    assert campaign.text("ar").title in page.text


def test_petition_signature_keeps_no_amount_and_respects_unticked_consents(
    client: FlaskClient,
) -> None:
    campaign = create_campaign(kind=CampaignKind.petition)
    form = valid_form(email="sami@example.org", phone="", amount="7", country="TR")
    del form["show_name"]

    response = client.post(sign_url(campaign, "en"), data=form)

    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"/en/campaigns/{campaign.slug}/thanks")
    [signature] = stored_signatures()
    assert signature.amount is None
    assert signature.show_name is False
    assert signature.contact_ok is False
    assert signature.country == "TR"
    assert signature.locale == "en"
    assert read_personal_data(signature)["phone"] is None


def test_contact_consent_is_kept_when_ticked(client: FlaskClient) -> None:
    campaign = create_campaign()
    client.post(sign_url(campaign), data=valid_form(contact_ok="y"))
    [signature] = stored_signatures()
    assert signature.contact_ok is True


def test_a_turkish_local_phone_number_is_read_in_the_turkish_plan(client: FlaskClient) -> None:
    campaign = create_campaign()
    client.post(sign_url(campaign), data=valid_form(country="TR", phone="0532 123 45 67"))
    [signature] = stored_signatures()
    assert read_personal_data(signature)["phone"] == "+905321234567"


def test_the_same_person_may_sign_two_campaigns(client: FlaskClient) -> None:
    first, second = create_campaign(), create_campaign()
    assert client.post(sign_url(first), data=valid_form()).status_code == 303
    assert client.post(sign_url(second), data=valid_form()).status_code == 303
    signatures = stored_signatures()
    assert len(signatures) == 2
    assert {s.campaign_id for s in signatures} == {first.id, second.id}
    assert [task for task, _ in stored_outbox()] == ["validate_signature"] * 2


# a duplicate signature ---------------------------------------------------------


def _masked_references(response: TestResponse) -> list[str]:
    masked = []
    for header in response.headers.getlist("Set-Cookie"):
        name, _, rest = header.partition("=")
        if name.startswith("code-"):
            value, _, attributes = rest.partition(";")
            rest = f"<{len(value)} characters>;{attributes}"
        masked.append(f"{name}={rest}")
    return masked


@pytest.mark.parametrize(
    "again",
    [
        "rami.halabi@gmail.com",
        "RAMI.HALABI@GMAIL.COM",
        "Rami.Halabi+again@gmail.com",
        "ramihalabi@gmail.com",
        "r.a.m.i.halabi@gmail.com",
        "Rami.Halabi@googlemail.com",
        " rami.halabi+x@GoogleMail.com ",
    ],
)
def test_a_duplicate_signature_is_answered_exactly_like_a_new_one(app: Flask, again: str) -> None:
    campaign = create_campaign()
    slug = campaign.slug
    first_client, second_client = app.test_client(), app.test_client()

    first = first_client.post(sign_url(slug), data=valid_form(email="Rami.Halabi@gmail.com"))
    [original] = stored_signatures()
    second = second_client.post(
        sign_url(slug),
        data=valid_form(
            email=again, full_name="Someone Else", phone="", country="TR", region="Gaziantep"
        ),
    )

    assert second.status_code == first.status_code == 303
    assert second.headers["Location"] == first.headers["Location"]
    # The code reference (signing/codes.py) is opaque and new each time: the
    # same name, attributes and length, whatever it names.
    assert _masked_references(second) == _masked_references(first)
    assert sorted(second.headers.keys()) == sorted(first.headers.keys())
    first_thanks = first_client.get(first.headers["Location"])
    second_thanks = second_client.get(second.headers["Location"])
    assert second_thanks.status_code == first_thanks.status_code == 200
    assert second_thanks.get_data() == first_thanks.get_data()

    [kept] = stored_signatures()
    assert kept.id == original.id
    # The duplicate changes nothing of what the first signer gave.
    assert kept.country == "SY"
    assert read_personal_data(kept)["name"] == "رامي الحلبي"
    assert stored_outbox() == [
        ("validate_signature", original.id),
        ("notify_duplicate_signature", original.id),
    ]


def test_a_different_gmail_mailbox_is_not_a_duplicate(client: FlaskClient) -> None:
    campaign = create_campaign()
    client.post(sign_url(campaign), data=valid_form(email="rami.halabi@gmail.com"))
    client.post(sign_url(campaign), data=valid_form(email="rami.halabi2@gmail.com"))
    assert len(stored_signatures()) == 2


def test_dots_matter_outside_gmail(client: FlaskClient) -> None:
    campaign = create_campaign()
    client.post(sign_url(campaign), data=valid_form(email="rami.halabi@example.org"))
    client.post(sign_url(campaign), data=valid_form(email="ramihalabi@example.org"))
    assert len(stored_signatures()) == 2


# form errors --------------------------------------------------------------------

FORM_ERRORS = [
    pytest.param("full_name", {"full_name": ""}, CampaignKind.petition, id="empty-name"),
    pytest.param(
        "full_name",
        {"full_name": " \u202e\u200f\u2066 "},
        CampaignKind.petition,
        id="invisible-name",
    ),
    pytest.param(
        "full_name", {"full_name": "م" * 5000}, CampaignKind.petition, id="5000-char-name"
    ),
    pytest.param("email", {"email": ""}, CampaignKind.petition, id="empty-email"),
    pytest.param("email", {"email": "rami@"}, CampaignKind.petition, id="bad-email"),
    pytest.param(
        "email", {"email": "rami halabi@example.org"}, CampaignKind.petition, id="space-email"
    ),
    pytest.param(
        "country",
        {"country": "XX", "phone": "+963 944 123 456"},
        CampaignKind.petition,
        id="unknown-country",
    ),
    pytest.param(
        "country",
        {"country": "", "phone": "+963 944 123 456"},
        CampaignKind.petition,
        id="no-country",
    ),
    pytest.param("phone", {"phone": "123"}, CampaignKind.petition, id="short-phone"),
    pytest.param("phone", {"phone": "not a phone"}, CampaignKind.petition, id="text-phone"),
    pytest.param("region", {"region": ""}, CampaignKind.petition, id="empty-region"),
    pytest.param("amount", {"amount": "0"}, CampaignKind.pledge, id="amount-0"),
    pytest.param("amount", {"amount": "10001"}, CampaignKind.pledge, id="amount-over-cap"),
    pytest.param("amount", {"amount": "abc"}, CampaignKind.pledge, id="amount-text"),
    pytest.param("amount", {"amount": "1.5"}, CampaignKind.pledge, id="amount-fraction"),
    pytest.param("amount", {"amount": "-3"}, CampaignKind.pledge, id="amount-negative"),
    pytest.param("amount", {"amount": ""}, CampaignKind.pledge, id="amount-empty"),
    pytest.param("amount", {"amount": "99999999999"}, CampaignKind.pledge, id="amount-huge"),
]


@pytest.mark.parametrize(("field", "overrides", "kind"), FORM_ERRORS)
def test_a_form_error_re_renders_the_page_in_arabic_and_stores_nothing(
    client: FlaskClient, field: str, overrides: dict[str, str], kind: CampaignKind
) -> None:
    campaign = create_campaign(kind=kind)
    response = client.post(sign_url(campaign, "ar"), data=valid_form(**overrides))

    assert response.status_code == 422
    assert response.mimetype == "text/html"
    page = pages.parse(response.get_data(as_text=True))
    _assert_page_language(page, "ar")
    assert campaign.text("ar").title in page.text
    assert pages.fields_with_errors(page) == {field}
    error = pages.field_error(page, field)
    assert error
    assert ARABIC_LETTER.search(error), f"error not in Arabic: {error!r}"
    _assert_nothing_stored()


def test_a_form_error_in_english_is_shown_in_english(client: FlaskClient) -> None:
    campaign = create_campaign()
    response = client.post(sign_url(campaign, "en"), data=valid_form(email="rami@"))

    assert response.status_code == 422
    page = pages.parse(response.get_data(as_text=True))
    _assert_page_language(page, "en")
    error = pages.field_error(page, "email")
    assert error
    assert not ARABIC_LETTER.search(error)
    _assert_nothing_stored()


def test_a_refused_forms_language_links_open_the_campaign_page(client: FlaskClient) -> None:
    campaign = create_campaign()
    response = client.post(sign_url(campaign, "ar"), data=valid_form(email="rami@"))
    assert response.status_code == 422
    page = pages.parse(response.get_data(as_text=True))
    switch = [a for a in page.find_all("a") if "hreflang" in a.attrs]
    links = {a.attrs["hreflang"]: a.attrs["href"] for a in switch}
    assert links == {lang: f"/{lang}/campaigns/{campaign.slug}" for lang in ("ku", "tr", "en")}
    for href in links.values():
        assert client.get(href).status_code == 200


def test_the_cap_of_the_campaign_limits_a_pledge(client: FlaskClient) -> None:
    campaign = create_campaign(kind=CampaignKind.pledge, max_amount_per_signer=5)
    response = client.post(sign_url(campaign), data=valid_form(amount="6"))
    assert response.status_code == 422
    page = pages.parse(response.get_data(as_text=True))
    assert pages.fields_with_errors(page) == {"amount"}
    _assert_nothing_stored()

    assert client.post(sign_url(campaign), data=valid_form(amount="5")).status_code == 303
    [signature] = stored_signatures()
    assert signature.amount == 5


def test_a_form_error_keeps_what_the_person_typed(client: FlaskClient) -> None:
    campaign = create_campaign()
    form = valid_form(email="rami@", full_name="رامي الحلبي", region="عفرين")
    response = client.post(sign_url(campaign), data=form)
    assert response.status_code == 422
    page = pages.parse(response.get_data(as_text=True))
    assert pages.form_value(page, "full_name") == "رامي الحلبي"
    assert pages.form_value(page, "region") == "عفرين"
    assert pages.form_value(page, "email") == "rami@"


def test_several_errors_are_each_shown_next_to_their_field(client: FlaskClient) -> None:
    campaign = create_campaign()
    response = client.post(
        sign_url(campaign), data=valid_form(full_name="", email="x", country="XX", phone="")
    )
    assert response.status_code == 422
    page = pages.parse(response.get_data(as_text=True))
    assert pages.fields_with_errors(page) == {"full_name", "email", "country"}
    _assert_nothing_stored()


def test_a_region_that_nfkc_lengthens_is_refused_or_kept_within_80_characters(
    client: FlaskClient,
) -> None:
    campaign = create_campaign()
    # U+FDFA, the ligature often typed after the Prophet's name, is 18 letters under NFKC.
    region = "حلب " + "\ufdfa" * 10
    response = client.post(sign_url(campaign), data=valid_form(region=region))
    assert response.status_code in (303, 422)
    if response.status_code == 422:
        _assert_nothing_stored()
    else:
        [signature] = stored_signatures()
        assert len(read_personal_data(signature)["region"]) <= 80


def test_a_10_mb_body_is_refused_with_a_clear_page(client: FlaskClient) -> None:
    campaign = create_campaign()
    form = valid_form(full_name="x" * (10 * 1024 * 1024))
    response = client.post(sign_url(campaign), data=form)

    assert response.status_code == 413
    page = pages.parse(response.get_data(as_text=True))
    _assert_page_language(page, "ar")
    not_found = pages.parse(client.get("/ar/no-such-page/at-all").get_data(as_text=True))
    bad_request_heading = pages.heading(not_found)
    assert pages.heading(page) and pages.heading(page) != bad_request_heading
    _assert_nothing_stored()


def test_a_filled_honeypot_answers_thanks_and_stores_nothing(client: FlaskClient) -> None:
    campaign = create_campaign()
    response = client.post(sign_url(campaign), data=valid_form(website="http://spam.example"))
    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"/ar/campaigns/{campaign.slug}/thanks")
    _assert_nothing_stored()


def test_the_honeypot_answer_looks_like_a_real_signature(app: Flask) -> None:
    campaign = create_campaign()
    bot = app.test_client().post(sign_url(campaign), data=valid_form(website="x"))
    person = app.test_client().post(sign_url(campaign), data=valid_form())
    assert bot.status_code == person.status_code
    assert bot.headers["Location"] == person.headers["Location"]


# campaigns that do not take signatures --------------------------------------------


@pytest.mark.parametrize(
    "fields",
    [
        pytest.param({"signing_paused": True}, id="paused"),
        pytest.param({"status": CampaignStatus.closed}, id="closed"),
        pytest.param({"closes_at": utcnow() - timedelta(minutes=1)}, id="past-closing-time"),
        pytest.param({"opens_at": utcnow() + timedelta(days=1)}, id="not-open-yet"),
    ],
)
def test_a_campaign_not_taking_signatures_refuses_without_error(
    client: FlaskClient, fields: dict[str, Any]
) -> None:
    campaign = create_campaign(**fields)
    title = campaign.text("ar").title

    page_response = client.get(f"/ar/campaigns/{campaign.slug}")
    assert page_response.status_code == 200
    page = pages.parse(page_response.get_data(as_text=True))
    assert page.find("form", action=sign_url(campaign)) is None
    assert page.find(class_="notice") is not None

    response = client.post(sign_url(campaign), data=valid_form())
    assert 400 <= response.status_code < 500
    page = pages.parse(response.get_data(as_text=True))
    _assert_page_language(page, "ar")
    assert title in page.text
    assert page.find(class_="notice") is not None
    _assert_nothing_stored()


@pytest.mark.parametrize("status", [CampaignStatus.draft, CampaignStatus.archived])
def test_an_unpublished_campaign_is_not_found(client: FlaskClient, status: CampaignStatus) -> None:
    campaign = create_campaign(status=status)
    assert client.get(f"/ar/campaigns/{campaign.slug}").status_code == 404
    response = client.post(sign_url(campaign), data=valid_form())
    assert response.status_code == 404
    assert campaign.text("ar").title not in response.get_data(as_text=True)
    _assert_nothing_stored()


def test_an_unknown_campaign_is_not_found(client: FlaskClient) -> None:
    response = client.post(sign_url("no-such-campaign"), data=valid_form())
    assert response.status_code == 404
    _assert_page_language(pages.parse(response.get_data(as_text=True)), "ar")
    _assert_nothing_stored()


# languages --------------------------------------------------------------------------


@pytest.mark.parametrize("lang", ["fr", "xx", "AR", "ar-SY"])
def test_an_unknown_language_prefix_is_not_found(client: FlaskClient, lang: str) -> None:
    campaign = create_campaign()
    assert client.get(f"/{lang}/").status_code == 404
    assert client.get(f"/{lang}/campaigns/{campaign.slug}").status_code == 404
    assert client.post(sign_url(campaign, lang), data=valid_form()).status_code == 404
    _assert_nothing_stored()


@pytest.mark.parametrize(
    ("accept_language", "target"),
    [
        ("en", "/en/"),
        ("en-GB,en;q=0.9", "/en/"),
        ("de, en;q=0.5", "/en/"),
        ("ar", "/ar/"),
        ("ar-SY,ar;q=0.9,en;q=0.8", "/ar/"),
        ("fr", "/ar/"),
        ("zz-unknown", "/ar/"),
        (None, "/ar/"),
    ],
)
def test_the_root_redirects_by_accept_language(
    client: FlaskClient, accept_language: str | None, target: str
) -> None:
    headers = {"Accept-Language": accept_language} if accept_language else {}
    response = client.get("/", headers=headers)
    assert response.status_code in (301, 302, 303, 307, 308)
    assert response.headers["Location"].endswith(target)
    assert response.headers["Location"] in (target, f"http://localhost{target}")
    # Shared caches must not serve one visitor's language to another.
    assert "accept-language" in response.headers.get("Vary", "").lower()


# security headers -----------------------------------------------------------------


def _csp_directives(header: str) -> dict[str, list[str]]:
    directives = {}
    for part in header.split(";"):
        words = part.split()
        if words:
            directives[words[0].lower()] = words[1:]
    return directives


@pytest.fixture
def html_responses(client: FlaskClient) -> Iterator[dict[str, TestResponse]]:
    campaign = create_campaign(kind=CampaignKind.pledge)
    yield {
        "home": client.get("/ar/"),
        "campaign": client.get(f"/en/campaigns/{campaign.slug}"),
        "form error": client.post(sign_url(campaign), data=valid_form(email="x")),
        "thanks": client.get(f"/ar/campaigns/{campaign.slug}/thanks"),
        "not found": client.get("/ar/campaigns/no-such-campaign"),
        "bad token": client.get("/ar/confirm/not-a-token"),
    }


def test_html_pages_carry_a_strict_content_security_policy(
    html_responses: dict[str, TestResponse],
) -> None:
    for name, response in html_responses.items():
        assert response.mimetype == "text/html", name
        header = response.headers.get("Content-Security-Policy", "")
        assert header, f"{name}: no Content-Security-Policy"
        directives = _csp_directives(header)
        sources = [s.lower() for values in directives.values() for s in values]
        assert "'unsafe-inline'" not in sources, name
        assert "'unsafe-eval'" not in sources, name
        assert "*" not in directives.get("script-src", directives.get("default-src", ["*"])), name
        assert directives.get("object-src") == ["'none'"], name
        assert directives.get("base-uri") == ["'none'"], name
        assert directives.get("frame-ancestors") == ["'none'"], name


def test_html_pages_forbid_sniffing_and_leak_no_referrer(
    html_responses: dict[str, TestResponse],
) -> None:
    for name, response in html_responses.items():
        headers = response.headers
        assert headers.get("X-Content-Type-Options") == "nosniff", name
        assert headers.get("Referrer-Policy") in {
            "no-referrer",
            "same-origin",
            "strict-origin",
            "strict-origin-when-cross-origin",
        }, name


def test_html_pages_need_nothing_the_policy_blocks(html_responses: dict[str, TestResponse]) -> None:
    # Inline scripts and styles would be silently blocked by the policy in browsers.
    for name, response in html_responses.items():
        page = pages.parse(response.get_data(as_text=True))
        for element in page.iter():
            assert element.tag != "style", name
            assert "style" not in element.attrs, f"{name}: inline style on <{element.tag}>"
            assert not [a for a in element.attrs if a.startswith("on")], name
            if element.tag == "script":
                assert element.attrs.get("src", "").startswith("/"), name


# CSRF and the session cookie (the app as deployed) ------------------------------------


@pytest.fixture
def protected_app(tmp_path: Path, database_url: Callable[[str], str]) -> Iterator[Flask]:
    with csrf_app(tmp_path, database_url) as application:
        yield application


def _csrf_token(page_html: str) -> str:
    field = pages.parse(page_html).find("input", name="csrf_token")
    assert field is not None, "the sign form has no csrf_token field"
    return field.attrs["value"]


def test_the_session_cookie_is_httponly_and_samesite_lax(protected_app: Flask) -> None:
    campaign = create_campaign()
    response = protected_app.test_client().get(f"/ar/campaigns/{campaign.slug}")
    cookies = [c for c in response.headers.getlist("Set-Cookie") if c.startswith("zaytoun=")]
    assert cookies, "the form page sets no session cookie for its CSRF token"
    attributes = {a.strip().lower() for a in cookies[0].split(";")[1:]}
    assert "httponly" in attributes
    assert "samesite=lax" in attributes


def test_a_post_without_csrf_token_is_refused_with_a_page(protected_app: Flask) -> None:
    campaign = create_campaign()
    client = protected_app.test_client()
    client.get(f"/ar/campaigns/{campaign.slug}")
    response = client.post(sign_url(campaign), data=valid_form())

    assert response.status_code == 400
    page = pages.parse(response.get_data(as_text=True))
    _assert_page_language(page, "ar")
    assert pages.heading(page)
    _assert_nothing_stored()


def test_a_post_with_a_forged_csrf_token_is_refused(protected_app: Flask) -> None:
    campaign = create_campaign()
    client = protected_app.test_client()
    client.get(f"/ar/campaigns/{campaign.slug}")
    response = client.post(sign_url(campaign), data=valid_form(csrf_token="forged"))
    assert response.status_code == 400
    _assert_nothing_stored()


def test_a_csrf_token_from_another_session_is_refused(protected_app: Flask) -> None:
    campaign = create_campaign()
    attacker = protected_app.test_client()
    token = _csrf_token(attacker.get(f"/ar/campaigns/{campaign.slug}").get_data(as_text=True))
    victim = protected_app.test_client()
    victim.get(f"/ar/campaigns/{campaign.slug}")
    response = victim.post(sign_url(campaign), data=valid_form(csrf_token=token))
    assert response.status_code == 400
    _assert_nothing_stored()


def test_a_post_with_the_token_from_the_page_signs(protected_app: Flask) -> None:
    campaign = create_campaign()
    client = protected_app.test_client()
    token = _csrf_token(client.get(f"/ar/campaigns/{campaign.slug}").get_data(as_text=True))
    response = client.post(sign_url(campaign), data=valid_form(csrf_token=token))

    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"/ar/campaigns/{campaign.slug}/thanks")
    [signature] = stored_signatures()
    assert read_personal_data(signature)["email"] == "Rami.Halabi@gmail.com"


def test_a_form_error_with_csrf_on_keeps_a_working_token(protected_app: Flask) -> None:
    campaign = create_campaign()
    client = protected_app.test_client()
    token = _csrf_token(client.get(f"/ar/campaigns/{campaign.slug}").get_data(as_text=True))
    error = client.post(sign_url(campaign), data=valid_form(email="x", csrf_token=token))
    assert error.status_code == 422
    retry_token = _csrf_token(error.get_data(as_text=True))
    response = client.post(sign_url(campaign), data=valid_form(csrf_token=retry_token))
    assert response.status_code == 303
    assert len(stored_signatures()) == 1


def test_a_10_mb_body_is_refused_before_the_csrf_check(protected_app: Flask) -> None:
    campaign = create_campaign()
    client = protected_app.test_client()
    token = _csrf_token(client.get(f"/ar/campaigns/{campaign.slug}").get_data(as_text=True))
    form = valid_form(full_name="x" * (10 * 1024 * 1024), csrf_token=token)
    response = client.post(sign_url(campaign), data=form)
    assert response.status_code == 413
    _assert_page_language(pages.parse(response.get_data(as_text=True)), "ar")
    _assert_nothing_stored()
