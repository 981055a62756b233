"""Enumeration refused: nothing a stranger sees tells whether an address has
signed or whether a console account exists, is disabled or has the password
typed. Compared with CSRF protection on, as deployed: the answers may differ
only by the CSRF token and the session cookie's value (each client has its
own), and the login page by the address typed back into the form."""

from __future__ import annotations

import re
import statistics
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pyotp
import pytest
from flask import Flask
from flask_babel import force_locale, gettext
from sqlalchemy import delete, func, select
from werkzeug.test import TestResponse

from campaigns.accounts.services import MAX_FAILURES, create_user
from campaigns.accounts.totp import new_secret, seal_secret
from campaigns.extensions import db
from campaigns.models import LoginThrottle, Role, Signature
from campaigns.signing.tokens import make_confirm_token
from tests.factories import create_campaign, create_organization

from .hostile_support import (
    app_with,
    client_at,
    confirm_all,
    cookies_without_session,
    csrf_token,
    run_tasks,
    sent_mail,
    sign_form,
    use_cheap_passwords,
    without_csrf,
)

SESSION_COOKIE = "zaytoun"
PASSWORD = "olive-groves-of-jindires-2026"
# Medians of the refused logins may differ by at most this factor.
TIMING_FACTOR = 3.0
# The refusals timed: one per code path of ``authenticate`` (each hashes once).
TIMED = ("unknown account", "wrong password", "disabled, right password", "second factor missing")

ORIGINAL = "Layla.Haddad@gmail.com"
# The same mailbox typed differently: each must be absorbed as a duplicate.
SHORT_VARIANTS = [
    "Layla.Haddad@gmail.com",
    "LAYLA.HADDAD@GMAIL.COM",
    "layla.haddad+petition@gmail.com",
    "l.a.y.l.a.haddad@gmail.com",
    "LaylaHaddad+x@googlemail.com",
    " layla.haddad@Gmail.com ",
]


def long_variants(count: int) -> list[str]:
    """``count`` spellings of ORIGINAL's mailbox: case, dots, tags, alias domain."""
    variants = []
    local = "laylahaddad"
    for n in range(count):
        letters = [c.upper() if (n >> (i % 8)) & 1 else c for i, c in enumerate(local)]
        dotted = "".join(c + ("." if (n + i) % 3 == 0 and i < len(local) - 1 else "")
                         for i, c in enumerate(letters))
        domain = "googlemail.com" if n % 2 else "GMail.com"
        tag = f"+t{n}" if n % 4 else ""
        variants.append(f"{dotted}{tag}@{domain}")
    return variants


@pytest.fixture
def protected_app(
    engine_name: str, database_url: Callable[[str], str], tmp_path: Path
) -> Iterator[Flask]:
    """The app with CSRF protection on, on SQLite and PostgreSQL in turn."""
    with app_with(tmp_path, database_url, engine_name, WTF_CSRF_ENABLED=True) as application:
        yield application


# -- signing ----------------------------------------------------------------------


@dataclass
class Visit:
    """A person at the form: the page, the POST's answer, the page it leads to."""

    answer: TestResponse
    thanks: TestResponse


def sign_as_a_visitor(app: Flask, slug: str, email_address: str, address: str) -> Visit:
    client = client_at(app, address)
    page = client.get(f"/ar/campaigns/{slug}")
    assert page.status_code == 200
    form = sign_form("ليلى حداد", email_address, csrf_token=csrf_token(page.get_data(as_text=True)))
    answer = client.post(f"/ar/campaigns/{slug}/sign", data=form)
    thanks = client.get(answer.headers.get("Location", "/"))
    return Visit(answer, thanks)


def assert_same_answer(new: Visit, again: Visit, what: str) -> None:
    assert again.answer.status_code == new.answer.status_code == 303, what
    assert again.answer.headers["Location"] == new.answer.headers["Location"], what
    assert sorted(again.answer.headers.keys()) == sorted(new.answer.headers.keys()), what
    assert cookies_without_session(again.answer, SESSION_COOKIE) == cookies_without_session(
        new.answer, SESSION_COOKIE
    ), what
    assert without_csrf(again.answer.get_data(as_text=True)) == without_csrf(
        new.answer.get_data(as_text=True)
    ), what
    assert again.thanks.status_code == new.thanks.status_code == 200, what
    assert without_csrf(again.thanks.get_data(as_text=True)) == without_csrf(
        new.thanks.get_data(as_text=True)
    ), what
    assert cookies_without_session(again.thanks, SESSION_COOKIE) == cookies_without_session(
        new.thanks, SESSION_COOKIE
    ), what


@pytest.mark.parametrize("confirmed", [False, True], ids=["original-pending", "original-confirmed"])
@pytest.mark.parametrize(
    "variants",
    [
        pytest.param(SHORT_VARIANTS, id="short"),
        pytest.param(long_variants(60), id="long", marks=pytest.mark.chaos),
    ],
)
def test_signing_again_in_any_spelling_answers_exactly_like_a_first_signature(
    protected_app: Flask, confirmed: bool, variants: list[str]
) -> None:
    app = protected_app
    campaign = create_campaign()
    slug = campaign.slug
    sign_as_a_visitor(app, slug, ORIGINAL, "192.0.2.1")
    run_tasks()
    if confirmed:
        assert confirm_all(app, sent_mail(app)) == 1
    mail_before = len(sent_mail(app))

    for n, variant in enumerate(variants):
        # A new person and someone retyping the signed address, side by side.
        new_address = f"new.person.{n}@example.org"
        new = sign_as_a_visitor(app, slug, new_address, f"198.51.100.{n % 250 + 1}")
        again = sign_as_a_visitor(app, slug, variant, f"203.0.113.{n % 250 + 1}")
        assert_same_answer(new, again, f"variant {variant!r}")
    run_tasks()

    db.session.rollback()
    stored = db.session.execute(
        select(func.count()).select_from(Signature).where(Signature.campaign_id == campaign.id)
    ).scalar_one()
    assert stored == 1 + len(variants), "each variant must be a duplicate, each new person new"
    # Whoever typed a variant gets nothing: the "already signed" email goes to the
    # address that signed first, and at most once a day.
    later = sent_mail(app)[mail_before:]
    recipients = [str(m["To"]) for m in later]
    with force_locale("ar"):
        subject = gettext("You have already signed: %(title)s", title=campaign.text("ar").title)
    already = [str(m["To"]) for m in later if str(m["Subject"]) == subject]
    assert already == [ORIGINAL]
    assert recipients.count(ORIGINAL) == 1
    typed = {v.strip() for v in variants} - {ORIGINAL}
    assert not typed & set(recipients), "a typed variant received mail"
    assert sorted(set(recipients) - {ORIGINAL}) == sorted(
        f"new.person.{n}@example.org" for n in range(len(variants))
    )


def test_a_confirmation_link_for_no_signature_answers_like_a_forged_one(
    protected_app: Flask,
) -> None:
    client = protected_app.test_client()
    tokens = {"unknown": make_confirm_token(uuid.uuid4()), "forged": "A" * 40 + ".forged"}
    pages = {}
    for what, token in tokens.items():
        response = client.get(f"/ar/confirm/{token}")
        assert response.status_code == 404, what
        pages[what] = response.get_data(as_text=True).replace(token, "…")
    assert pages["unknown"] == pages["forged"]


# -- asking for the link to manage a signature ---------------------------------------


def ask_for_manage_link(app: Flask, slug: str, email_address: str, address: str) -> TestResponse:
    client = client_at(app, address)
    page = client.get(f"/ar/campaigns/{slug}/manage")
    assert page.status_code == 200
    token = csrf_token(page.get_data(as_text=True))
    return client.post(
        f"/ar/campaigns/{slug}/manage", data={"email": email_address, "csrf_token": token}
    )


def test_asking_for_the_manage_link_answers_alike_for_any_address(protected_app: Flask) -> None:
    """Every spelling of a signed address and addresses that never signed get
    the same status, headers, cookies and page; only the signer's mailbox gets
    the link, and only once that day."""
    app = protected_app
    campaign = create_campaign()
    sign_as_a_visitor(app, campaign.slug, ORIGINAL, "192.0.2.1")
    run_tasks()
    mail_before = len(sent_mail(app))
    answers = []
    for n, variant in enumerate(SHORT_VARIANTS):
        for who, typed in (("signed", variant), ("stranger", f"stranger.{n}@example.org")):
            client_address = f"198.51.100.{2 * n + (who == 'signed') + 1}"
            response = ask_for_manage_link(app, campaign.slug, typed, client_address)
            answers.append(
                (
                    f"{who} {typed!r}",
                    response.status_code,
                    sorted(response.headers.keys()),
                    cookies_without_session(response, SESSION_COOKIE),
                    without_csrf(response.get_data(as_text=True)),
                )
            )
    first = answers[0][1:]
    assert first[0] == 200
    for what, *answer in answers:
        assert tuple(answer) == first, what
    run_tasks()
    later = [str(m["To"]) for m in sent_mail(app)[mail_before:]]
    assert later == [ORIGINAL]


# -- logging in -------------------------------------------------------------------


@dataclass
class Accounts:
    active: str
    disabled: str
    with_code: str
    secret: str


def make_accounts() -> Accounts:
    org = create_organization()
    create_user("active@zaytoun.test", "Active", PASSWORD, Role.organizer, org)
    disabled = create_user("disabled@zaytoun.test", "Disabled", PASSWORD, Role.organizer, org)
    disabled.active = False
    secret = new_secret()
    coded = create_user("coded@zaytoun.test", "Coded", PASSWORD, Role.organizer, org)
    coded.totp_secret, coded.totp_enabled = seal_secret(secret), True
    db.session.commit()
    return Accounts("active@zaytoun.test", "disabled@zaytoun.test", "coded@zaytoun.test", secret)


def log_in(
    app: Flask, address: str, email_address: str, password: str, code: str = ""
) -> tuple[TestResponse, float]:
    """One login through the form (page, then POST with its token); returns the
    answer and the seconds the POST took."""
    client = client_at(app, address)
    page = client.get("/console/login")
    token = csrf_token(page.get_data(as_text=True))
    data = {"email": email_address, "password": password, "code": code, "csrf_token": token}
    start = time.perf_counter()
    response = client.post("/console/login", data=data)
    return response, time.perf_counter() - start


_TYPED_FIELD = re.compile(r'(<input[^>]*name="(?:email|code)"[^>]*value=")[^"]*(")')


def comparable(response: TestResponse, *typed: str) -> tuple[int, str, list[str]]:
    """Status, body and cookies, with what the person typed (shown back in the
    email and code fields) blanked."""
    body = _TYPED_FIELD.sub(r"\1…\2", without_csrf(response.get_data(as_text=True)))
    for value in filter(None, typed):
        assert value not in body, f"{value!r} shows elsewhere than in its field"
    return response.status_code, body, cookies_without_session(response, SESSION_COOKIE)


def forget_failures() -> None:
    db.session.rollback()
    db.session.execute(delete(LoginThrottle))
    db.session.commit()


def refused_cases(accounts: Accounts) -> dict[str, tuple[str, str, str]]:
    return {
        "unknown account": ("nobody@zaytoun.test", PASSWORD, ""),
        "wrong password": (accounts.active, "not-the-password-2026", ""),
        "disabled, right password": (accounts.disabled, PASSWORD, ""),
        "disabled, wrong password": (accounts.disabled, "not-the-password-2026", ""),
        "second factor missing": (accounts.with_code, PASSWORD, ""),
        "second factor wrong": (accounts.with_code, PASSWORD, "000000"),
    }


def test_every_refused_login_gets_the_same_answer(
    protected_app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_cheap_passwords(monkeypatch)
    accounts = make_accounts()
    answers = {}
    for n, (what, (email_address, password, code)) in enumerate(refused_cases(accounts).items()):
        forget_failures()
        response, _ = log_in(protected_app, f"192.0.2.{n + 10}", email_address, password, code)
        answers[what] = comparable(response, email_address, code)
    statuses = {what: status for what, (status, _, _) in answers.items()}
    assert set(statuses.values()) == {401}, statuses
    reference = answers["unknown account"]
    for what, answer in answers.items():
        assert answer == reference, f"{what} answers differently from an unknown account"
    # The right password still opens the account (the cases above were refusals).
    forget_failures()
    ok, _ = log_in(protected_app, "192.0.2.99", accounts.active, PASSWORD)
    assert ok.status_code == 303
    coded, _ = log_in(
        protected_app, "192.0.2.98", accounts.with_code, PASSWORD, pyotp.TOTP(accounts.secret).now()
    )
    assert coded.status_code == 303


def test_a_throttled_login_says_nothing_about_the_account_or_the_password(
    protected_app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Once an address is throttled, the right password, a wrong one, a disabled
    or an unknown account all get the same "wait" answer; and an unknown
    account is throttled like a known one (throttling is no oracle either)."""
    use_cheap_passwords(monkeypatch)
    accounts = make_accounts()
    throttled_ip = "198.51.100.66"
    # Failures for an unknown account from one address: throttle both.
    for _ in range(MAX_FAILURES):
        response, _ = log_in(protected_app, throttled_ip, "ghost@zaytoun.test", "guess-guess-1")
        assert response.status_code == 401
    cases = {
        "right password": (accounts.active, PASSWORD, ""),
        "right password and code": (
            accounts.with_code, PASSWORD, pyotp.TOTP(accounts.secret).now()
        ),
        "wrong password": (accounts.active, "not-the-password-2026", ""),
        "disabled": (accounts.disabled, PASSWORD, ""),
        "unknown account": ("nobody@zaytoun.test", PASSWORD, ""),
    }
    answers = {
        what: comparable(log_in(protected_app, throttled_ip, *case)[0], case[0], case[2])
        for what, case in cases.items()
    }
    assert {status for status, _, _ in answers.values()} == {429}
    reference = answers["unknown account"]
    for what, answer in answers.items():
        assert answer == reference, f"throttled address: {what} answers differently"

    # Per account: failures from many addresses throttle a known account as
    # they did the unknown one above, and the two answers match.
    for n in range(MAX_FAILURES):
        response, _ = log_in(protected_app, f"10.9.{n}.1", accounts.active, "guess-guess-1")
        assert response.status_code == 401
    known = log_in(protected_app, "10.9.200.1", accounts.active, PASSWORD)[0]
    unknown = log_in(protected_app, "10.9.200.2", "ghost@zaytoun.test", PASSWORD)[0]
    assert known.status_code == unknown.status_code == 429
    assert comparable(known, accounts.active) == comparable(unknown, "ghost@zaytoun.test")
    # Still refused, never let in, while throttled; another account is not affected.
    other, _ = log_in(protected_app, "10.9.200.3", accounts.disabled, "guess-guess-1")
    assert other.status_code == 401


@pytest.fixture
def production_engine_app(database_url: Callable[[str], str], tmp_path: Path) -> Iterator[Flask]:
    """CSRF on, PostgreSQL only: the timing is argon2's, not the engine's, and
    each refusal costs most of a second on a shared machine."""
    with app_with(tmp_path, database_url, "postgresql", WTF_CSRF_ENABLED=True) as application:
        yield application


@pytest.mark.parametrize(
    "tries",
    [pytest.param(3, id="short"), pytest.param(15, id="long", marks=pytest.mark.chaos)],
)
def test_a_refused_login_takes_about_as_long_whatever_was_wrong(
    production_engine_app: Flask, tries: int
) -> None:
    """The app hashes a dummy password for unknown accounts: the medians of the
    refusals (round robin, throttling reset in between, production argon2
    parameters) stay within a generous factor of each other."""
    app = production_engine_app
    accounts = make_accounts()
    cases = {what: case for what, case in refused_cases(accounts).items() if what in TIMED}
    # One untimed request first: template compilation, connection pool.
    log_in(app, "192.0.2.250", "warm-up@zaytoun.test", "warm-up-warm-up")
    seconds: dict[str, list[float]] = {what: [] for what in cases}
    for _ in range(tries):
        for n, (what, (email_address, password, code)) in enumerate(cases.items()):
            forget_failures()
            response, took = log_in(app, f"192.0.2.{n + 1}", email_address, password, code)
            assert response.status_code == 401
            seconds[what].append(took)
    medians = {what: round(statistics.median(values) * 1000, 1) for what, values in seconds.items()}
    print(f"\nrefused login medians over {tries} tries (ms): {medians}")
    assert max(medians.values()) <= TIMING_FACTOR * min(medians.values()), medians
