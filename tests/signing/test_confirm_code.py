"""Confirming by the code in the email, typed on the thanks page: a right code
confirms like the link; a wrong, expired or unlisted one is refused in the
page's language and changes nothing; tries are limited per signature and per
client address; and a duplicate's or a bot's thanks page answers exactly like
a new signature's, to the code too."""

from __future__ import annotations

import collections
import itertools
import math
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path

import pytest
from flask import Flask, request_started
from flask.testing import FlaskClient
from flask_babel import force_locale, gettext
from sqlalchemy import select, update
from werkzeug.test import TestResponse

from campaigns.extensions import db
from campaigns.jobs import ERASE_EXPIRED_PERSONAL_DATA
from campaigns.mail.services import deliver_emails, queue_email
from campaigns.models import (
    CampaignKind,
    EmailKind,
    LoginThrottle,
    Signature,
    SignatureSource,
    SignatureState,
)
from campaigns.models.types import utcnow
from campaigns.privacy.crypto import Keyring
from campaigns.privacy.keys import decode_key, generate_key
from campaigns.signing.codes import (
    ADDRESS_WINDOW,
    ATTEMPTS_PER_ADDRESS,
    ATTEMPTS_PER_SIGNATURE,
    CODE_SPACE,
    address_key,
    confirm_code,
    make_reference,
    typed_code,
)
from campaigns.signing.lifecycle import mark_checked
from campaigns.signing.tokens import make_confirm_token
from tests.conftest import _forget_globals
from tests.factories import create_campaign, create_signature
from tests.security.hostile_support import without_csrf

from . import pages
from .support import csrf_app, sign_url, stored_signatures, valid_form

ARABIC_INDIC = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")


def _code_url(slug: str, lang: str = "ar") -> str:
    return f"/{lang}/campaigns/{slug}/code"


def _sign(client: FlaskClient, slug: str, lang: str = "ar", **overrides: str) -> TestResponse:
    response = client.post(sign_url(slug, lang), data=valid_form(**overrides))
    assert response.status_code == 303
    return response


def _checked(signature: Signature) -> None:
    """As the validation task leaves a signature that passed its checks."""
    assert mark_checked([signature.id], utcnow()) == [signature.id]
    db.session.commit()


def _signed_and_checked(client: FlaskClient, slug: str, email: str) -> Signature:
    _sign(client, slug, email=email)
    [signature] = [s for s in stored_signatures() if s.id == _newest_id()]
    _checked(signature)
    return signature


def _newest_id() -> int:
    return max(s.id for s in stored_signatures())


def _try(client: FlaskClient, slug: str, code: str, lang: str = "ar") -> TestResponse:
    return client.post(_code_url(slug, lang), data={"code": code})


def _wrong(code: str) -> str:
    return f"{(int(code) + 1) % CODE_SPACE:08d}"


def _state(signature_id: int) -> SignatureState:
    [signature] = [s for s in stored_signatures() if s.id == signature_id]
    return signature.state


def _translated(app: Flask, lang: str, msgid: str) -> str:
    with app.test_request_context(), force_locale(lang):
        text = gettext(msgid)
    if lang != "en":
        assert text != msgid, f"not translated into {lang}: {msgid}"
    return text


def _error(response: TestResponse) -> str:
    page = pages.parse(response.get_data(as_text=True))
    error = page.find(id="code-error")
    assert error is not None, response.get_data(as_text=True)
    return error.text.strip()


WRONG = "This code is not right. Please check the digits in the email."
LOCKED = "Too many codes were tried here. Please open the link in the email to confirm."
EXPIRED = "This code has expired. Please sign the campaign again to get a new one."
MISSING = "This browser cannot check the code. Please open the link in the email instead."
NOT_DIGITS = "Please type the 8 digits of the code in the email."


# the right code ------------------------------------------------------------------


def test_the_right_code_confirms_and_the_count_includes_it(client: FlaskClient) -> None:
    campaign = create_campaign(kind=CampaignKind.pledge, goal=500)
    signature = _signed_and_checked(client, campaign.slug, "nour@example.org")

    response = _try(client, campaign.slug, confirm_code(signature.uuid))

    assert response.status_code == 303
    location = response.headers["Location"]
    assert location.endswith(f"/ar/campaigns/{campaign.slug}?confirmed=1")
    assert _state(signature.id) is SignatureState.validated
    landing = pages.parse(client.get(location).get_data(as_text=True))
    confirmed = landing.find(**{"data-confirmed-count": ""})
    assert confirmed is not None
    # Nothing counted yet: the count the person sees is their own pledge.
    assert confirmed.text.strip() == "3"
    # The same marker as the link's: this browser is not offered the form again.
    assert any(
        h.startswith("signed-") and "confirmed" in h for h in response.headers.getlist("Set-Cookie")
    )


def test_a_second_right_code_is_harmless(client: FlaskClient) -> None:
    campaign = create_campaign()
    signature = _signed_and_checked(client, campaign.slug, "nour@example.org")
    code = confirm_code(signature.uuid)

    first = _try(client, campaign.slug, code)
    validated_at = stored_signatures()[0].validated_at
    second = _try(client, campaign.slug, code)

    assert first.status_code == second.status_code == 303
    assert first.headers["Location"] == second.headers["Location"]
    [stored] = stored_signatures()
    assert stored.state is SignatureState.validated
    assert stored.validated_at == validated_at


@pytest.mark.parametrize(
    "shape",
    [
        lambda c: c.translate(ARABIC_INDIC),
        lambda c: f" {c[:4]} {c[4:]} ".translate(ARABIC_INDIC),
        lambda c: f"{c[:4]}-{c[4:]}",
        lambda c: f"{c[:2]} {c[2:4]}  {c[4:6]}\u00a0{c[6:]}",
    ],
    ids=["arabic-indic", "arabic-indic-spaced", "hyphen", "spaces"],
)
def test_a_code_typed_in_arabic_indic_digits_or_with_spaces_works(
    client: FlaskClient, shape: Callable[[str], str]
) -> None:
    campaign = create_campaign()
    signature = _signed_and_checked(client, campaign.slug, "nour@example.org")

    response = _try(client, campaign.slug, shape(confirm_code(signature.uuid)))

    assert response.status_code == 303
    assert _state(signature.id) is SignatureState.validated


def test_a_fraudulent_signature_answers_like_a_confirmed_one(client: FlaskClient) -> None:
    campaign = create_campaign()
    signature = _signed_and_checked(client, campaign.slug, "nour@example.org")
    db.session.execute(
        update(Signature)
        .where(Signature.id == signature.id)
        .values(state=SignatureState.fraudulent)
    )
    db.session.commit()

    response = _try(client, campaign.slug, confirm_code(signature.uuid))

    assert response.status_code == 303
    assert response.headers["Location"].endswith("?confirmed=1")
    assert _state(signature.id) is SignatureState.fraudulent


# refusals ---------------------------------------------------------------------------


@pytest.mark.parametrize("lang", ["ar", "ku", "tr", "en"])
def test_a_wrong_code_is_refused_in_the_pages_language(
    app: Flask, client: FlaskClient, lang: str
) -> None:
    campaign = create_campaign()
    signature = _signed_and_checked(client, campaign.slug, "nour@example.org")

    response = _try(client, campaign.slug, _wrong(confirm_code(signature.uuid)), lang)

    assert response.status_code == 422
    assert _error(response) == _translated(app, lang, WRONG)
    page = pages.parse(response.get_data(as_text=True))
    assert pages.html_element(page).attrs.get("lang") == lang
    assert _state(signature.id) is SignatureState.pending
    # Its language links open the thanks page (the code URL is POST only).
    switches = [a.attrs["href"] for a in page.find_all("a") if a.attrs.get("hreflang")]
    assert len(switches) == 3
    assert all(href.endswith(f"/campaigns/{campaign.slug}/thanks") for href in switches)


@pytest.mark.parametrize("typed", ["", "1234567", "123456789", "abcdefgh", "1234 567x", "１２３"])
def test_what_is_not_eight_digits_is_refused_without_counting_a_try(
    app: Flask, client: FlaskClient, typed: str
) -> None:
    campaign = create_campaign()
    _signed_and_checked(client, campaign.slug, "nour@example.org")

    response = _try(client, campaign.slug, typed)

    assert response.status_code == 422
    assert _error(response) == _translated(app, "ar", NOT_DIGITS)
    db.session.rollback()
    assert db.session.execute(select(LoginThrottle)).scalars().all() == []


@pytest.mark.parametrize(
    ("kind", "message"),
    [
        (CampaignKind.petition, EXPIRED),
        (CampaignKind.pledge, "This code has expired. Please pledge again to get a new one."),
    ],
)
def test_an_expired_code_is_refused(
    app: Flask, client: FlaskClient, kind: CampaignKind, message: str
) -> None:
    campaign = create_campaign(kind=kind)
    signature = _signed_and_checked(client, campaign.slug, "nour@example.org")
    signed_at = time.time() - app.config["CONFIRM_CODE_MAX_AGE"] - 60
    client.set_cookie(f"code-{campaign.slug}", make_reference(signature.uuid, now=signed_at))

    response = _try(client, campaign.slug, confirm_code(signature.uuid))

    assert response.status_code == 410
    assert _error(response) == _translated(app, "ar", message)
    assert _state(signature.id) is SignatureState.pending


def test_a_browser_that_did_not_sign_cannot_use_a_code(app: Flask, client: FlaskClient) -> None:
    campaign = create_campaign()
    signature = _signed_and_checked(client, campaign.slug, "nour@example.org")
    elsewhere = app.test_client()

    for reference in (None, "not-a-reference", "A" * 99):
        if reference is not None:
            elsewhere.set_cookie(f"code-{campaign.slug}", reference)
        response = _try(elsewhere, campaign.slug, confirm_code(signature.uuid))
        assert response.status_code == 422
        assert _error(response) == _translated(app, "ar", MISSING)
    assert _state(signature.id) is SignatureState.pending


def test_a_reference_from_another_campaign_confirms_nothing(client: FlaskClient) -> None:
    campaign, other = create_campaign(), create_campaign()
    signature = _signed_and_checked(client, campaign.slug, "nour@example.org")
    client.set_cookie(f"code-{other.slug}", client.get_cookie(f"code-{campaign.slug}").value)

    response = _try(client, other.slug, confirm_code(signature.uuid))

    assert response.status_code == 422
    assert _state(signature.id) is SignatureState.pending


# the limits (brute force), measured -------------------------------------------------


def test_tries_on_one_signature_stop_at_the_limit(
    app: Flask, client: FlaskClient, record_property: Callable[[str, object], None]
) -> None:
    campaign = create_campaign()
    signature = _signed_and_checked(client, campaign.slug, "nour@example.org")
    code = confirm_code(signature.uuid)
    wrong = [f"{(int(code) + step) % CODE_SPACE:08d}" for step in range(1, 51)]

    heard = 0
    for guess in wrong:
        response = _try(client, campaign.slug, guess)
        if response.status_code == 429:
            assert _error(response) == _translated(app, "ar", LOCKED)
            break
        assert response.status_code == 422
        heard += 1
    record_property("wrong codes heard per signature", heard)
    print(f"\nwrong codes heard on one signature before the limit: {heard}")
    assert heard == ATTEMPTS_PER_SIGNATURE

    # Closed for this signature: even the right code now points to the link.
    closed = _try(client, campaign.slug, code)
    assert closed.status_code == 429
    assert _state(signature.id) is SignatureState.pending
    # ... and the link still confirms.
    assert client.post(f"/ar/confirm/{make_confirm_token(signature.uuid)}").status_code == 303
    assert _state(signature.id) is SignatureState.validated


def test_tries_from_one_address_on_many_signatures_stop_at_the_limit(
    app: Flask, record_property: Callable[[str, object], None]
) -> None:
    campaign = create_campaign()
    address = {"REMOTE_ADDR": "198.51.100.23"}
    browsers = []
    for n in range(ATTEMPTS_PER_ADDRESS + 5):
        browser = app.test_client()
        browser.environ_base.update(address)
        signature = _signed_and_checked(browser, campaign.slug, f"signer{n}@example.org")
        browsers.append((browser, signature))

    heard = 0
    for browser, signature in browsers:
        response = _try(browser, campaign.slug, _wrong(confirm_code(signature.uuid)))
        if response.status_code == 429:
            assert _error(response) == _translated(app, "ar", LOCKED)
            break
        assert response.status_code == 422
        heard += 1
    record_property("wrong codes heard per address", heard)
    print(f"\nwrong codes heard from one address before the limit: {heard}")
    assert heard == ATTEMPTS_PER_ADDRESS

    # The address is closed, even for a right code on a signature it never tried.
    browser, untouched = browsers[-1]
    response = _try(browser, campaign.slug, confirm_code(untouched.uuid))
    assert response.status_code == 429
    assert _state(untouched.id) is SignatureState.pending
    # Another address is heard.
    browser.environ_base.update({"REMOTE_ADDR": "203.0.113.9"})
    assert _try(browser, campaign.slug, confirm_code(untouched.uuid)).status_code == 303

    # After a pause of the window, the first address is heard again.
    db.session.execute(
        update(LoginThrottle)
        .where(LoginThrottle.key.startswith("confirm-code-ip:"))
        .values(last_failure_at=utcnow() - ADDRESS_WINDOW - timedelta(seconds=1))
    )
    db.session.commit()
    browser, signature = browsers[-2]
    browser.environ_base.update(address)
    assert _try(browser, campaign.slug, confirm_code(signature.uuid)).status_code == 303


def test_the_tries_are_counted_without_any_personal_data(client: FlaskClient) -> None:
    campaign = create_campaign()
    signature = _signed_and_checked(client, campaign.slug, "nour@example.org")
    _try(client, campaign.slug, _wrong(confirm_code(signature.uuid)))
    db.session.rollback()
    keys = sorted(db.session.execute(select(LoginThrottle.key)).scalars())
    assert sorted(k.split(":")[0] for k in keys) == ["confirm-code", "confirm-code-ip"]
    # The address only as a keyed hash of its own purpose, not the signature's
    # ip_hash (which retention erases); the signature by its public id.
    assert "127.0.0.1" not in "".join(keys)
    assert signature.ip_hash is not None and signature.ip_hash.hex() not in "".join(keys)
    assert f"confirm-code:{signature.uuid.hex}" in keys


def test_the_retention_job_forgets_the_tries_that_no_longer_count(
    app: Flask, client: FlaskClient
) -> None:
    campaign = create_campaign()
    old, recent = (
        _signed_and_checked(client, campaign.slug, f"{name}@example.org")
        for name in ("old", "recent")
    )
    elsewhere = app.test_client()
    elsewhere.environ_base["REMOTE_ADDR"] = "203.0.113.50"
    client.set_cookie(f"code-{campaign.slug}", make_reference(old.uuid))
    _try(client, campaign.slug, _wrong(confirm_code(old.uuid)))
    elsewhere.set_cookie(f"code-{campaign.slug}", make_reference(recent.uuid))
    _try(elsewhere, campaign.slug, _wrong(confirm_code(recent.uuid)))
    # The first address's try an hour ago, the old code's past its age.
    aged = {
        address_key("127.0.0.1"): ADDRESS_WINDOW,
        f"confirm-code:{old.uuid.hex}": timedelta(seconds=app.config["CONFIRM_CODE_MAX_AGE"]),
    }
    for key, age in aged.items():
        db.session.execute(
            update(LoginThrottle)
            .where(LoginThrottle.key == key)
            .values(last_failure_at=utcnow() - age - timedelta(seconds=1))
        )
    db.session.commit()
    assert len(db.session.execute(select(LoginThrottle.key)).all()) == 4

    # The retention job, as the workers and the embedded scheduler run it.
    app.extensions["celery"].tasks[ERASE_EXPIRED_PERSONAL_DATA.task].apply()

    db.session.rollback()
    kept = sorted(db.session.execute(select(LoginThrottle.key)).scalars())
    assert kept == sorted([f"confirm-code:{recent.uuid.hex}", address_key("203.0.113.50")])


# duplicates and bots look like new signatures -------------------------------------


def _cookie_shapes(response: TestResponse) -> list[tuple[str, int, str]]:
    """(name, length of the value, attributes) of each Set-Cookie header."""
    shapes = []
    for header in response.headers.getlist("Set-Cookie"):
        pair, _, attributes = header.partition(";")
        name, _, value = pair.partition("=")
        if name == "zaytoun":  # the session: its own per browser
            continue
        shapes.append((name, len(value), attributes))
    return sorted(shapes)


def test_a_duplicate_and_a_bot_see_what_a_new_signer_sees(
    tmp_path: Path, database_url: Callable[[str], str]
) -> None:
    with csrf_app(tmp_path, database_url) as app:
        # Each browser its own CSRF token, as in a deployed request's context.
        request_started.connect(_forget_globals, app)
        campaign = create_campaign()
        slug = campaign.slug
        new, duplicate, bot = app.test_client(), app.test_client(), app.test_client()
        answers = {}
        for name, browser, form in (
            ("new", new, valid_form(email="nour@example.org")),
            ("duplicate", duplicate, valid_form(email="Nour@Example.org", full_name="Else")),
            ("bot", bot, valid_form(email="bot@example.org", website="http://spam.example")),
        ):
            page = browser.get(f"/ar/campaigns/{slug}").get_data(as_text=True)
            form["csrf_token"] = _csrf(page)
            answers[name] = browser.post(sign_url(slug), data=form)
        assert {n: a.status_code for n, a in answers.items()} == dict.fromkeys(answers, 303), {
            n: pages.parse(a.get_data(as_text=True)).find("main").text
            for n, a in answers.items()
            if a.status_code != 303
        }
        assert len({a.headers["Location"] for a in answers.values()}) == 1
        shapes = {name: _cookie_shapes(a) for name, a in answers.items()}
        assert shapes["duplicate"] == shapes["bot"] == shapes["new"]
        assert [name for name, _, _ in shapes["new"]] == [f"code-{slug}", f"signed-{slug}"]

        [signature] = stored_signatures()
        _checked(signature)
        thanks = {}
        for name, browser in (("new", new), ("duplicate", duplicate), ("bot", bot)):
            response = browser.get(answers[name].headers["Location"])
            assert response.status_code == 200
            thanks[name] = response.get_data(as_text=True)
        assert without_csrf(thanks["duplicate"]) == without_csrf(thanks["new"])
        assert without_csrf(thanks["bot"]) == without_csrf(thanks["new"])
        assert 'name="code"' in thanks["new"]

        # To every wrong code the same answer, and the same closing.
        wrong = _wrong(confirm_code(signature.uuid))
        for attempt in range(ATTEMPTS_PER_SIGNATURE + 1):
            replies = {}
            for name, browser in (("new", new), ("duplicate", duplicate), ("bot", bot)):
                page = browser.get(answers[name].headers["Location"]).get_data(as_text=True)
                reply = browser.post(
                    _code_url(slug), data={"code": wrong, "csrf_token": _csrf(page)}
                )
                replies[name] = (reply.status_code, without_csrf(reply.get_data(as_text=True)))
            assert replies["duplicate"] == replies["bot"] == replies["new"], attempt
            expected = 422 if attempt < ATTEMPTS_PER_SIGNATURE else 429
            assert replies["new"][0] == expected
        assert _state(signature.id) is SignatureState.pending


def test_a_duplicates_form_never_takes_the_code(client: FlaskClient, app: Flask) -> None:
    campaign = create_campaign()
    signature = _signed_and_checked(client, campaign.slug, "nour@example.org")
    again = app.test_client()
    _sign(again, campaign.slug, email="nour@example.org")
    assert len(stored_signatures()) == 1

    response = _try(again, campaign.slug, confirm_code(signature.uuid))

    assert response.status_code == 422
    assert _state(signature.id) is SignatureState.pending


def _csrf(page: str) -> str:
    form = pages.parse(page).find("input", name="csrf_token")
    assert form is not None
    return str(form.attrs["value"])


# the email -------------------------------------------------------------------------


def _delivered(app: Flask, kind: EmailKind, signature: Signature) -> str:
    email_id = queue_email(kind, signature.id, f"{kind.value}:{signature.id}")
    assert email_id is not None
    db.session.commit()
    assert deliver_emails([email_id]) == 1
    folder = Path(app.config["MAIL_OUTBOX_DIR"])
    [path] = sorted(folder.glob("*.eml"), key=lambda p: p.stat().st_mtime)[-1:]
    with path.open("rb") as fh:
        message = BytesParser(policy=policy.default).parse(fh)
    assert isinstance(message, EmailMessage)
    plain, html = message.get_body(("plain",)), message.get_body(("html",))
    assert plain is not None and html is not None
    return f"{plain.get_content()}\n{html.get_content()}"


def test_the_confirmation_email_carries_the_code_for_a_web_signature(app: Flask) -> None:
    campaign = create_campaign()
    web = create_signature(campaign, checked=True, source=SignatureSource.web, locale="ar")
    code = confirm_code(web.uuid)

    mail = _delivered(app, EmailKind.confirm, web)
    # Left to right in an Arabic email too: isolated in the text, ltr in the HTML.
    assert f"\u2066{code[:4]} {code[4:]}\u2069" in mail
    assert '<p dir="ltr" style="margin: 0 0 16px; font-family: monospace;' in mail
    # Not in the "already signed" notice: the duplicate's thanks page takes no code.
    assert f"{code[:4]} {code[4:]}" not in _delivered(app, EmailKind.already_signed, web)


def test_a_paper_signature_gets_no_code(app: Flask) -> None:
    campaign = create_campaign()
    paper = create_signature(campaign, checked=True, source=SignatureSource.paper)
    code = confirm_code(paper.uuid)
    assert f"{code[:4]} {code[4:]}" not in _delivered(app, EmailKind.confirm, paper)


# the codes themselves -----------------------------------------------------------------


def test_codes_are_spread_evenly_and_unpredictable_without_the_key(app: Flask) -> None:
    """Chi-square on the digits of 20,000 codes, and the same UUIDs under
    another key: a code is not a function of the UUID that anyone without our
    key could compute."""
    uuids = [uuid.uuid4() for _ in range(20_000)]
    codes = [confirm_code(u) for u in uuids]
    assert all(len(c) == 8 and c.isascii() and c.isdigit() for c in codes)
    # Each of the 8 positions: 10 digits, 9 degrees of freedom; 27.88 is p = 0.001.
    for position in range(8):
        seen = collections.Counter(c[position] for c in codes)
        expected = len(codes) / 10
        chi2 = sum((seen[str(d)] - expected) ** 2 / expected for d in range(10))
        assert chi2 < 27.88, (position, chi2, seen)
    # Birthday bound on 10^8 values: about 2 collisions expected in 20,000 codes.
    assert len(codes) - len(set(codes)) < 12
    # Neighbouring UUIDs do not give neighbouring codes.
    base = uuid.uuid4().int
    neighbours = [int(confirm_code(uuid.UUID(int=base + i))) for i in range(200)]
    gaps = [abs(a - b) for a, b in itertools.pairwise(neighbours)]
    assert sum(gaps) / len(gaps) > CODE_SPACE / 10

    other = Keyring.from_master(decode_key(generate_key()))
    same = sum(confirm_code(u, other) == c for u, c in zip(uuids, codes, strict=True))
    # Under a key of one's own, a code matches ours only by chance (2e-4 expected).
    assert same <= 2
    # Nor is it the UUID's digits.
    assert not any(c in u.hex or c in str(u.int) for u, c in zip(uuids[:500], codes, strict=False))


def test_the_odds_of_a_guess_are_as_the_threat_model_says() -> None:
    per_signature = ATTEMPTS_PER_SIGNATURE / CODE_SPACE
    assert math.isclose(per_signature, 5e-8)
    per_address_per_day = ATTEMPTS_PER_ADDRESS * (timedelta(days=1) / ADDRESS_WINDOW) / CODE_SPACE
    assert math.isclose(per_address_per_day, 4.8e-6)


def test_typed_codes_are_read_as_digits() -> None:
    assert typed_code("١٢٣٤ ٥٦٧٨") == "12345678"
    assert typed_code("۱۲۳۴-۵۶۷۸") == "12345678"  # Persian digits too
    assert typed_code(" 1234\t5678 ") == "12345678"
    # Copied from the email with its direction marks, or a zero-width space.
    assert typed_code("\u20661234 5678\u2069") == "12345678"
    assert typed_code("1234\u200b5678") == "12345678"
    assert typed_code("1234567") is None
    assert typed_code("12345678a") is None
    assert typed_code("") is None


def test_tries_at_the_same_moment_do_not_pass_the_limit(
    engine_name: str, app: Flask, client: FlaskClient
) -> None:
    """Wrong codes sent at once from many threads (each its own test client
    holding the signer's reference) on PostgreSQL: exactly the limit is heard."""
    if engine_name == "sqlite":
        pytest.skip("concurrency is tested on PostgreSQL, the production database")
    campaign = create_campaign()
    signature = _signed_and_checked(client, campaign.slug, "nour@example.org")
    reference = client.get_cookie(f"code-{campaign.slug}").value
    wrong = _wrong(confirm_code(signature.uuid))
    tries = 3 * ATTEMPTS_PER_SIGNATURE
    start = threading.Barrier(tries, timeout=60)

    def send(n: int) -> int:
        browser = app.test_client()
        browser.environ_base["REMOTE_ADDR"] = f"198.51.100.{n + 1}"
        browser.set_cookie(f"code-{campaign.slug}", reference)
        start.wait()
        return _try(browser, campaign.slug, wrong).status_code

    with ThreadPoolExecutor(max_workers=tries) as pool:
        statuses = list(pool.map(send, range(tries)))

    assert sorted(statuses) == [422] * ATTEMPTS_PER_SIGNATURE + [429] * (
        tries - ATTEMPTS_PER_SIGNATURE
    ), statuses
    assert _state(signature.id) is SignatureState.pending
