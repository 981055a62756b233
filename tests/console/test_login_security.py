"""The console's login as an attacker meets it: a second factor before any
work for those who see signers' names, sessions that end on the server, codes
that work once, a second factor that a stolen session cannot move, throttling
that cannot lock the real user out, and a ``next`` that cannot break the
answer."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from unittest import mock

import pyotp
import pytest
from flask import Flask
from flask.testing import FlaskClient
from flask_babel import force_locale, gettext
from sqlalchemy import select
from werkzeug.test import TestResponse

from campaigns.accounts.services import create_user
from campaigns.accounts.throttle import MAX_DELAY, MAX_FAILURES, delay_after
from campaigns.accounts.totp import SKEW_STEPS, matching_step, user_secret
from campaigns.console.auth import _safe_next
from campaigns.console.devices import COOKIE as DEVICE_COOKIE
from campaigns.extensions import db
from campaigns.models import LoginThrottle, Role, User
from campaigns.models.types import utcnow
from tests.console.test_authorization_matrix import _console_rules, _objects, _url
from tests.factories import code_for, create_organization, secret_on_page, unused_code
from tests.moderation.support import PASSWORD, fresh_globals_per_request, make_console

WRONG = "not-the-password-at-all"


def _login(
    client: FlaskClient, email: str, password: str = PASSWORD, code: str = "", **kw: object
) -> TestResponse:
    return client.post(
        "/console/login", data={"email": email, "password": password, "code": code}, **kw
    )


def _client(app: Flask, address: str = "127.0.0.1") -> FlaskClient:
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client


def _user(email: str) -> User:
    db.session.rollback()
    db.session.expire_all()
    return db.session.execute(select(User).where(User.email == email)).scalar_one()


def _clear_of_step_edge(seconds: float = 3) -> None:
    """Wait if the 30-second step is about to change: a test that means one
    step must not see the next begin between its code and the server."""
    if 30 - time.time() % 30 < seconds:
        time.sleep(30 - time.time() % 30 + 0.05)


@pytest.fixture
def clock() -> Iterator[list[datetime]]:
    """The throttle's clock, moved by the test: ``clock[0] += timedelta(...)``."""
    now = [utcnow()]
    with mock.patch("campaigns.accounts.throttle.utcnow", lambda: now[0]):
        yield now


# 1. A second factor before anything, for those who see signers' names


def test_an_organizer_without_a_second_factor_reaches_no_console_page(app: Flask) -> None:
    console = make_console()
    objects = _objects(console)
    bare = create_user("bare@zaytoun.test", "Bare", PASSWORD, Role.organizer,
                       console.campaign.organization)
    db.session.commit()
    fresh_globals_per_request(app)
    client = app.test_client()
    assert _login(client, bare.email).status_code == 303
    rules = _console_rules(app)
    assert rules
    for endpoint, _rule, method in rules:
        url = _url(app, endpoint, objects)
        response = client.open(url, method=method)
        assert response.status_code == 302, (endpoint, method, response.status_code)
        assert response.headers["Location"].endswith("/console/totp"), (endpoint, method)


def test_a_partner_may_turn_on_a_second_factor_and_then_needs_it(app: Flask) -> None:
    console = make_console()
    fresh_globals_per_request(app)
    client = app.test_client()
    assert _login(client, console.partner.email).status_code == 303
    # Without one, a partner works as before, and the console offers it.
    dashboard = client.get("/console/")
    assert dashboard.status_code == 200
    assert 'href="/console/totp"' in dashboard.get_data(as_text=True)
    offer = client.get("/console/totp")
    assert offer.status_code == 200 and "<svg" not in offer.get_data(as_text=True)
    shown = client.post("/console/totp", data={"start": "1"})
    assert shown.status_code == 303
    secret = secret_on_page(client.get("/console/totp").get_data(as_text=True))
    _clear_of_step_edge()
    assert client.post("/console/totp", data={"code": pyotp.TOTP(secret).now()}).status_code == 303
    partner = _user(console.partner.email)
    assert partner.totp_enabled
    assert _login(app.test_client(), partner.email).status_code == 401
    # (unused_code: the enrolment took this step's code.)
    ok = _login(app.test_client(), partner.email, code=unused_code(partner.id, secret))
    assert ok.status_code == 303


# 2. Logging out ends the session on the server


def test_a_copied_session_cookie_is_refused_after_logout(app: Flask) -> None:
    console = make_console()
    fresh_globals_per_request(app)
    client = app.test_client()
    code = code_for(console.organizer)
    assert _login(client, console.organizer.email, code=code).status_code == 303
    cookie = client.get_cookie("zaytoun")
    assert cookie is not None
    thief = app.test_client()
    thief.set_cookie("zaytoun", cookie.value)
    assert thief.get("/console/").status_code == 200  # the copy works while the session lives
    assert client.post("/console/logout").status_code == 303
    replay = thief.get("/console/")
    assert replay.status_code == 302 and "/console/login" in replay.headers["Location"]


# 3. Each code once, within the stated skew


def test_the_skew_policy_is_one_step_either_side() -> None:
    secret = pyotp.random_base32()
    totp = pyotp.TOTP(secret)
    now = 1_800_000_015.0
    step = totp.timecode(now)
    assert SKEW_STEPS == 1
    for offset in (-1, 0, 1):
        assert matching_step(secret, totp.at(now + 30 * offset), at=now) == step + offset
    for offset in (-3, -2, 2, 3):
        assert matching_step(secret, totp.at(now + 30 * offset), at=now) is None
    arabic = totp.at(now).translate(str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩"))
    assert matching_step(secret, arabic, at=now) is None  # and no error
    assert matching_step(secret, f"{totp.at(now)[:3]} {totp.at(now)[3:]}", at=now) == step


def test_a_code_is_taken_once(app: Flask) -> None:
    console = make_console()
    secret = console.admin_secret
    totp = pyotp.TOTP(secret)
    _clear_of_step_edge()
    code = totp.now()
    assert _login(app.test_client(), console.admin.email, code=code).status_code == 303
    # The same code again, even within its 30 seconds: refused.
    assert _login(app.test_client(), console.admin.email, code=code).status_code == 401
    # A step older than the one taken: refused too, though within the skew.
    previous = totp.at(time.time() - 30)
    assert _login(app.test_client(), console.admin.email, code=previous).status_code == 401


def test_the_previous_steps_code_is_taken_only_within_the_policy(app: Flask) -> None:
    console = make_console()
    totp = pyotp.TOTP(console.admin_secret)
    _clear_of_step_edge()
    two_old = totp.at(time.time() - 60)
    assert _login(app.test_client(), console.admin.email, code=two_old).status_code == 401
    previous = totp.at(time.time() - 30)
    assert _login(app.test_client(), console.admin.email, code=previous).status_code == 303
    assert _user(console.admin.email).totp_last_step == totp.timecode(time.time()) - 1


def test_the_enrolment_code_cannot_log_in(app: Flask) -> None:
    create_user("new@zaytoun.test", "New", PASSWORD, Role.admin, create_organization())
    db.session.commit()
    client = app.test_client()
    assert _login(client, "new@zaytoun.test").status_code == 303
    secret = secret_on_page(client.get("/console/totp").get_data(as_text=True))
    _clear_of_step_edge()
    code = pyotp.TOTP(secret).now()
    assert client.post("/console/totp", data={"code": code}).status_code == 303
    assert _login(app.test_client(), "new@zaytoun.test", code=code).status_code == 401


# 4. Re-enrolment takes the password and the current code


def _second_factor(email: str) -> tuple[bytes | None, int | None, bool]:
    user = _user(email)
    return user.totp_secret, user.totp_last_step, user.totp_enabled


@pytest.mark.parametrize(
    "fault", ["wrong password", "wrong current code", "no password", "no current code"]
)
def test_replacing_the_second_factor_needs_password_and_current_code(
    app: Flask, fault: str
) -> None:
    console = make_console()
    fresh_globals_per_request(app)
    organizer = console.organizer
    client = app.test_client()
    assert _login(client, organizer.email, code=code_for(organizer)).status_code == 303
    assert client.post("/console/totp", data={"start": "1"}).status_code == 303
    page = client.get("/console/totp").get_data(as_text=True)
    assert 'name="password"' in page and 'name="current_code"' in page
    new = pyotp.TOTP(secret_on_page(page))
    before = _second_factor(organizer.email)
    form = {"password": PASSWORD, "current_code": code_for(organizer), "code": new.now()}
    if fault == "wrong password":
        form["password"] = WRONG
    elif fault == "wrong current code":
        form["current_code"] = new.now()  # a code of the new key, not of the current one
    else:
        del form[fault.removeprefix("no ").replace(" ", "_")]
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "ar"
    refused = client.post("/console/totp", data=form)
    assert refused.status_code == 422
    english = {
        "wrong password": "Your password or the code from your current app is not right.",
        "wrong current code": "Your password or the code from your current app is not right.",
        "no password": "Please enter your password.",
        "no current code": "Please enter the code from your current app.",
    }[fault]
    with app.test_request_context(), force_locale("ar"):
        arabic = gettext(english)
    assert arabic != english
    assert arabic in refused.get_data(as_text=True)
    assert _second_factor(organizer.email) == before


def test_replacing_the_second_factor_with_both(app: Flask) -> None:
    console = make_console()
    fresh_globals_per_request(app)
    organizer = console.organizer
    client = app.test_client()
    assert _login(client, organizer.email, code=code_for(organizer)).status_code == 303
    old = pyotp.TOTP(_secret_of(organizer.email))
    client.post("/console/totp", data={"start": "1"})
    new = pyotp.TOTP(secret_on_page(client.get("/console/totp").get_data(as_text=True)))
    form = {"password": PASSWORD, "current_code": code_for(organizer), "code": new.now()}
    assert client.post("/console/totp", data=form).status_code == 303
    user = _user(organizer.email)
    assert user.totp_pending is None and user.totp_enabled
    assert _secret_of(organizer.email) == new.secret
    # Codes of steps not used yet: the old key's opens nothing, the new one's does.
    stale = unused_code(user.id, old.secret)
    assert _login(app.test_client(), organizer.email, code=stale).status_code == 401
    fresh = unused_code(user.id, new.secret)
    assert _login(app.test_client(), organizer.email, code=fresh).status_code == 303


def _secret_of(email: str) -> str:
    secret = user_secret(_user(email))
    assert secret is not None
    return secret


# 6. Throttling that cannot lock the real user out


def test_delays_grow_and_stop_at_a_quarter_of_an_hour() -> None:
    assert [delay_after(n) for n in range(MAX_FAILURES)] == [timedelta(0)] * MAX_FAILURES
    waits = [delay_after(n).total_seconds() for n in range(MAX_FAILURES, MAX_FAILURES + 7)]
    assert waits == [60, 120, 240, 480, 900, 900, 900]
    assert MAX_DELAY.total_seconds() == 900
    assert delay_after(10_000) == MAX_DELAY


def test_guesses_from_many_addresses_do_not_lock_the_real_admin_out(
    app: Flask, clock: list[datetime]
) -> None:
    console = make_console()
    fresh_globals_per_request(app)
    admin = _client(app, "198.51.100.7")
    assert _login(admin, console.admin.email, code=code_for(console.admin)).status_code == 303
    device = admin.get_cookie(DEVICE_COOKIE, path="/console")
    assert device is not None and device.http_only and device.same_site == "Strict"
    admin.post("/console/logout")

    # 60 wrong guesses from 30 addresses, each heard (the clock moves past
    # each delay), as a patient attacker would.
    answers = []
    for n in range(60):
        attacker = _client(app, f"203.0.113.{n % 30 + 1}")
        answers.append(_login(attacker, console.admin.email, WRONG).status_code)
        clock[0] += MAX_DELAY + timedelta(seconds=1)
    assert answers == [401] * 60
    clock[0] -= MAX_DELAY  # the last guess was a second ago
    # The real admin, from its own browser, with the right password and code: at once.
    again = _login(admin, console.admin.email, code=code_for(console.admin))
    assert again.status_code == 303, again.status_code
    # Without the device cookie (a new browser, the attacker): told to wait.
    stranger = _client(app, "192.0.2.200")
    held = _login(stranger, console.admin.email, code=code_for(console.admin))
    assert held.status_code == 429
    assert int(held.headers["Retry-After"]) > 800


def test_without_a_device_cookie_the_delays_grow(app: Flask, clock: list[datetime]) -> None:
    console = make_console()
    attacker = _client(app, "203.0.113.50")
    retry_after = []
    for n in range(MAX_FAILURES + 6):
        response = _login(attacker, console.admin.email, WRONG)
        if n < MAX_FAILURES:
            assert response.status_code == 401
            continue
        assert response.status_code == 429
        wait = int(response.headers["Retry-After"])
        retry_after.append(wait)
        clock[0] += timedelta(seconds=wait)
        # Heard once the wait is over (and counted: the next wait doubles).
        assert _login(attacker, console.admin.email, WRONG).status_code == 401
    assert retry_after == [60, 120, 240, 480, 900, 900]


def test_a_throttled_answer_says_to_wait_and_not_whether_the_account_exists(
    app: Flask, clock: list[datetime]
) -> None:
    console = make_console()
    pages = {}
    for n, email in enumerate((console.admin.email, "ghost@zaytoun.test")):
        client = _client(app, f"203.0.113.{100 + n}")
        client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
        for _ in range(MAX_FAILURES):
            assert _login(client, email, WRONG).status_code == 401
        held = _login(client, email, WRONG)
        assert held.status_code == 429
        assert held.headers["Retry-After"] == "60"
        pages[email] = held.get_data(as_text=True).replace(email, "@")
    page = pages[console.admin.email]
    assert "Please wait 1 minute," in page
    assert page == pages["ghost@zaytoun.test"]


def test_a_device_cookie_helps_only_its_own_account(app: Flask, clock: list[datetime]) -> None:
    console = make_console()
    fresh_globals_per_request(app)
    browser = _client(app, "198.51.100.8")
    assert _login(browser, console.partner.email).status_code == 303
    for _ in range(MAX_FAILURES):
        assert _login(_client(app, "203.0.113.9"), console.admin.email, WRONG).status_code == 401
    # The partner's device cookie is no pass for the admin's account.
    held = _login(browser, console.admin.email, code=code_for(console.admin))
    assert held.status_code == 429


def test_guesses_with_a_device_cookie_are_throttled_per_device(
    app: Flask, clock: list[datetime]
) -> None:
    console = make_console()
    fresh_globals_per_request(app)
    browser = _client(app, "198.51.100.9")
    assert _login(browser, console.partner.email).status_code == 303
    for _ in range(MAX_FAILURES):
        assert _login(browser, console.partner.email, WRONG).status_code == 401
    assert _login(browser, console.partner.email).status_code == 429
    keys = {row.key.split(":")[0] for row in db.session.execute(select(LoginThrottle)).scalars()}
    assert keys == {"device"}  # nothing counted against the account or the address
    # Another browser of the partner is not slowed by these.
    assert _login(_client(app, "198.51.100.10"), console.partner.email).status_code == 303


def test_the_device_cookie_is_secure_when_configured(app: Flask) -> None:
    console = make_console()
    app.config["SESSION_COOKIE_SECURE"] = True
    client = app.test_client()
    assert _login(client, console.partner.email, base_url="https://localhost").status_code == 303
    device = client.get_cookie(DEVICE_COOKIE, domain="localhost", path="/console")
    assert device is not None and device.secure and device.http_only


# 7. A strict ``next``


@pytest.mark.parametrize(
    "target",
    [
        "/console/\r\nSet-Cookie: stolen=1",
        "/console/\n",
        "/console/\x00",
        "/console/\t",
        "/console/\u2028",
        "/\\evil.example/",
        "/console\\..\\x",
        "//evil.example/x",
        "https://evil.example/",
        "javascript:alert(1)",
        "console/",
        "/ /evil.example",
        "/" + "a" * 3000,
    ],
)
def test_only_plain_local_paths_are_followed(app: Flask, target: str) -> None:
    with app.test_request_context():
        assert _safe_next(target) == "/console/"
    create_user("a@zaytoun.test", "A", PASSWORD, Role.partner, create_organization())
    db.session.commit()
    response = _client(app).post(
        "/console/login",
        query_string={"next": target},
        data={"email": "a@zaytoun.test", "password": PASSWORD, "code": ""},
    )
    assert response.status_code == 303
    assert response.headers["Location"] == "/console/"


@pytest.mark.parametrize("target", ["/console/campaigns/olive?tab=2", "/console/%0d%0a"])
def test_plain_local_paths_are_followed(app: Flask, target: str) -> None:
    with app.test_request_context():
        assert _safe_next(target) == target
