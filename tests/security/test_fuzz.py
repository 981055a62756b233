"""Attacks refused: hypothesis fuzzes the public and console entry points
through the test client, with CSRF on, and checks what a person or an attacker
would notice:

- no answer is a server error (5xx);
- an invalid submission changes nothing: every table holds as many rows
  after it as before (signatures, outbox, users, paper imports, audit, ...);
- a valid one creates exactly one signature (or one import of exactly its
  valid rows; one confirmation; one login).

Validity is decided by construction (fuzz_support.py): a case is a valid
signer, login, token or CSV, optionally corrupted in one way the documented
rules refuse, never judged by the app's own answer.

The short runs (SQLite) are part of `make test`; the long runs (PostgreSQL,
2,000 cases per entry point and more) are marked `chaos`. Each test prints how
many cases it sent (`pytest -rA` or `-s` shows them)."""

from __future__ import annotations

import gzip
import io
import ipaddress
import json
import logging
import re
import secrets
import string
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import brotli
import pyotp
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from itsdangerous import TimestampSigner, URLSafeTimedSerializer
from sqlalchemy import delete, select, update
from werkzeug.test import TestResponse

from campaigns.accounts.disclosure import grant_hash
from campaigns.accounts.services import create_user
from campaigns.accounts.totp import seal_secret
from campaigns.extensions import db
from campaigns.kernel.normalize import clean_text
from campaigns.models import (
    Campaign,
    DisclosureKind,
    DisclosureRequest,
    DisclosureState,
    LoginThrottle,
    Organization,
    OutboxMessage,
    PaperImport,
    Role,
    Signature,
    SignatureState,
    User,
)
from campaigns.models.types import utcnow
from campaigns.privacy.crypto import keyring
from campaigns.privacy.personal import read_personal_data
from campaigns.signing.codes import confirm_code, make_reference
from campaigns.signing.manage.links import make_manage_token
from campaigns.signing.tokens import make_confirm_token
from campaigns.updates.unsubscribe import make_unsubscribe_token
from tests.factories import create_signature

from .fuzz_support import (
    BAD_EMAILS,
    BAD_UTF8,
    BIDI,
    CASES,
    CONTROLS,
    CSRF_MODES,
    FORM_CONTROLS,
    JUNK,
    JUNK_CHAR,
    LANGUAGES,
    NOT_COUNTRIES,
    PETITION,
    PHONE_COUNTRIES,
    PLEDGE,
    PLEDGE_CAP,
    REFUSED_CONTROLS,
    ZERO_WIDTH,
    Pairs,
    Site,
    UniqueEmail,
    as_bytes,
    blank_text,
    broken_token,
    build_site,
    changes,
    csrf_token,
    encode_form,
    multipart,
    next_person,
    render_pairs,
    sprinkled,
    summary,
    typed_phone,
    unique_email,
    visible_text,
)

# Cases per entry point: a few hundred in `make test`, thousands in `make chaos`.
SHORT = 200
LONG = 2000
RUNS = [
    pytest.param("sqlite", SHORT, id="sqlite-short"),
    pytest.param("postgresql", LONG, id="postgresql-long", marks=pytest.mark.chaos),
]
# The console login verifies an argon2 hash (~0.15 s): fewer short cases there.
LOGIN_RUNS = [
    pytest.param("sqlite", 100, id="sqlite-short"),
    pytest.param("postgresql", LONG, id="postgresql-long", marks=pytest.mark.chaos),
]

HEALTH = [
    HealthCheck.too_slow,
    HealthCheck.data_too_large,
    HealthCheck.filter_too_much,
    HealthCheck.large_base_example,
]


def fuzz_settings(examples: int) -> settings:
    # derandomize: CI replays the same cases; database=None: nothing kept between runs.
    return settings(
        max_examples=examples,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=HEALTH,
        print_blob=True,
    )


# -- Fixtures


class ErrorLog(logging.Handler):
    """Keeps what the app logs at ERROR, so that a 5xx shows its traceback."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(self.format(record))


@pytest.fixture(scope="module")
def sites(
    tmp_path_factory: pytest.TempPathFactory, database_url: Callable[[str], str]
) -> Iterator[Callable[[str], Site]]:
    """One seeded app per engine for the whole module, built on first use."""
    built: dict[str, Site] = {}

    def get(engine: str) -> Site:
        if engine not in built:
            tmp = tmp_path_factory.mktemp(f"fuzz-{engine}")
            built[engine] = build_site(tmp, database_url(engine), engine)
        return built[engine]

    yield get
    print("\n" + summary())
    for site in built.values():
        with site.app.app_context():
            db.engine.dispose()


@pytest.fixture
def errors() -> Iterator[ErrorLog]:
    handler = ErrorLog()
    handler.setFormatter(logging.Formatter("%(name)s: %(message)s"))
    logger = logging.getLogger("campaigns")
    logger.addHandler(handler)
    yield handler
    logger.removeHandler(handler)


def no_server_error(response: TestResponse, errors: ErrorLog, what: str) -> None:
    if response.status_code >= 500:
        detail = "\n".join(errors.records[-3:]) or response.get_data(as_text=True)[:2000]
        raise AssertionError(f"{response.status_code} for {what}\n{detail}")


def shown_errors(response: TestResponse) -> list[str]:
    """The field errors a page shows (for failure messages)."""
    return re.findall(r'<p class="error" id="([^"]+)">([^<]*)</p>', response.get_data(as_text=True))


def undecodable(body: bytes, encoding: str) -> bool:
    """A urlencoded body with raw bytes that are not UTF-8 cannot be read at
    all: it arrives as an empty form (so without its CSRF token)."""
    if encoding != "raw":
        return False
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return True
    return False


def report(name: str, sent: int, started: float) -> None:
    CASES[name] += sent
    print(f"\n{name}: {sent} fuzz cases in {time.monotonic() - started:.1f} s")


# -- 1. The sign form


REQUIRED = ("full_name", "email", "country", "region")


@dataclass
class SignCase:
    slug: str
    lang: str
    pairs: Pairs
    encoding: str
    corruption: str
    csrf: str = "good"
    junk_token: str = ""
    files: tuple[str, ...] = ()
    csrf_position: int = 0
    visible_name: str = ""
    country: str = ""

    @property
    def expected_status(self) -> int:
        if self.corruption == "none" or self.corruption == "honeypot":
            return 303
        if self.corruption.startswith("csrf"):
            return 400
        if self.corruption in {"too_large", "too_many_parts"}:
            return 413
        if self.corruption in {"bad_lang", "bad_slug"}:
            return 404
        return 422


def _replace(pairs: Pairs, name: str, value: Any) -> Pairs:
    return [(k, value if k == name else v) for k, v in pairs]


SIGN_CORRUPTIONS = (
    "missing", "blank", "long_name", "nfkc_name", "long_region", "bad_email", "long_email",
    "bad_country", "bad_phone", "long_phone", "bad_amount", "honeypot", "csrf", "too_large",
    "too_many_parts", "bad_utf8_country", "bad_utf8_key", "dup_bad_first", "file_part",
    "bad_lang", "bad_slug", "control",
)
BAD_PHONES = ("1", "12", "123", "abc", "+", "+963", "٠", "00", "phone", "+1 ()", "---")
BAD_AMOUNTS = (
    "0", "-1", str(PLEDGE_CAP + 1), "100", "1000000", "1.5", "1,5", "abc", "٥١", "5 5",
    "", "   ", "½", "²", "١٠٠٠٠٠٠", "1e3", "0x10", "\u202e5",
)
BAD_LANGS = ("xx", "AR", "ar-SY", "عربي", "ar\x00", "e n", "")


@st.composite
def sign_cases(draw: st.DrawFn) -> SignCase:
    pledge = draw(st.booleans())
    slug = PLEDGE if pledge else PETITION
    visible_name = draw(visible_text(80))
    # A form refuses control characters but the tab: see the "control" corruption.
    name = draw(sprinkled(visible_name, 20, controls=FORM_CONTROLS))
    region = draw(sprinkled(draw(visible_text(60)), 20, controls=FORM_CONTROLS))
    email = draw(unique_email())
    country = draw(st.sampled_from(PHONE_COUNTRIES))
    pairs: Pairs = [
        ("full_name", name),
        ("email", email),
        ("country", country),
        ("region", region),
    ]
    phone = draw(st.sampled_from(("absent", "empty", "number")))
    if phone == "empty":
        pairs.append(("phone", ""))
    elif phone == "number":
        pairs.append(("phone", typed_phone(country, draw(st.integers(0, 2)))))
    if pledge:
        amount = draw(st.integers(1, PLEDGE_CAP))
        typed = str(amount)
        if draw(st.booleans()):
            typed = typed.translate(str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩"))
        pairs.append(("amount", draw(st.sampled_from(("", " ", "\t"))) + typed))
    elif draw(st.booleans()):
        pairs.append(("amount", draw(JUNK)))  # a petition ignores it
    for box in ("show_name", "deliver_name", "contact_ok"):
        if draw(st.booleans()):
            pairs.append((box, draw(st.sampled_from(("y", "on", "1", "")) | JUNK)))
    if draw(st.booleans()):
        pairs.append(("website", ""))
    # Unknown fields, some with bytes that are not UTF-8: ignored.
    for _ in range(draw(st.integers(0, 3))):
        key = draw(st.sampled_from(("x", "comment", "نص", "full_name_2", "lang")))
        value: str | bytes = draw(JUNK)
        if draw(st.booleans()):
            value = as_bytes(value) + draw(st.sampled_from(BAD_UTF8))
        pairs.append((key, value))
    pairs = list(draw(st.permutations(pairs)))
    # A repeated field: the form reads the first value, so a junk second one is harmless.
    if draw(st.integers(0, 4)) == 0:
        repeated = draw(st.sampled_from(REQUIRED))
        first = next(i for i, (k, _) in enumerate(pairs) if k == repeated)
        pairs.insert(draw(st.integers(first + 1, len(pairs))), (repeated, draw(JUNK)))
    encoding = draw(st.sampled_from(("urlencoded", "raw", "multipart")))
    case = SignCase(
        slug=slug,
        lang=draw(st.sampled_from(LANGUAGES)),
        pairs=pairs,
        encoding=encoding,
        corruption="none",
        csrf_position=draw(st.integers(0, len(pairs))),
        visible_name=visible_name,
        country=country,
    )
    if draw(st.integers(0, 3)) == 0:
        return case  # valid
    corruption = draw(st.sampled_from(SIGN_CORRUPTIONS))
    if corruption == "bad_amount" and not pledge:
        corruption = "bad_phone"
    if corruption == "too_many_parts" and encoding != "multipart":
        corruption = "too_large"
    if corruption == "file_part" and encoding != "multipart":
        corruption = "missing"
    case.corruption = corruption
    target = draw(st.sampled_from(REQUIRED + (("amount",) if pledge else ())))
    if corruption == "missing":
        case.pairs = [(k, v) for k, v in pairs if k != target]
    elif corruption == "blank":
        case.pairs = _replace(pairs, target, draw(blank_text()))
    elif corruption == "long_name":
        long_name = draw(st.text(st.sampled_from("ابتثجحخدذرزسشصضطظعغفقكلمنهويabcxyz"),
                                 min_size=101, max_size=400))
        case.pairs = _replace(pairs, "full_name", draw(sprinkled(long_name, 5, controls=False)))
    elif corruption == "control":
        # Any text field but the honeypot and the amount (which takes digits only).
        field, value = draw(st.sampled_from((
            ("full_name", visible_name), ("region", "حلب"), ("email", "rami@example.org"),
            ("phone", "0944 123 456"),
        )))
        at = draw(st.integers(0, len(value)))
        bad = value[:at] + draw(st.sampled_from(REFUSED_CONTROLS)) + value[at:]
        case.pairs = [(k, v) for k, v in case.pairs if k != field] + [(field, bad)]
    elif corruption == "nfkc_name":
        # Six ligatures pass the 100-character limit typed, not once expanded (NFKC).
        case.pairs = _replace(pairs, "full_name", "\ufdfa" * draw(st.integers(6, 12)))
    elif corruption == "long_region":
        long_region = draw(st.text(st.sampled_from("حلبعفرينaleppo"), min_size=81, max_size=300))
        case.pairs = _replace(pairs, "region", long_region)
    elif corruption == "bad_email":
        case.pairs = _replace(pairs, "email", draw(st.sampled_from(BAD_EMAILS)))
    elif corruption == "long_email":
        local = draw(st.text(st.sampled_from(string.ascii_lowercase), min_size=245, max_size=400))
        case.pairs = _replace(pairs, "email", f"{local}@example.org")
    elif corruption == "bad_country":
        case.pairs = _replace(pairs, "country", draw(st.sampled_from(NOT_COUNTRIES)))
    elif corruption in {"bad_phone", "long_phone"}:
        bad = draw(st.sampled_from(BAD_PHONES)) if corruption == "bad_phone" else "1" * draw(
            st.integers(33, 80)
        )
        case.pairs = [(k, v) for k, v in pairs if k != "phone"] + [("phone", bad)]
    elif corruption == "bad_amount":
        case.pairs = _replace(pairs, "amount", draw(st.sampled_from(BAD_AMOUNTS)))
    elif corruption == "honeypot":
        trap = draw(st.text(JUNK_CHAR, min_size=1, max_size=40))
        case.pairs = [(k, v) for k, v in pairs if k != "website"] + [("website", trap)]
    elif corruption == "csrf":
        case.csrf = draw(st.sampled_from(CSRF_MODES))
        case.junk_token = draw(JUNK)
    elif corruption == "too_large":
        size = draw(st.integers(65 * 1024, 160 * 1024))
        case.pairs = [*pairs, ("x", draw(st.sampled_from(("ا", "a", "\u202e"))) * size)]
    elif corruption == "too_many_parts":
        case.pairs = pairs + [(f"x{i}", "y") for i in range(draw(st.integers(101, 300)))]
    elif corruption == "bad_utf8_country":
        bad = draw(st.sampled_from(BAD_UTF8))
        case.pairs = _replace(pairs, "country", country[:1].encode() + bad + country[1:].encode())
    elif corruption == "bad_utf8_key":
        bad = draw(st.sampled_from(BAD_UTF8))
        case.pairs = [((k.encode() + bad) if k == target else k, v) for k, v in pairs]
    elif corruption == "dup_bad_first":
        bad_values = {
            "full_name": draw(blank_text()),
            "email": draw(st.sampled_from(BAD_EMAILS)),
            "country": draw(st.sampled_from(NOT_COUNTRIES)),
            "region": draw(blank_text()),
            "amount": draw(st.sampled_from(BAD_AMOUNTS)),
        }
        case.pairs = [(target, bad_values[target]), *pairs]
    elif corruption == "file_part":
        case.files = (target,)
    elif corruption == "bad_lang":
        case.lang = draw(st.sampled_from(BAD_LANGS))
    elif corruption == "bad_slug":
        case.slug = draw(
            st.text(JUNK_CHAR, max_size=60).filter(lambda s: s not in {PETITION, PLEDGE})
        )
    return case


def sign_path(case: SignCase) -> str:
    return f"/{quote(case.lang, safe='')}/campaigns/{quote(case.slug, safe='')}/sign"


@pytest.mark.parametrize(("engine", "examples"), RUNS)
def test_sign_form_refuses_what_is_invalid_and_takes_each_valid_signer_once(
    sites: Callable[[str], Site], errors: ErrorLog, engine: str, examples: int
) -> None:
    site = sites(engine)
    client = site.client()
    good = csrf_token(client, f"/ar/campaigns/{PETITION}")
    other = csrf_token(site.client(), f"/en/campaigns/{PLEDGE}")
    outcomes: dict[str, int] = {"valid": 0, "invalid": 0}
    started = time.monotonic()

    @fuzz_settings(examples)
    @given(case=sign_cases())
    def check(case: SignCase) -> None:
        pairs = list(case.pairs)
        if case.csrf == "good":
            pairs.insert(case.csrf_position, ("csrf_token", good))
        else:
            for pair in reversed(broken_token(case.csrf, good, other, case.junk_token)):
                pairs.insert(case.csrf_position, pair)
        body, content_type = encode_form(render_pairs(pairs), case.encoding, case.files)
        unreadable = undecodable(body, case.encoding)
        before = site.counts()
        response = client.post(sign_path(case), data=body, content_type=content_type)
        after = site.counts()
        what = f"{case.corruption} ({case.encoding}, csrf {case.csrf}) {sign_path(case)!r}" + (
            f"\n{body[:600]!r}\n{shown_errors(response)}"
        )
        no_server_error(response, errors, what)
        expected = case.expected_status
        if unreadable and case.corruption not in {"bad_lang", "too_large", "too_many_parts"}:
            expected = 400  # the CSRF token was not read either
        if case.corruption == "bad_utf8_key" and case.encoding == "multipart":
            expected = 400  # a part whose name is not UTF-8: the whole body is refused
        if sign_path(case).startswith("//"):
            # An empty language: the test client reads "//campaigns/…" as the
            # host "campaigns", which the site does not answer to.
            expected = 400
        if case.corruption == "bad_slug" and not case.slug.strip("/"):
            # An empty slug, or slashes only (sent as %2F, decoded by the
            # server): Werkzeug merges "/ar/campaigns//sign" and the like into
            # the page of a campaign named "sign", which takes GET only.
            expected = 405
        assert response.status_code == expected, (what, response.status_code)
        if case.corruption == "none" and not unreadable:
            outcomes["valid"] += 1
            assert response.headers["Location"].endswith(f"/campaigns/{case.slug}/thanks")
            assert changes(before, after) == {"signatures": 1, "outbox": 1}, what
            with site.context():
                stored = db.session.execute(
                    select(Signature).order_by(Signature.id.desc()).limit(1)
                ).scalar_one()
                person = read_personal_data(stored)
                name = person["name"]
                assert stored.country == case.country
                # Cleaning removed every invisible and control character, nothing else.
                for text in (name, person["region"]):
                    assert not set(text) & set(BIDI + ZERO_WIDTH + CONTROLS), repr(text)
                assert name.replace(" ", "") == case.visible_name.replace(" ", "")
        else:
            outcomes["invalid"] += 1
            assert changes(before, after) == {}, what

    check()
    report(f"sign form ({engine})", sum(outcomes.values()), started)
    print(f"  valid signers: {outcomes['valid']}, invalid submissions: {outcomes['invalid']}")
    assert outcomes["valid"] > examples // 10 and outcomes["invalid"] > examples // 2


# -- 2. The confirmation link


CONFIRM_KINDS = (
    "junk", "long", "tampered", "wrong_key", "wrong_salt", "expired", "not_uuid",
    "unknown_uuid", "unchecked", "valid", "valid_bad_csrf", "method",
)


@dataclass
class ConfirmCase:
    kind: str
    method: str
    junk: str = ""
    position: int = 0
    csrf: str = "good"
    lang: str = "ar"
    query: str = ""
    extra: list[tuple[str, str]] = field(default_factory=list)


@st.composite
def confirm_cases(draw: st.DrawFn) -> ConfirmCase:
    kind = draw(st.sampled_from(CONFIRM_KINDS))
    method = draw(st.sampled_from(("GET", "POST", "HEAD")))
    if kind == "valid":
        method = draw(st.sampled_from(("POST", "POST", "GET")))
    elif kind == "valid_bad_csrf":
        method = "POST"
    elif kind == "method":
        method = draw(st.sampled_from(("PUT", "DELETE", "PATCH", "OPTIONS", "TRACE")))
    junk = draw(st.text(JUNK_CHAR, min_size=1, max_size=80))
    if kind == "long":
        junk = draw(st.sampled_from(("a", "ا", ".", "\u202e"))) * draw(st.integers(201, 5000))
    return ConfirmCase(
        kind=kind,
        method=method,
        junk=junk,
        position=draw(st.integers(0, 10**6)),
        csrf="good" if kind != "valid_bad_csrf" else draw(st.sampled_from(CSRF_MODES)),
        lang=draw(st.sampled_from(LANGUAGES)),
        query=draw(st.sampled_from(("", "?confirmed=1", "?x=%FF%00", "?token=a"))),
        extra=[(k, v) for k, v in draw(st.lists(st.tuples(JUNK, JUNK), max_size=2))],
    )


def tampered(token: str, position: int) -> str:
    """One character changed where it changes the decoded bytes: never the last
    character of a segment (its low bits may be padding)."""
    candidates = [
        i for i, ch in enumerate(token)
        if ch != "." and i + 1 < len(token) and token[i + 1] != "."
    ]
    i = candidates[position % len(candidates)]
    replacement = "A" if token[i] != "A" else "B"
    return token[:i] + replacement + token[i + 1 :]


class _OldSigner(TimestampSigner):
    """Signs as if it were 40 days ago (tokens live 30)."""

    def get_timestamp(self) -> int:
        return int(time.time()) - 40 * 24 * 3600


def token_for(case: ConfirmCase, signature: Signature | None) -> str:
    ring = keyring()
    if case.kind in {"junk", "long"}:
        return case.junk
    if case.kind == "wrong_key":
        return URLSafeTimedSerializer(b"not-our-key" * 3, salt="confirm-signature").dumps(
            uuid.uuid4().hex
        )
    if case.kind == "wrong_salt":
        return URLSafeTimedSerializer(ring.token, salt="unsubscribe").dumps(uuid.uuid4().hex)
    if case.kind == "not_uuid":
        return URLSafeTimedSerializer(ring.token, salt="confirm-signature").dumps(case.junk)
    if case.kind == "unknown_uuid":
        return make_confirm_token(uuid.uuid4())
    assert signature is not None
    if case.kind == "expired":
        old = URLSafeTimedSerializer(ring.token, salt="confirm-signature", signer=_OldSigner)
        return old.dumps(signature.uuid.hex)
    real = make_confirm_token(signature.uuid)
    return tampered(real, case.position) if case.kind == "tampered" else real


@pytest.mark.parametrize(("engine", "examples"), RUNS)
def test_confirm_link_confirms_only_its_own_signature_and_only_by_post(
    sites: Callable[[str], Site], errors: ErrorLog, engine: str, examples: int
) -> None:
    site = sites(engine)
    with site.context():
        campaign_id = db.session.execute(
            select(Campaign.id).where(Campaign.slug == PETITION)
        ).scalar_one()
    client = site.client()
    good = csrf_token(client, f"/ar/campaigns/{PETITION}")
    other = csrf_token(site.client(), f"/ar/campaigns/{PETITION}")
    confirmed = 0
    started = time.monotonic()
    sent = 0

    def validated() -> int:
        return int(
            site.scalar(
                select(db.func.count()).where(Signature.state == SignatureState.validated)
            )
        )

    @fuzz_settings(examples)
    @given(case=confirm_cases())
    def check(case: ConfirmCase) -> None:
        nonlocal confirmed, sent
        with site.context():
            campaign = db.session.get(Campaign, campaign_id)
            assert campaign is not None
            signature = create_signature(
                campaign,
                email=f"confirm-{next_person()}@example.org",
                checked=case.kind != "unchecked",
            )
            token = token_for(case, signature)
            signature_id = signature.id
        path = f"/{case.lang}/confirm/{quote(token, safe='')}{case.query}"
        pairs = list(case.extra)
        if case.csrf == "good":
            pairs.append(("csrf_token", good))
        else:
            pairs += broken_token(case.csrf, good, other, case.junk)
        body, content_type = encode_form(render_pairs(list(pairs)), "urlencoded")
        before, validated_before = site.counts(), validated()
        response = client.open(path, method=case.method, data=body, content_type=content_type)
        sent += 1
        after, validated_after = site.counts(), validated()
        what = f"{case.kind} {case.method} {path[:120]!r}"
        no_server_error(response, errors, what)
        assert changes(before, after) == {}, what
        with site.context():
            state = db.session.get(Signature, signature_id).state  # type: ignore[union-attr]
        if case.kind == "valid" and case.method == "POST":
            assert response.status_code == 303, (what, response.status_code)
            assert state is SignatureState.validated
            assert validated_after == validated_before + 1
            confirmed += 1
            # The same link again: nothing more happens.
            again = client.post(path, data=body, content_type=content_type)
            assert again.status_code == 303 and validated() == validated_after
            return
        assert validated_after == validated_before, what
        assert state is SignatureState.pending, what
        if case.kind == "method":
            assert response.status_code == (200 if case.method == "OPTIONS" else 405), what
        elif case.kind == "valid_bad_csrf":
            assert response.status_code == 400, what
        elif case.kind in {"valid", "unchecked"} and case.method in {"GET", "HEAD"}:
            assert response.status_code == 200, what  # the button, nothing else
        elif case.kind == "expired":
            assert response.status_code == 410, what
        else:
            assert response.status_code == 404, what

    check()
    report(f"confirm link ({engine})", sent, started)
    print(f"  signatures confirmed by a valid POST: {confirmed}")
    assert confirmed > 0


# -- 2c. The link to manage a signature, and asking for it

MANAGE_KINDS = (
    "junk", "long", "tampered", "wrong_key", "confirm_token", "unsubscribe_token", "expired",
    "not_uuid", "unknown_uuid", "valid", "valid", "valid", "valid_bad_csrf", "method",
)
MANAGE_ACTIONS = ("/choices", "/withdraw", "/name", "")
NAME_KINDS = ("good", "blank", "long", "control", "junk")


@dataclass
class ManageCase:
    kind: str
    action: str
    method: str
    name_kind: str = "good"
    name: str = ""
    choices: list[tuple[str, str]] = field(default_factory=list)
    junk: str = ""
    position: int = 0
    csrf: str = "good"
    lang: str = "ar"
    extra: list[tuple[str, str]] = field(default_factory=list)


@st.composite
def manage_cases(draw: st.DrawFn) -> ManageCase:
    kind = draw(st.sampled_from(MANAGE_KINDS))
    action = draw(st.sampled_from(MANAGE_ACTIONS))
    method = draw(st.sampled_from(("GET", "POST", "HEAD")))
    if kind == "valid":
        method = draw(st.sampled_from(("POST", "POST", "POST", "GET", "HEAD")))
    elif kind == "valid_bad_csrf":
        method = "POST"
    elif kind == "method":
        method = draw(st.sampled_from(("PUT", "DELETE", "PATCH", "OPTIONS", "TRACE")))
    name_kind = draw(st.sampled_from(NAME_KINDS))
    if name_kind == "good":
        name = draw(visible_text(100))
    elif name_kind == "blank":
        name = draw(blank_text())
    elif name_kind == "long":
        name = draw(st.text(st.sampled_from("ابتثجحabc"), min_size=101, max_size=300))
    elif name_kind == "control":
        value = draw(visible_text(90))
        at = draw(st.integers(0, len(value)))
        name = value[:at] + draw(st.sampled_from(REFUSED_CONTROLS)) + value[at:]
    else:
        name = draw(JUNK)
    choices = draw(
        st.lists(
            st.tuples(
                st.sampled_from(("show_name", "deliver_name")), st.one_of(JUNK, st.just("y"))
            ),
            max_size=3,
        )
    )
    junk = draw(st.text(JUNK_CHAR, min_size=1, max_size=80))
    if kind == "long":
        junk = draw(st.sampled_from(("a", "ا", ".", "\u202e"))) * draw(st.integers(201, 5000))
    return ManageCase(
        kind=kind,
        action=action,
        method=method,
        name_kind=name_kind,
        name=name,
        choices=choices,
        junk=junk,
        position=draw(st.integers(0, 10**6)),
        csrf="good" if kind != "valid_bad_csrf" else draw(st.sampled_from(CSRF_MODES)),
        lang=draw(st.sampled_from(LANGUAGES)),
        extra=[(k, v) for k, v in draw(st.lists(st.tuples(JUNK, JUNK), max_size=2))],
    )


def manage_token_for(case: ManageCase, signature: Signature) -> str:
    ring = keyring()
    if case.kind in {"junk", "long"}:
        return case.junk
    if case.kind == "wrong_key":
        return URLSafeTimedSerializer(b"not-our-key" * 3, salt="manage-signature").dumps(
            signature.uuid.hex
        )
    if case.kind == "confirm_token":
        return make_confirm_token(signature.uuid)
    if case.kind == "unsubscribe_token":
        return make_unsubscribe_token(signature.uuid)
    if case.kind == "not_uuid":
        return URLSafeTimedSerializer(ring.token, salt="manage-signature").dumps(case.junk)
    if case.kind == "unknown_uuid":
        return make_manage_token(uuid.uuid4())
    if case.kind == "expired":
        old = URLSafeTimedSerializer(ring.token, salt="manage-signature", signer=_AncientSigner)
        return old.dumps(signature.uuid.hex)
    real = make_manage_token(signature.uuid)
    return tampered(real, case.position) if case.kind == "tampered" else real


class _AncientSigner(TimestampSigner):
    """Signs as if it were a year ago (manage links live 180 days)."""

    def get_timestamp(self) -> int:
        return int(time.time()) - 365 * 24 * 3600


def allows(method: str, action: str) -> bool:
    """Whether the manage link's route at ``action`` takes ``method``."""
    if action in {"/name", "/choices"}:
        return method == "POST"
    return method != "POST" or action == "/withdraw"


@pytest.mark.parametrize(("engine", "examples"), RUNS)
def test_manage_link_acts_only_on_its_own_signature_only_by_post_and_only_as_allowed(
    sites: Callable[[str], Site], errors: ErrorLog, engine: str, examples: int
) -> None:
    site = sites(engine)
    with site.context():
        campaign_id = db.session.execute(
            select(Campaign.id).where(Campaign.slug == PETITION)
        ).scalar_one()
    client = site.client()
    good = csrf_token(client, f"/ar/campaigns/{PETITION}")
    other = csrf_token(site.client(), f"/ar/campaigns/{PETITION}")
    started = time.monotonic()
    sent = 0
    acted: Counter[str] = Counter()

    @fuzz_settings(examples)
    @given(case=manage_cases())
    def check(case: ManageCase) -> None:
        nonlocal sent
        with site.context():
            campaign = db.session.get(Campaign, campaign_id)
            assert campaign is not None
            signature = create_signature(
                campaign,
                state=SignatureState.validated,
                email=f"manage-{next_person()}@example.org",
                name="Original Name",
            )
            token = manage_token_for(case, signature)
            signature_id = signature.id
        path = f"/{case.lang}/manage/{quote(token, safe='')}{case.action}"
        pairs: list[tuple[str, str]] = [("full_name", case.name), *case.choices, *case.extra]
        if case.csrf == "good":
            pairs.append(("csrf_token", good))
        else:
            pairs += broken_token(case.csrf, good, other, case.junk)
        body, content_type = encode_form(render_pairs(list(pairs)), "urlencoded")
        before = site.counts()
        response = client.open(path, method=case.method, data=body, content_type=content_type)
        sent += 1
        after = site.counts()
        what = f"{case.kind} {case.method} {path[:120]!r}"
        no_server_error(response, errors, what)
        with site.context():
            stored = db.session.get(Signature, signature_id)
            assert stored is not None
            state, has_data = stored.state, stored.personal_data is not None
            name = read_personal_data(stored)["name"] if has_data else None
        posted_validly = case.kind == "valid" and case.method == "POST"
        if case.method == "OPTIONS":
            assert response.status_code in (200, 405), what
        elif case.kind == "method" or not allows(case.method, case.action):
            assert response.status_code == 405, what
        elif case.kind == "valid_bad_csrf":
            assert response.status_code == 400, what
        elif case.kind == "expired":
            assert response.status_code == 410, what
        elif case.kind != "valid":
            # Junk holding a slash may reach another rule of the same shape.
            allowed = {404, 405} if "/" in token else {404}
            assert response.status_code in allowed, what
        if not (posted_validly and case.action in {"/withdraw", "/name", "/choices"}):
            assert changes(before, after) == {}, what
            assert state is SignatureState.validated and name == "Original Name", what
            return
        if case.action == "/withdraw":
            assert response.status_code == 303, what
            assert state is SignatureState.withdrawn and not has_data, what
            assert changes(before, after) == {"audit_log": 1}, what
        elif case.action == "/name":
            assert state is SignatureState.validated, what
            if case.name_kind == "good":
                assert response.status_code == 303, what
                assert name == clean_text(case.name), what
                assert changes(before, after) == {"audit_log": int(name != "Original Name")}, what
            elif case.name_kind == "junk":
                assert response.status_code in (303, 422), what
            else:
                assert response.status_code == 422, what
                assert name == "Original Name" and changes(before, after) == {}, what
        else:
            assert response.status_code == 303, what
            assert state is SignatureState.validated and name == "Original Name", what
        acted[case.action] += 1

    check()
    report(f"manage link ({engine})", sent, started)
    print(f"  valid posts that acted: {dict(acted)}")
    assert acted["/withdraw"] > 0 and acted["/name"] > 0 and acted["/choices"] > 0


@pytest.mark.parametrize(("engine", "examples"), RUNS)
def test_asking_for_the_manage_link_never_fails_and_queues_only_for_a_signer(
    sites: Callable[[str], Site], errors: ErrorLog, engine: str, examples: int
) -> None:
    site = sites(engine)
    with site.context():
        campaign = db.session.execute(
            select(Campaign).where(Campaign.slug == PETITION)
        ).scalar_one()
        signed = create_signature(
            campaign, state=SignatureState.validated, email="signed.person@example.org"
        )
        signed_id = signed.id
    client = site.client()
    good = csrf_token(client, f"/ar/campaigns/{PETITION}/manage")
    other = csrf_token(site.client(), f"/ar/campaigns/{PETITION}/manage")
    started = time.monotonic()
    sent = 0
    queued = 0
    requester = iter(range(1, 10**6))

    @fuzz_settings(examples)
    @given(
        kind=st.sampled_from(("signed", "unsigned", "bad", "junk", "csrf", "long")),
        spelling=st.sampled_from(("signed.person@example.org", "SIGNED.PERSON@EXAMPLE.ORG",
                                  " signed.person@Example.org ")),
        unsigned=unique_email(),
        bad=st.sampled_from(BAD_EMAILS),
        junk=JUNK,
        csrf=st.sampled_from(CSRF_MODES),
        lang=st.sampled_from(LANGUAGES),
    )
    def check(
        kind: str, spelling: str, unsigned: UniqueEmail, bad: str, junk: str, csrf: str, lang: str
    ) -> None:
        nonlocal sent, queued
        value: str | UniqueEmail = {
            "signed": spelling, "unsigned": unsigned, "bad": bad, "junk": junk,
            "csrf": spelling, "long": "a" * 300 + "@example.org",
        }[kind]
        pairs: list[tuple[str, Any]] = [("email", value)]
        if kind == "csrf":
            pairs += broken_token(csrf, good, other, junk)
        else:
            pairs.append(("csrf_token", good))
        body, content_type = encode_form(render_pairs(pairs), "urlencoded")
        n = next(requester)
        before = site.counts()
        response = client.open(
            f"/{lang}/campaigns/{PETITION}/manage",
            method="POST",
            data=body,
            content_type=content_type,
            # Each request from its own client address: the throttle has its own test.
            environ_base={"REMOTE_ADDR": f"198.18.{n // 250}.{n % 250 + 1}"},
        )
        sent += 1
        after = site.counts()
        what = f"{kind} {value!r}"
        no_server_error(response, errors, what)
        if kind == "csrf":
            assert response.status_code == 400 and changes(before, after) == {}, what
        elif kind in {"bad", "long"}:
            assert response.status_code == 422 and changes(before, after) == {}, what
        elif kind == "junk":
            assert response.status_code in (200, 422), what
            assert changes(before, after).get("outbox", 0) == 0, what
        else:
            assert response.status_code == 200, what
            expected = {"login_throttle": 1}
            if kind == "signed":
                expected["outbox"] = 1
                queued += 1
            assert changes(before, after) == expected, what
        with site.context():
            rows = db.session.execute(
                select(OutboxMessage.object_id).where(OutboxMessage.task == "send_manage_link")
            ).scalars().all()
            assert set(rows) <= {signed_id}, what

    check()
    report(f"manage link request ({engine})", sent, started)
    print(f"  requests that queued the link: {queued}")
    assert queued > 0


# -- 2b. The confirmation code on the thanks page


CODE_KINDS = (
    "right", "right_typed", "wrong", "junk", "long", "no_reference", "junk_reference",
    "expired_reference", "other_campaign", "duplicate_reference", "bad_csrf", "method",
)  # fmt: skip
ARABIC_INDIC = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")


@dataclass
class CodeCase:
    kind: str
    method: str = "POST"
    junk: str = ""
    csrf: str = "good"
    lang: str = "ar"
    address: int = 0
    extra: list[tuple[str, str]] = field(default_factory=list)


@st.composite
def code_cases(draw: st.DrawFn) -> CodeCase:
    kind = draw(st.sampled_from(CODE_KINDS))
    method = "POST"
    if kind == "method":
        method = draw(st.sampled_from(("GET", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE")))
    junk = draw(st.text(JUNK_CHAR, min_size=1, max_size=40))
    if kind == "long":
        junk = draw(st.sampled_from(("1", "١", " ", "\u202e"))) * draw(st.integers(33, 5000))
    return CodeCase(
        kind=kind,
        method=method,
        junk=junk,
        csrf="good" if kind != "bad_csrf" else draw(st.sampled_from(CSRF_MODES)),
        lang=draw(st.sampled_from(LANGUAGES)),
        extra=[(k, v) for k, v in draw(st.lists(st.tuples(JUNK, JUNK), max_size=2))],
    )


def typed_for(case: CodeCase, code: str) -> str:
    if case.kind in {"junk", "long"}:
        # Junk that happens to be 8 digits is a wrong code: still refused.
        return case.junk
    if case.kind == "wrong":
        return f"{(int(code) + 1 + len(case.junk)) % 10**8:08d}"
    if case.kind == "right_typed":
        return f" {code[:4]} - {code[4:]} ".translate(ARABIC_INDIC)
    return code


@pytest.mark.parametrize(("engine", "examples"), RUNS)
def test_confirm_code_confirms_only_its_own_signature_with_its_code(
    sites: Callable[[str], Site], errors: ErrorLog, engine: str, examples: int
) -> None:
    site = sites(engine)
    with site.context():
        petition_id, pledge_id = (
            db.session.execute(select(Campaign.id).where(Campaign.slug == slug)).scalar_one()
            for slug in (PETITION, PLEDGE)
        )
    client = site.client()
    good = csrf_token(client, f"/ar/campaigns/{PETITION}/thanks")
    other = csrf_token(site.client(), f"/ar/campaigns/{PETITION}/thanks")
    confirmed = 0
    started = time.monotonic()
    sent = 0
    addresses = iter(range(1, 10**6))

    @fuzz_settings(examples)
    @given(case=code_cases())
    def check(case: CodeCase) -> None:
        nonlocal confirmed, sent
        with site.context():
            campaign = db.session.get(
                Campaign, pledge_id if case.kind == "other_campaign" else petition_id
            )
            assert campaign is not None
            signature = create_signature(
                campaign, email=f"code-{next_person()}@example.org", checked=True
            )
            code = confirm_code(signature.uuid)
            named = None if case.kind == "duplicate_reference" else signature.uuid
            made_at = time.time() - (40 * 24 * 3600 if case.kind == "expired_reference" else 0)
            reference = make_reference(named, now=made_at)
            signature_id = signature.id
        cookie = f"code-{PETITION}"
        if case.kind == "no_reference":
            client.delete_cookie(cookie)
        else:
            junk = quote(case.junk, safe="")[:300]  # a cookie is ASCII
            client.set_cookie(cookie, junk if case.kind == "junk_reference" else reference)
        pairs = [*case.extra, ("code", typed_for(case, code))]
        if case.csrf == "good":
            pairs.append(("csrf_token", good))
        else:
            pairs += broken_token(case.csrf, good, other, case.junk)
        body, content_type = encode_form(render_pairs(list(pairs)), "urlencoded")
        path = f"/{case.lang}/campaigns/{PETITION}/code"
        # Each case from its own address: the per-address limit has its own test.
        n = next(addresses)
        remote = f"10.{n // 65536 % 256}.{n // 256 % 256}.{n % 256}"
        before = site.counts()
        response = client.open(
            path,
            method=case.method,
            data=body,
            content_type=content_type,
            environ_overrides={"REMOTE_ADDR": remote},
        )
        sent += 1
        after = site.counts()
        what = f"{case.kind} {case.method} code={pairs[-1][1][:40]!r}"
        no_server_error(response, errors, what)
        with site.context():
            state = db.session.get(Signature, signature_id).state  # type: ignore[union-attr]
        changed = changes(before, after)
        # Nothing but the counted tries (one row per new reference and address).
        assert set(changed) <= {"login_throttle"}, (what, changed)
        if case.kind in {"right", "right_typed"}:
            assert response.status_code == 303, (what, response.status_code, shown_errors(response))
            assert state is SignatureState.validated, what
            confirmed += 1
            return
        assert state is SignatureState.pending, what
        counted = changed.get("login_throttle", 0)
        if case.kind == "method":
            assert response.status_code in {200, 405}, what
        elif case.kind == "bad_csrf":
            assert response.status_code == 400, what
        elif case.kind == "expired_reference":
            assert response.status_code == 410, what
        else:
            assert response.status_code == 422, (what, response.status_code)
        if case.kind not in {"wrong", "other_campaign", "duplicate_reference", "junk"}:
            assert counted == 0, what  # refused before any try was counted

    check()
    report(f"confirm code ({engine})", sent, started)
    print(f"  signatures confirmed by their code: {confirmed}")
    assert confirmed > 0


# -- 3. The console login and the second factor


ACCOUNT_PASSWORD = "olive-trees-of-afrin-ٱلزيتون-2026"


@dataclass
class Console:
    organizer: str
    admin: str
    admin_secret: str
    newcomer: str  # an admin still to set up the second factor
    newcomer_id: int
    organizer_secret: str = ""

    def secret(self, who: str) -> str | None:
        return {"organizer": self.organizer_secret, "admin": self.admin_secret}.get(who)


def console_accounts(site: Site) -> Console:
    """The console's people (made once per site)."""
    with site.context():
        found = db.session.execute(
            select(User).where(User.email == "fuzz-organizer@union.test")
        ).scalar_one_or_none()
        union = db.session.execute(
            select(Organization).where(Organization.slug == "aleppo-revolutionaries-union")
        ).scalar_one()
        if found is None:
            organizer = create_user(
                "fuzz-organizer@union.test", "Organizer", ACCOUNT_PASSWORD, Role.organizer, union
            )
            organizer.totp_secret = seal_secret(ORGANIZER_SECRET)
            organizer.totp_enabled = True
            admin = create_user(
                "fuzz-admin@union.test", "Admin", ACCOUNT_PASSWORD, Role.admin, union
            )
            admin.totp_secret, admin.totp_enabled = seal_secret(ADMIN_SECRET), True
            create_user("fuzz-newcomer@union.test", "New", ACCOUNT_PASSWORD, Role.admin, union)
            db.session.commit()
        newcomer_id = db.session.execute(
            select(User.id).where(User.email == "fuzz-newcomer@union.test")
        ).scalar_one()
    return Console(
        "fuzz-organizer@union.test", "fuzz-admin@union.test", ADMIN_SECRET,
        "fuzz-newcomer@union.test", newcomer_id, ORGANIZER_SECRET,
    )


ADMIN_SECRET = pyotp.random_base32()
ORGANIZER_SECRET = pyotp.random_base32()


def clean_slate(site: Site) -> None:
    """Forget earlier failures (which may have throttled an account or an
    address) and the codes taken (each is taken once): a valid login is
    checked from there."""
    with site.context():
        db.session.execute(delete(LoginThrottle))
        db.session.execute(update(User).values(totp_last_step=None))
        db.session.commit()


@dataclass
class LoginCase:
    who: str  # organizer, admin, stranger
    email_fault: str
    password_fault: str
    code_fault: str
    csrf: str
    encoding: str
    address: str
    junk: str
    extra: list[tuple[str, str]] = field(default_factory=list)

    @property
    def valid(self) -> bool:
        return (
            self.who != "stranger"
            and self.email_fault == "none"
            and self.password_fault == "none"
            and self.code_fault == "none"
            and self.csrf == "good"
        )


@st.composite
def login_cases(draw: st.DrawFn) -> LoginCase:
    valid = draw(st.integers(0, 3)) == 0
    fault = st.just("none") if valid else None
    return LoginCase(
        who=draw(st.sampled_from(("organizer", "admin"))) if valid else draw(
            st.sampled_from(("organizer", "admin", "stranger"))
        ),
        email_fault=draw(fault if fault is not None else st.sampled_from(
            ("none", "suffix", "junk", "empty", "missing", "huge", "nul", "bad_utf8", "dup_bad")
        )),
        password_fault=draw(fault if fault is not None else st.sampled_from(
            ("none", "suffix", "junk", "empty", "missing", "huge", "nul", "bad_utf8", "bidi",
             "dup_bad")
        )),
        code_fault=draw(fault if fault is not None else st.sampled_from(
            ("none", "wrong", "junk", "long", "arabic")
        )),
        csrf="good" if valid or draw(st.integers(0, 2)) else draw(st.sampled_from(CSRF_MODES)),
        encoding=draw(st.sampled_from(("urlencoded", "raw", "multipart"))),
        address=f"127.0.{draw(st.integers(0, 3))}.{draw(st.integers(1, 254))}",
        junk=draw(JUNK),
        extra=draw(st.lists(st.tuples(st.sampled_from(("x", "next", "role")), JUNK), max_size=2)),
    )


def _faulty(value: str, fault: str, junk: str) -> list[tuple[str, str | bytes]]:
    """The pairs a field becomes under a fault (a list: it may be absent or repeated)."""
    if fault == "none":
        return [("", value)]
    if fault == "suffix":
        return [("", value + "x")]
    if fault == "junk":
        return [("", junk if junk.strip() != value else junk + "x")]
    if fault == "empty":
        return [("", "")]
    if fault == "missing":
        return []
    if fault == "huge":
        return [("", value + "ا" * 300)]
    if fault == "nul":
        return [("", value + "\x00")]
    if fault == "bad_utf8":
        return [("", value.encode() + b"\xff")]
    if fault == "bidi":
        return [("", "\u202e" + value)]
    assert fault == "dup_bad"
    return [("", value + "y"), ("", value)]


def login_pairs(case: LoginCase, console: Console, now: float) -> Pairs:
    email = {"organizer": console.organizer, "admin": console.admin}.get(
        case.who, "nobody@union.test"
    )
    secret = console.secret(case.who) or console.admin_secret
    valid_code = pyotp.TOTP(secret).at(now) if console.secret(case.who) else ""
    window = {pyotp.TOTP(secret).at(now + d) for d in (-60, -30, 0, 30, 60)}
    code = {
        "none": valid_code,
        "wrong": next(f"{n:06d}" for n in range(1000000) if f"{n:06d}" not in window),
        "junk": case.junk[:12] if console.secret(case.who) else case.junk + "x" * 13,
        "long": "1" * 13,
        # Arabic-Indic digits are not the code's digits (pyotp compares ASCII).
        "arabic": valid_code.translate(str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")) or "x" * 13,
    }[case.code_fault]
    pairs: Pairs = []
    for name, value, fault in (
        ("email", email, case.email_fault),
        ("password", ACCOUNT_PASSWORD, case.password_fault),
    ):
        pairs += [(name, v) for _, v in _faulty(value, fault, case.junk)]
    pairs.append(("code", code))
    return pairs + [(k, v) for k, v in case.extra]


@pytest.mark.parametrize(("engine", "examples"), LOGIN_RUNS)
def test_console_login_opens_only_for_the_right_email_password_and_code(
    sites: Callable[[str], Site], errors: ErrorLog, engine: str, examples: int
) -> None:
    site = sites(engine)
    console = console_accounts(site)
    other = csrf_token(site.client(), "/console/login")
    outcomes = {"logged in": 0, "refused": 0}
    statuses: dict[int, int] = {}
    started = time.monotonic()

    @fuzz_settings(examples)
    @given(case=login_cases())
    def check(case: LoginCase) -> None:
        if case.valid:
            clean_slate(site)
        client = site.client()
        environ = {"REMOTE_ADDR": case.address}
        good = csrf_token(client, "/console/login")
        pairs = login_pairs(case, console, time.time())
        if case.csrf == "good":
            pairs.insert(0, ("csrf_token", good))
        else:
            pairs = broken_token(case.csrf, good, other, case.junk) + pairs  # type: ignore[operator]
        body, content_type = encode_form(render_pairs(pairs), case.encoding)
        before = site.counts()
        response = client.post(
            "/console/login", data=body, content_type=content_type, environ_base=environ
        )
        after = site.counts()
        what = f"{case} -> {response.status_code}"
        no_server_error(response, errors, what)
        statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
        dashboard = client.get("/console/", environ_base=environ)
        delta = {k: v for k, v in changes(before, after).items() if k != "login_throttle"}
        if case.valid:
            outcomes["logged in"] += 1
            assert response.status_code == 303, what
            assert dashboard.status_code == 200, what
            assert delta == {"audit_log": 1}, what
        else:
            outcomes["refused"] += 1
            assert response.status_code in {400, 401, 422, 429}, what
            assert dashboard.status_code == 302, what  # still sent to the login page
            assert "/console/login" in dashboard.headers["Location"]
            assert delta == {}, what

    check()
    report(f"console login ({engine})", sum(outcomes.values()), started)
    print(f"  {outcomes}; statuses {dict(sorted(statuses.items()))}")
    assert outcomes["logged in"] > 0 and outcomes["refused"] > examples // 2


@dataclass
class TotpCase:
    fault: str
    spaced: bool
    csrf: str
    encoding: str
    junk: str


@st.composite
def totp_cases(draw: st.DrawFn) -> TotpCase:
    return TotpCase(
        fault=draw(st.sampled_from(
            ("none", "wrong", "junk", "long", "empty", "missing", "arabic", "nul", "csrf")
        )),
        spaced=draw(st.booleans()),
        csrf=draw(st.sampled_from(CSRF_MODES)),
        encoding=draw(st.sampled_from(("urlencoded", "raw", "multipart"))),
        junk=draw(JUNK),
    )


def _secret_of(page: str) -> str:
    start = page.index('<code dir="ltr">') + len('<code dir="ltr">')
    return page[start : page.index("</code>", start)]


@pytest.mark.parametrize(("engine", "examples"), LOGIN_RUNS)
def test_second_factor_is_turned_on_only_by_a_right_code(
    sites: Callable[[str], Site], errors: ErrorLog, engine: str, examples: int
) -> None:
    site = sites(engine)
    console = console_accounts(site)
    outcomes = {"turned on": 0, "refused": 0}
    started = time.monotonic()
    state: dict[str, Any] = {"client": None}

    def log_in_newcomer() -> None:
        with site.context():
            db.session.execute(delete(LoginThrottle))
            db.session.execute(
                update(User)
                .where(User.id == console.newcomer_id)
                .values(totp_enabled=False, totp_secret=None, totp_last_step=None)
            )
            db.session.commit()
        client = site.client()
        token = csrf_token(client, "/console/login")
        login = {"email": console.newcomer, "password": ACCOUNT_PASSWORD, "csrf_token": token}
        assert client.post("/console/login", data=login).status_code == 303
        page = client.get("/console/totp")
        assert page.status_code == 200
        state.update(
            client=client,
            secret=_secret_of(page.get_data(as_text=True)),
            token=csrf_token(client, "/console/totp"),
            other=csrf_token(site.client(), "/console/login"),
        )

    def enabled() -> bool:
        return bool(site.scalar(select(User.totp_enabled).where(User.id == console.newcomer_id)))

    @fuzz_settings(examples)
    @given(case=totp_cases())
    def check(case: TotpCase) -> None:
        if state["client"] is None:
            log_in_newcomer()
        client, secret = state["client"], state["secret"]
        now = time.time()
        code = pyotp.TOTP(secret).at(now)
        window = {pyotp.TOTP(secret).at(now + d) for d in (-60, -30, 0, 30, 60)}
        if case.spaced:
            code = f"{code[:3]} {code[3:]}"
        value: str | bytes | None = {
            "none": code,
            "csrf": code,
            "wrong": next(f"{n:06d}" for n in range(10**6) if f"{n:06d}" not in window),
            "junk": "".join(ch for ch in case.junk if not ch.isdigit())[:12] or "x",
            "long": code + "0" * 7,
            "empty": "",
            "missing": None,
            "arabic": code.translate(str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")),
            "nul": "\x00" * 6,
        }[case.fault]
        pairs: Pairs = [] if value is None else [("code", value)]
        if case.fault == "csrf":
            pairs = broken_token(case.csrf, state["token"], state["other"], case.junk) + pairs  # type: ignore[operator]
        else:
            pairs.insert(0, ("csrf_token", state["token"]))
        body, content_type = encode_form(render_pairs(pairs), case.encoding)
        before = site.counts()
        response = client.post("/console/totp", data=body, content_type=content_type)
        after = site.counts()
        what = f"{case} -> {response.status_code}"
        no_server_error(response, errors, what)
        if case.fault == "none":
            outcomes["turned on"] += 1
            assert response.status_code == 303, what
            assert enabled(), what
            assert changes(before, after) == {"audit_log": 1}, what
            state["client"] = None  # the session version changed: log in again
        else:
            outcomes["refused"] += 1
            assert response.status_code in {400, 422}, what
            assert not enabled(), what
            assert changes(before, after) == {}, what

    check()
    report(f"second factor setup ({engine})", sum(outcomes.values()), started)
    print(f"  {outcomes}")
    assert outcomes["turned on"] > 0 and outcomes["refused"] > examples // 2


# -- 4. The paper-signature CSV import


@dataclass
class PaperCase:
    slug: str
    header: list[str]
    rows: list[list[Any]]  # cells: str, or UniqueEmail / ("name", text) rendered when sent
    valid_rows: int
    duplicate_rows: int
    invalid_rows: int
    file_fault: str
    bom: bool
    delimiter: str
    newline: str
    filename: str
    csrf: str = "good"
    junk: str = ""
    position: int = 0
    raw: bytes | None = None
    # Valid rows with an email: stored pending, confirmed by their owner.
    emailed_rows: int = 0


PAPER_COLUMNS = ("full_name", "email", "phone", "country", "region", "amount", "show_name",
                 "deliver_name", "contact_ok")
YES_NO = ("", "yes", "no", "1", "0", "نعم", "لا", "evet", "hayır", "erê", "na", "x", "✓")
# Cells are cleaned (NFKC, no bidi) before they are read: "²" would read as 2.
PAPER_BAD_AMOUNTS = tuple(a for a in BAD_AMOUNTS if a not in {"²", "\u202e5"})
PAPER_NOT_COUNTRIES = ("SYR", "S", "QQ", "XY", "AA", "١٢", "سوريا", "S Y", "S\x00Y", "S-Y")
ROW_FAULTS = (
    "name_missing", "name_too_long", "country_missing", "country_unknown", "region_missing",
    "region_too_long", "email_invalid", "email_too_long", "example_row", "phone_invalid",
    "phone_too_long", "amount_invalid", "show_name_invalid", "extra_cells",
)
FILE_FAULTS = (
    "bad_utf8", "utf16", "empty", "header_only", "unknown_column", "repeated_column",
    "missing_column", "open_quote", "too_large", "too_many_rows", "no_file", "no_filename",
    "csrf", "blank_rows_only",
)


@dataclass(frozen=True)
class UniqueName:
    text: str


@st.composite
def paper_row(draw: st.DrawFn, pledge: bool, columns: list[str]) -> tuple[dict[str, Any], str]:
    """A row of a valid signer, and the fault (or "none") it was given."""
    country = draw(st.sampled_from(PHONE_COUNTRIES))
    with_email = draw(st.booleans())
    row: dict[str, Any] = {
        "full_name": UniqueName(draw(sprinkled(draw(visible_text(60)), 15))),
        "email": draw(unique_email()) if with_email else "",
        "phone": typed_phone(country, draw(st.integers(0, 2))) if draw(st.booleans()) else "",
        "country": draw(st.sampled_from((country, country.lower(), f" {country} "))),
        "region": draw(sprinkled(draw(visible_text(60)), 15)),
        "amount": str(draw(st.integers(1, PLEDGE_CAP))) if pledge else draw(JUNK),
        "show_name": draw(st.sampled_from(YES_NO)),
        "deliver_name": draw(st.sampled_from(YES_NO)),
        "contact_ok": draw(st.sampled_from(YES_NO)),
    }
    fault = "none" if draw(st.integers(0, 2)) else draw(st.sampled_from(ROW_FAULTS))
    if fault == "amount_invalid" and not pledge:
        fault = "country_unknown"
    if fault == "email_too_long":
        row["email"] = "a" * draw(st.integers(250, 400)) + "@example.org"
    elif fault == "name_missing":
        row["full_name"] = draw(blank_text())
    elif fault == "name_too_long":
        row["full_name"] = "ز" * draw(st.integers(101, 1000))
    elif fault == "country_missing":
        row["country"] = draw(blank_text())
    elif fault == "country_unknown":
        row["country"] = draw(st.sampled_from(PAPER_NOT_COUNTRIES))
    elif fault == "region_missing":
        row["region"] = draw(blank_text())
    elif fault == "region_too_long":
        row["region"] = "حلب" * draw(st.integers(27, 300))
    elif fault == "email_invalid":
        row["email"] = draw(st.sampled_from(BAD_EMAILS[:-1]))
    elif fault == "example_row":
        row["email"] = "Ahmad.Example@example.org"
    elif fault == "phone_invalid":
        row["phone"] = draw(st.sampled_from(BAD_PHONES))
    elif fault == "phone_too_long":
        row["phone"] = "1" * draw(st.integers(33, 90))
    elif fault == "amount_invalid":
        row["amount"] = draw(st.sampled_from(PAPER_BAD_AMOUNTS))
    elif fault == "show_name_invalid":
        row["show_name"] = draw(st.sampled_from(("maybe", "نعمم", "2", "yess", "y e s")))
    return row, fault


@st.composite
def paper_cases(draw: st.DrawFn) -> PaperCase:
    pledge = draw(st.booleans())
    required = ["full_name", "country", "region"] + (["amount"] if pledge else [])
    optional = [c for c in PAPER_COLUMNS if c not in required]
    columns = required + draw(st.lists(st.sampled_from(optional), unique=True))
    columns = list(draw(st.permutations(columns)))
    rows: list[list[Any]] = []
    valid = duplicates = invalid = emailed = 0
    for _ in range(draw(st.integers(1, 6))):
        row, fault = draw(paper_row(pledge, columns))
        if fault == "none":
            emailed += 1 if "email" in columns and row["email"] else 0
            # An omitted column means "empty": make the row say so.
            if "show_name" not in columns:
                row["show_name"] = ""
            if "contact_ok" not in columns:
                row["contact_ok"] = ""
            cells = [row[c] for c in columns]
            valid += 1
            rows.append(cells)
            if draw(st.integers(0, 5)) == 0:
                rows.append(["<same>"])  # the same person again, in the file
                duplicates += 1
            continue
        if fault in {"email_invalid", "email_too_long", "example_row"} and "email" not in columns:
            fault = "country_unknown"
            row["country"] = "QQ"
        if fault in {"phone_invalid", "phone_too_long"} and "phone" not in columns:
            fault = "region_missing"
            row["region"] = ""
        if fault == "show_name_invalid" and "show_name" not in columns:
            fault = "name_missing"
            row["full_name"] = ""
        cells = [row[c] for c in columns]
        if fault == "extra_cells":
            cells.append(draw(st.text(st.sampled_from("abcاب"), min_size=1, max_size=9)))
        rows.append(cells)
        invalid += 1
    header = [draw(st.sampled_from((c, c.upper(), c.replace("_", " ")))) for c in columns]
    case = PaperCase(
        slug=PLEDGE if pledge else PETITION,
        header=header,
        rows=rows,
        valid_rows=valid,
        duplicate_rows=duplicates,
        invalid_rows=invalid,
        file_fault="none",
        emailed_rows=emailed,
        bom=draw(st.booleans()),
        delimiter=draw(st.sampled_from((",", ",", ";", "\t"))),
        newline=draw(st.sampled_from(("\r\n", "\n"))),
        filename=draw(st.sampled_from(("paper.csv", "توقيعات.csv", "a\u202evsc.exe", "x\x00.csv"))
                      | st.text(JUNK_CHAR, min_size=1, max_size=300)),
        junk=draw(JUNK),
        position=draw(st.integers(0, 10**6)),
    )
    if draw(st.integers(0, 2)) == 0:
        case.file_fault = draw(st.sampled_from(FILE_FAULTS))
        if case.file_fault == "csrf":
            case.csrf = draw(st.sampled_from(CSRF_MODES))
    return case


def _csv_text(rows: list[list[str]], delimiter: str, newline: str) -> str:
    import csv
    import io

    buffer = io.StringIO()
    # A spreadsheet quotes a cell holding a line break; with LF endings the csv
    # module would not quote a lone CR, so quote every cell then.
    quoting = csv.QUOTE_ALL if newline == "\n" else csv.QUOTE_MINIMAL
    csv.writer(buffer, delimiter=delimiter, lineterminator=newline, quoting=quoting).writerows(
        rows
    )
    return buffer.getvalue()


def render_paper(case: PaperCase) -> bytes:
    """The file an organizer (or an attacker) uploads, with the case's fault."""
    rendered: list[list[str]] = []
    for cells in case.rows:
        if cells == ["<same>"]:
            previous = next(r for r in reversed(rendered) if r is not None)
            rendered.append(list(previous))
            continue
        out = []
        for cell in cells:
            if isinstance(cell, UniqueEmail):
                out.append(cell.render())
            elif isinstance(cell, UniqueName):
                out.append(f"{cell.text} {next_person()}")
            else:
                out.append(cell)
        rendered.append(out)
    header = list(case.header)
    fault = case.file_fault
    if fault == "unknown_column":
        header.append(case.junk.strip().replace('"', "") + "zz" or "zz")
    elif fault == "repeated_column":
        header.append(header[0])
    elif fault == "missing_column":
        drop = "region"
        header = [h for h in header if h.lower().replace(" ", "_") != drop]
        rendered = [r[: len(header)] for r in rendered]
    if fault == "empty":
        return b"" if case.bom else b"\xef\xbb\xbf"
    body = _csv_text([header] + ([] if fault == "header_only" else rendered), case.delimiter,
                     case.newline)
    if fault == "blank_rows_only":
        body = _csv_text([header], case.delimiter, case.newline) + (
            case.delimiter * 3 + case.newline
        ) * 3
    if fault == "open_quote":
        body += '"' + "".join(ch for ch in case.junk if ch != '"') + case.newline
    if fault == "too_many_rows":
        row = case.delimiter.join(["x"] * len(header)) + case.newline
        body += row * 20_001
    data = ("\ufeff" if case.bom else "").encode() + body.encode("utf-8")
    if fault == "bad_utf8":
        at = case.position % (len(data) + 1)
        data = data[:at] + BAD_UTF8[case.position % len(BAD_UTF8)] + data[at:]
    elif fault == "utf16":
        data = body.encode("utf-16")
    elif fault == "too_large":
        data += b" " * (5 * 1024 * 1024 + 1 - len(data) + case.position % 200_000)
    return data


@pytest.mark.parametrize(("engine", "examples"), RUNS)
def test_paper_import_stores_exactly_the_valid_rows_of_a_readable_file(
    sites: Callable[[str], Site], errors: ErrorLog, engine: str, examples: int
) -> None:
    site = sites(engine)
    client = console_client(site)
    good = csrf_token(client, f"/console/campaigns/{PETITION}/paper")
    other = csrf_token(site.client(), "/console/login")
    figures = {"files": 0, "imported": 0, "refused": 0, "rows accepted": 0, "rows rejected": 0,
               "rows duplicate": 0}
    started = time.monotonic()
    # Counts are refreshed by the import itself: those tables may change.
    derived = {"campaign_counts", "country_counts", "daily_counts", "region_counts", "job_locks",
               "ledger_events"}

    @fuzz_settings(examples)
    @given(case=paper_cases())
    def check(case: PaperCase) -> None:
        data = render_paper(case)
        pairs: list[tuple[bytes, bytes]] = []
        token_pairs = (
            [("csrf_token", good)] if case.csrf == "good"
            else broken_token(case.csrf, good, other, case.junk)
        )
        pairs += render_pairs(token_pairs)  # type: ignore[arg-type]
        body, content_type = multipart(pairs)
        if case.file_fault != "no_file":
            filename = "" if case.file_fault == "no_filename" else case.filename
            safe = filename.replace('"', "%22").replace("\r", " ").replace("\n", " ")
            part = (
                b'Content-Disposition: form-data; name="file"; filename="'
                + safe.encode("utf-8", "surrogatepass") + b'"\r\nContent-Type: text/csv\r\n\r\n'
            )
            boundary = content_type.split("boundary=", 1)[1].encode()
            body = body[: -len(boundary) - 6] + b"--" + boundary + b"\r\n" + part + data + (
                b"\r\n--" + boundary + b"--\r\n"
            )
        before = site.counts()
        imports_before = int(site.scalar(select(db.func.max(PaperImport.id))) or 0)
        response = client.post(
            f"/console/campaigns/{case.slug}/paper", data=body, content_type=content_type
        )
        after = site.counts()
        figures["files"] += 1
        what = (f"{case.file_fault} rows={case.valid_rows}/{case.duplicate_rows}/"
                f"{case.invalid_rows} -> {response.status_code}\n{data[:3000]!r}")
        no_server_error(response, errors, what)
        delta = {k: v for k, v in changes(before, after).items() if k not in derived}
        if case.file_fault == "none":
            figures["imported"] += 1
            assert response.status_code == 303, what
            expected = {"paper_imports": 1, "audit_log": 1}
            if case.valid_rows:
                expected["signatures"] = case.valid_rows
            if case.emailed_rows:
                expected["outbox"] = case.emailed_rows  # their validation tasks
            assert delta == expected, (what, delta)
            with site.context():
                made = db.session.execute(
                    select(PaperImport).where(PaperImport.id > imports_before)
                ).scalar_one()
                assert (made.accepted, made.duplicates, made.rejected) == (
                    case.valid_rows, case.duplicate_rows, case.invalid_rows
                ), (what, made.report)
                # On paper: without an email validated at once (signed in
                # person), with one pending until its owner confirms.
                stored = db.session.execute(
                    select(Signature.source, Signature.state)
                    .order_by(Signature.id.desc())
                    .limit(case.valid_rows)
                ).all()
                assert sorted((source.value, state.value) for source, state in stored) == sorted(
                    [("paper", "pending")] * case.emailed_rows
                    + [("paper", "validated")] * (case.valid_rows - case.emailed_rows)
                ), what
            figures["rows accepted"] += case.valid_rows
            figures["rows rejected"] += case.invalid_rows
            figures["rows duplicate"] += case.duplicate_rows
        else:
            figures["refused"] += 1
            expected_status = {
                "csrf": {400}, "too_large": {413}, "too_many_rows": {413},
            }.get(case.file_fault, {422})
            assert response.status_code in expected_status, what
            assert changes(before, after) == {}, what

    check()
    report(f"paper CSV import ({engine})", figures["files"], started)
    print(f"  {figures}")
    assert figures["imported"] > examples // 4 and figures["refused"] > examples // 10


# -- 5. The JSON API


@dataclass
class ApiCase:
    method: str
    route: str  # list, detail, count, openapi, junk
    slug: str
    real_slug: bool
    query: bytes
    etag: str  # how If-None-Match is made: none, match, weak, star, list, junk
    junk: str
    headers: dict[str, str] = field(default_factory=dict)


@st.composite
def api_cases(draw: st.DrawFn) -> ApiCase:
    real = draw(st.booleans())
    slug = draw(st.sampled_from((PETITION, PLEDGE))) if real else draw(
        st.one_of(
            st.text(JUNK_CHAR, min_size=1, max_size=60),
            st.sampled_from(("..", ".", "%", "\x00", "' OR 1=1 --", "زيتون", "\u202ehrc",
                             PETITION.upper(), PETITION + "\x00", "a" * 5000)),
        ).filter(lambda s: s not in {PETITION, PLEDGE} and "/" not in s)
    )
    query_pairs = draw(st.lists(st.tuples(JUNK, JUNK), max_size=3))
    query = b"&".join(
        quote(k).encode() + b"=" + quote(v).encode() for k, v in query_pairs
    )
    if draw(st.booleans()):
        query += b"&x=%FF%FE%00" + draw(st.sampled_from((b"", b"%C0%AF", b"%ED%A0%80")))
    headers = {}
    for name in ("Accept", "Accept-Encoding", "Origin", "Accept-Language", "Range",
                 "If-Modified-Since", "X-Forwarded-For"):
        if draw(st.integers(0, 3)) == 0:
            value = draw(st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=80))
            headers[name] = value
    headers.setdefault("Accept-Encoding", "identity")
    return ApiCase(
        method=draw(st.sampled_from(
            ("GET", "GET", "GET", "HEAD", "OPTIONS", "POST", "PUT", "DELETE", "PATCH", "FOO")
        )),
        route=draw(st.sampled_from(("list", "detail", "count", "count", "openapi", "junk"))),
        slug=slug,
        real_slug=real,
        query=query,
        etag=draw(st.sampled_from(("none", "match", "weak", "star", "list", "junk", "stale"))),
        junk=draw(st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=60)),
        headers=headers,
    )


def api_path(case: ApiCase) -> str:
    slug = quote(case.slug, safe="")
    return {
        "list": "/api/v1/campaigns",
        "detail": f"/api/v1/campaigns/{slug}",
        "count": f"/api/v1/campaigns/{slug}/count",
        "openapi": "/api/v1/openapi.json",
        "junk": f"/api/v1/zz-{slug}/{slug}",
    }[case.route]


@pytest.mark.parametrize(("engine", "examples"), RUNS)
def test_api_answers_every_request_without_error_or_personal_data(
    sites: Callable[[str], Site], errors: ErrorLog, engine: str, examples: int
) -> None:
    site = sites(engine)
    # Signers whose name and email must never appear in an answer.
    marker = f"secret-signer-{uuid.uuid4().hex[:8]}"
    with site.context():
        campaign = db.session.execute(
            select(Campaign).where(Campaign.slug == PETITION)
        ).scalar_one()
        for i in range(6):
            create_signature(
                campaign, state=SignatureState.validated, name=f"{marker} رامي",
                email=f"{marker}-{i}@example.org", show_name=True,
            )
        from campaigns.counting.services import update_signature_counts

        update_signature_counts()
        db.session.commit()
    client = site.client()
    statuses: dict[int, int] = {}
    # Nothing changes during the test, so neither do the answers' ETags.
    etags: dict[str, str] = {}
    started = time.monotonic()

    @fuzz_settings(examples)
    @given(case=api_cases())
    def check(case: ApiCase) -> None:
        path = api_path(case)
        known = case.route in {"list", "openapi"} or (
            case.route in {"detail", "count"} and case.real_slug
        )
        if path not in etags:
            current = client.get(path, headers={"Accept-Encoding": "identity"})
            etags[path] = current.headers.get("ETag", '"none"')
        etag = etags[path]
        headers = dict(case.headers)
        inm = {
            "none": None,
            "match": etag,
            "weak": f"W/{etag}",
            "star": "*",
            "list": f'"abc", {etag}, W/"def"',
            "junk": case.junk if case.junk.strip() != "*" else "x",
            "stale": '"0123456789abcdef0123456789abcdef"',
        }[case.etag]
        if inm is not None:
            headers["If-None-Match"] = inm
        before = site.counts()
        response = client.open(
            f"{path}?{case.query.decode('ascii')}", method=case.method, headers=headers,
            data=case.junk.encode() if case.method in {"POST", "PUT", "PATCH"} else None,
        )
        after = site.counts()
        what = f"{case.method} {path[:100]!r} ?{case.query[:60]!r} {headers} -> " + str(
            response.status_code
        )
        no_server_error(response, errors, what)
        statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
        assert changes(before, after) == {}, what
        assert response.headers.get("Access-Control-Allow-Origin") == "*", what
        raw = response.get_data()
        encoding = response.headers.get("Content-Encoding")
        if encoding == "gzip":
            raw = gzip.decompress(raw)
        elif encoding == "br":
            raw = brotli.decompress(raw)
        assert marker.encode() not in raw, what
        matches = case.etag in {"match", "weak", "star", "list"}
        # No URL holds a NUL: such a path is nowhere, whatever the method.
        nowhere = case.route == "junk" or (
            "\x00" in case.slug and case.route in {"detail", "count"}
        )
        if case.method in {"GET", "HEAD"}:
            if known:
                assert response.status_code == (304 if matches else 200), what
                if response.status_code == 200 and case.method == "GET":
                    assert response.is_json and json.loads(raw) is not None, what
            else:
                assert response.status_code == 404, what
                if case.method == "GET":
                    assert json.loads(raw) == {"error": "not_found"}, what
        elif nowhere:
            assert response.status_code == 404, what
        elif case.method == "OPTIONS":
            assert response.status_code == 200, what
        else:
            assert response.status_code == 405, what

    check()
    report(f"JSON API ({engine})", sum(statuses.values()), started)
    print(f"  statuses {dict(sorted(statuses.items()))}")
    assert statuses.get(200, 0) > 0 and statuses.get(304, 0) > 0 and statuses.get(404, 0) > 0


# -- 6. The neutral page ("Leave quickly" from a sensitive campaign)


@dataclass
class NeutralCase:
    method: str
    lang: str
    real_lang: bool
    query: str
    headers: dict[str, str]


@st.composite
def neutral_cases(draw: st.DrawFn) -> NeutralCase:
    real = draw(st.booleans())
    lang = draw(st.sampled_from(LANGUAGES)) if real else draw(
        st.one_of(
            st.text(JUNK_CHAR, min_size=1, max_size=30),
            st.sampled_from(("AR", "ar-SY", "..", "%", "\x00", "xx", "static", "api", "ع")),
        ).filter(lambda s: s not in LANGUAGES and "/" not in s and s not in {".", ".."})
    )
    query = "&".join(
        f"{quote(k)}={quote(v)}" for k, v in draw(st.lists(st.tuples(JUNK, JUNK), max_size=3))
    )
    headers = {"Accept-Encoding": "identity"}
    for name in ("Cookie", "Accept-Language", "Referer", "If-Modified-Since", "Range"):
        if draw(st.integers(0, 2)) == 0:
            value = draw(st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=80))
            headers[name] = value
    method = draw(st.sampled_from(("GET", "GET", "GET", "HEAD", "OPTIONS", "POST", "PUT", "FOO")))
    return NeutralCase(method, lang, real, query, headers)


@pytest.mark.parametrize(("engine", "examples"), RUNS)
def test_the_neutral_page_answers_anything_with_nothing_of_ours(
    sites: Callable[[str], Site], errors: ErrorLog, engine: str, examples: int
) -> None:
    site = sites(engine)
    client = site.client()
    brand = ("Zaytoun", "زيتون", "Aleppo", "حلب", "/static/", "<a ", "<script", "<form")
    statuses: dict[int, int] = {}
    started = time.monotonic()

    @fuzz_settings(examples)
    @given(case=neutral_cases())
    def check(case: NeutralCase) -> None:
        path = f"/{quote(case.lang, safe='')}/today"
        before = site.counts()
        response = client.open(f"{path}?{case.query}", method=case.method, headers=case.headers)
        after = site.counts()
        what = f"{case.method} {path[:80]!r} ?{case.query[:60]!r} {case.headers} -> " + str(
            response.status_code
        )
        no_server_error(response, errors, what)
        statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
        assert changes(before, after) == {}, what
        if not case.real_lang:
            assert response.status_code in {404, 405}, what
            return
        if case.method in {"GET", "HEAD"}:
            assert response.status_code == 200, what
            assert not response.headers.getlist("Set-Cookie"), what
            assert response.headers["Referrer-Policy"] == "no-referrer", what
            body = response.get_data(as_text=True)
            for word in brand:
                assert word not in body, (word, what)
        elif case.method == "OPTIONS":
            assert response.status_code == 200, what
        else:
            assert response.status_code == 405, what

    check()
    report(f"neutral page ({engine})", sum(statuses.values()), started)
    print(f"  statuses {dict(sorted(statuses.items()))}")
    assert statuses.get(200, 0) > 0 and statuses.get(404, 0) > 0


# -- 7. The two-person rule: asking to open personal data, and using a grant

DISCLOSURE_KINDS = ("export_personal", "reveal_names", "delivery_names")
NOT_KINDS = ("", "Export_personal", "export", "reveal_names ", "delivery_full_names", "ز")


@dataclass
class DisclosureCase:
    kind: str
    kind_fault: str  # none, junk, missing
    campaign_fault: str  # none, all (valid for reveal_names only), junk, missing
    reason: str
    reason_fault: str  # none, blank, invisible, long, control, missing
    csrf: str
    encoding: str
    junk: str

    @property
    def valid(self) -> bool:
        campaign_ok = self.campaign_fault == "none" or (
            self.campaign_fault == "all" and self.kind == "reveal_names"
        )
        return (
            self.kind_fault == "none"
            and campaign_ok
            and self.reason_fault == "none"
            and self.csrf == "good"
        )


@st.composite
def disclosure_cases(draw: st.DrawFn) -> DisclosureCase:
    valid = draw(st.integers(0, 2)) == 0
    return DisclosureCase(
        kind=draw(st.sampled_from(DISCLOSURE_KINDS)),
        kind_fault="none" if valid else draw(st.sampled_from(("none", "junk", "missing"))),
        campaign_fault=draw(st.sampled_from(("none", "all")))
        if valid
        else draw(st.sampled_from(("none", "all", "junk", "missing"))),
        reason=draw(visible_text(200)),
        reason_fault="none"
        if valid
        else draw(st.sampled_from(("none", "blank", "invisible", "long", "control", "missing"))),
        csrf="good" if valid or draw(st.integers(0, 2)) else draw(st.sampled_from(CSRF_MODES)),
        encoding=draw(st.sampled_from(("urlencoded", "raw", "multipart"))),
        junk=draw(JUNK),
    )


def disclosure_pairs(case: DisclosureCase) -> Pairs:
    pairs: Pairs = []
    kind = {
        "none": case.kind,
        "junk": next(k for k in (*NOT_KINDS, case.junk + "x") if k not in DISCLOSURE_KINDS),
    }.get(case.kind_fault)
    if kind is not None:
        pairs.append(("kind", kind))
    campaign = {"none": PETITION, "all": "", "junk": case.junk[:20] + "-no-such"}.get(
        case.campaign_fault
    )
    if campaign is not None:
        pairs.append(("campaign", campaign))
    reason: str | bytes | None = {
        "none": case.reason,
        "blank": " \u200b\t ",
        "long": case.reason + "ز" * 501,
        "control": case.reason + "\x00",
        "invisible": "\u202e\u2066\u200d\ufeff",
    }.get(case.reason_fault)
    if reason is not None:
        pairs.append(("reason", reason))
    return pairs


def console_client(site: Site, role: str = "organizer") -> Any:
    """A client logged in through the login form as the site's ``organizer``
    or ``admin`` (with its second factor), after a clean slate."""
    console = console_accounts(site)
    clean_slate(site)
    client = site.client()
    login = {
        "email": getattr(console, role),
        "password": ACCOUNT_PASSWORD,
        "code": pyotp.TOTP(getattr(console, f"{role}_secret")).now(),
        "csrf_token": csrf_token(client, "/console/login"),
    }
    assert client.post("/console/login", data=login).status_code == 303
    return client


@pytest.mark.parametrize(("engine", "examples"), RUNS)
def test_a_request_to_open_personal_data_is_recorded_only_when_valid(
    sites: Callable[[str], Site], errors: ErrorLog, engine: str, examples: int
) -> None:
    site = sites(engine)
    client = console_client(site, "admin")
    good = csrf_token(client, "/console/disclosures/new")
    other = csrf_token(site.client(), "/console/login")
    outcomes = {"recorded": 0, "refused": 0}
    started = time.monotonic()

    @fuzz_settings(examples)
    @given(case=disclosure_cases())
    def check(case: DisclosureCase) -> None:
        pairs = disclosure_pairs(case)
        if case.csrf == "good":
            pairs.insert(0, ("csrf_token", good))
        else:
            pairs = broken_token(case.csrf, good, other, case.junk) + pairs  # type: ignore[operator]
        body, content_type = encode_form(render_pairs(pairs), case.encoding)
        before = site.counts()
        response = client.post("/console/disclosures/new", data=body, content_type=content_type)
        after = site.counts()
        what = f"{case} -> {response.status_code} {shown_errors(response)}"
        no_server_error(response, errors, what)
        if case.valid and not undecodable(body, case.encoding):
            outcomes["recorded"] += 1
            assert response.status_code == 303, what
            assert changes(before, after) == {"disclosure_requests": 1, "audit_log": 1}, what
        else:
            outcomes["refused"] += 1
            assert response.status_code in {400, 403, 404, 422}, what
            assert changes(before, after) == {}, what

    check()
    report(f"disclosure requests ({engine})", sum(outcomes.values()), started)
    print(f"  {outcomes}")
    assert outcomes["recorded"] > 0 and outcomes["refused"] > examples // 2


@dataclass
class GrantCase:
    fault: str  # tampered, junk, empty, missing, bad_utf8, other_request, csrf
    position: int
    csrf: str
    encoding: str
    junk: str


@st.composite
def grant_cases(draw: st.DrawFn) -> GrantCase:
    return GrantCase(
        fault=draw(st.sampled_from(
            ("tampered", "junk", "empty", "missing", "bad_utf8", "other_request", "csrf")
        )),
        position=draw(st.integers(0, 42)),
        csrf=draw(st.sampled_from(CSRF_MODES)),
        encoding=draw(st.sampled_from(("urlencoded", "raw", "multipart"))),
        junk=draw(JUNK),
    )


@pytest.mark.parametrize(("engine", "examples"), RUNS)
def test_only_the_grant_itself_opens_personal_data_and_only_once(
    sites: Callable[[str], Site], errors: ErrorLog, engine: str, examples: int
) -> None:
    site = sites(engine)
    console = console_accounts(site)
    client = console_client(site, "admin")
    grant = secrets.token_urlsafe(32)
    other_grant = secrets.token_urlsafe(32)
    with site.context():
        requester = db.session.execute(
            select(User.id).where(User.email == console.admin)
        ).scalar_one()
        campaign_id = db.session.execute(
            select(Campaign.id).where(Campaign.slug == PETITION)
        ).scalar_one()
        items = []
        for token in (grant, other_grant):
            item = DisclosureRequest(
                kind=DisclosureKind.export_personal,
                campaign_id=campaign_id,
                requester_id=requester,
                reason="fuzz",
                state=DisclosureState.approved,
                decided_by_id=console.newcomer_id,
                decided_at=utcnow(),
                grant_hash=grant_hash(token),
                grant_expires_at=utcnow() + timedelta(hours=1),
            )
            db.session.add(item)
            db.session.flush()
            items.append(item.id)
        db.session.commit()
    url = f"/console/disclosures/{items[0]}/use"
    good = csrf_token(client, "/console/disclosures/new")
    other = csrf_token(site.client(), "/console/login")
    statuses: dict[int, int] = {}
    started = time.monotonic()

    def state() -> DisclosureState:
        found = site.scalar(select(DisclosureRequest.state).where(DisclosureRequest.id == items[0]))
        return DisclosureState(found) if not isinstance(found, DisclosureState) else found

    @fuzz_settings(examples)
    @given(case=grant_cases())
    def check(case: GrantCase) -> None:
        flipped = grant[case.position] + "x" if grant[case.position] != "x" else "y"
        token: str | bytes | None = {
            "tampered": grant[: case.position] + flipped[-1] + grant[case.position + 1 :],
            "junk": case.junk if case.junk != grant else case.junk + "x",
            "empty": "",
            "missing": None,
            "bad_utf8": grant.encode() + b"\xff",
            "other_request": other_grant,
            "csrf": grant,
        }[case.fault]
        pairs: Pairs = [] if token is None else [("token", token)]
        if case.fault == "csrf":
            pairs = broken_token(case.csrf, good, other, case.junk) + pairs  # type: ignore[operator]
        else:
            pairs.insert(0, ("csrf_token", good))
        body, content_type = encode_form(render_pairs(pairs), case.encoding)
        before = site.counts()
        response = client.post(url, data=body, content_type=content_type)
        after = site.counts()
        what = f"{case} -> {response.status_code}"
        no_server_error(response, errors, what)
        statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
        assert response.mimetype == "text/html", what
        assert state() is DisclosureState.approved, what
        if case.fault == "csrf" or undecodable(body, case.encoding):
            assert response.status_code == 400, what
            assert changes(before, after) == {}, what
        else:
            # Refused, and the refusal is in the audit log.
            assert response.status_code == 403, what
            assert changes(before, after) == {"audit_log": 1}, what

    check()
    # The grant itself: once.
    data = {"csrf_token": good, "token": grant}
    first = client.post(url, data=data)
    assert first.status_code == 200 and first.mimetype == "text/csv"
    assert b"created_at" in first.data  # streamed: read to the end
    assert client.post(url, data=data).status_code == 410
    assert state() is DisclosureState.used
    report(f"one-time grants ({engine})", sum(statuses.values()) + 2, started)
    print(f"  statuses {dict(sorted(statuses.items()))}")


# -- 8. Trusted networks (admins)


@dataclass
class NetworkCase:
    cidr: str
    cidr_valid: bool
    label: str
    label_valid: bool
    burst: str
    sustained: str
    csrf: str
    junk: str

    @property
    def limits_valid(self) -> bool:
        try:
            burst, sustained = int(self.burst), int(self.sustained)
        except ValueError:
            return False
        # The form's wave limit is RATE_WAVE_LIMIT (300 by default).
        return 1 <= burst < 300 and burst <= sustained <= 1_000_000

    @property
    def valid(self) -> bool:
        return (
            self.csrf == "good" and self.cidr_valid and self.label_valid and self.limits_valid
        )


_network_serial = iter(range(1, 10**9))


@st.composite
def network_cases(draw: st.DrawFn) -> NetworkCase:
    n = next(_network_serial)
    # One case in four is valid by construction, whatever else is drawn: the
    # run always declares enough networks to show that valid ones go through.
    valid = draw(st.integers(0, 3)) == 0
    kinds = ("v4", "v6", "v4-host-bits") if valid else ("v4", "v6", "v4-host-bits", "junk",
                                                        "too-wide", "blank")
    kind = draw(st.sampled_from(kinds))
    if kind == "v4":
        cidr, ok = f"10.{n % 256}.{n // 256 % 256}.0/24", True
    elif kind == "v6":
        cidr, ok = f"2001:db8:{n:x}::/48", True
    elif kind == "v4-host-bits":
        cidr, ok = f"172.{16 + n % 16}.{n // 16 % 256}.{draw(st.integers(1, 255))}/24", True
    elif kind == "too-wide":
        cidr, ok = draw(st.sampled_from(("0.0.0.0/0", "10.0.0.0/7", "::/0", "2001::/16"))), False
    elif kind == "blank":
        cidr, ok = draw(blank_text()), False
    else:
        cidr = draw(st.one_of(
            st.text(JUNK_CHAR, max_size=70),
            st.sampled_from(("10.0.0.0/33", "300.1.1.1/24", "::ffff:10.0.0.0/104",
                             "10.0.0.0/24\x00", "1.2.3.4/24/8", "fe80::/10%eth0")),
        ))
        ok = False
    label_kind = "visible" if valid else draw(st.sampled_from(("visible", "visible", "blank",
                                                                   "control")))
    label = draw(blank_text()) if label_kind == "blank" else draw(visible_text(100))
    if label_kind == "control":
        label += draw(st.sampled_from(REFUSED_CONTROLS)) + label
    number = st.one_of(
        st.integers(-5, 2_000_000).map(str), st.sampled_from(("", "1e3", "٣٠", " 5 ", "0x10")),
    )
    if valid or draw(st.booleans()):
        burst = draw(st.integers(1, 299))
        sustained = draw(st.integers(burst, 100_000))
        burst_text, sustained_text = str(burst), str(sustained)
    else:
        burst_text, sustained_text = draw(number), draw(number)
    return NetworkCase(
        cidr=cidr, cidr_valid=ok, label=label, label_valid=label_kind == "visible",
        burst=burst_text, sustained=sustained_text,
        csrf="good" if valid else draw(st.sampled_from(("good",) * 12 + tuple(CSRF_MODES))),
        junk=draw(st.text(JUNK_CHAR, max_size=20)),
    )




@pytest.mark.parametrize(("engine", "examples"), RUNS)
def test_trusted_network_form_declares_exactly_the_valid_ranges(
    sites: Callable[[str], Site], errors: ErrorLog, engine: str, examples: int
) -> None:
    site = sites(engine)
    client = console_client(site, "admin")
    good = csrf_token(client, "/console/networks")
    other = csrf_token(site.client(), "/console/login")
    figures = {"sent": 0, "declared": 0, "refused": 0}
    started = time.monotonic()

    @fuzz_settings(examples)
    @given(case=network_cases())
    def check(case: NetworkCase) -> None:
        pairs = [("cidr", case.cidr), ("label", case.label), ("burst_limit", case.burst),
                 ("sustained_limit", case.sustained)]
        pairs += [("csrf_token", good)] if case.csrf == "good" else broken_token(
            case.csrf, good, other, case.junk
        )
        body, content_type = encode_form(render_pairs(pairs), "urlencoded")  # type: ignore[arg-type]
        before = site.counts()
        response = client.post("/console/networks", data=body, content_type=content_type)
        after = site.counts()
        figures["sent"] += 1
        what = f"{case} -> {response.status_code}"
        no_server_error(response, errors, what)
        if case.valid:
            figures["declared"] += 1
            assert response.status_code == 303, (what, shown_errors(response))
            assert changes(before, after) == {"trusted_networks": 1, "audit_log": 1}, what
        else:
            figures["refused"] += 1
            assert response.status_code in (400, 422), what
            assert changes(before, after) == {}, what

    check()
    report(f"trusted networks ({engine})", figures["sent"], started)
    print(f"  {figures}")
    # One case in four at least is valid by construction (a good range, a
    # visible label, both limits in range, the right token): ask for one in
    # ten, far from what a different draw can miss.
    assert figures["declared"] > examples // 10 and figures["refused"] > examples // 10


@st.composite
def tor_lists(draw: st.DrawFn) -> tuple[bytes, bool]:
    lines = draw(st.lists(st.one_of(
        st.ip_addresses().map(str),
        st.just("# Tor exits"),
        st.just(""),
        st.ip_addresses(v=4).map(lambda ip: f"ExitAddress {ip} 2026-12-05 03:00:00"),
    ), max_size=30))
    ok = any(line and not line.startswith("#") for line in lines)
    if draw(st.integers(0, 2)) == 0:
        lines.insert(draw(st.integers(0, len(lines))), draw(st.one_of(
            st.text(JUNK_CHAR, min_size=1, max_size=40).filter(
                lambda t: t.split("#")[0].strip() != "" and "\n" not in t and "\r" not in t
            ),
            st.sampled_from(("10.0.0.0/24", "1.2.3", "::g", "1.2.3.4 5.6.7.8")),
        )))
        ok = False
    data = "\n".join(lines).encode("utf-8", "surrogatepass")
    if draw(st.integers(0, 10)) == 0:
        data, ok = data + b"\xff\xfe", False
    return data, ok


@pytest.mark.parametrize(("engine", "examples"), RUNS)
def test_tor_upload_replaces_the_list_only_with_a_readable_file(
    sites: Callable[[str], Site], errors: ErrorLog, engine: str, examples: int
) -> None:
    from campaigns.models import TorExit

    site = sites(engine)
    client = console_client(site, "admin")
    good = csrf_token(client, "/console/networks")
    figures = {"sent": 0, "replaced": 0, "refused": 0}
    started = time.monotonic()

    @fuzz_settings(examples)
    @given(case=tor_lists())
    def check(case: tuple[bytes, bool]) -> None:
        data, ok = case
        with site.context():
            before = sorted(db.session.execute(select(TorExit.address)).scalars())
        response = client.post(
            "/console/networks/tor",
            data={"csrf_token": good, "file": (io.BytesIO(data), "exits.txt")},
            content_type="multipart/form-data",
        )
        figures["sent"] += 1
        what = f"{data[:500]!r} -> {response.status_code}"
        no_server_error(response, errors, what)
        with site.context():
            now = sorted(db.session.execute(select(TorExit.address)).scalars())
        if ok:
            figures["replaced"] += 1
            assert response.status_code == 303, what
            expected = {
                _mapped(line.split()[1] if line.startswith("ExitAddress") else line)
                for line in data.decode().splitlines()
                if line and not line.startswith("#")
            }
            assert set(now) == expected, what
        else:
            figures["refused"] += 1
            assert response.status_code == 422, what
            assert now == before, what

    check()
    report(f"Tor exit list ({engine})", figures["sent"], started)
    print(f"  {figures}")
    assert figures["replaced"] > examples // 10 and figures["refused"] > examples // 10


def _mapped(address: str) -> str:
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return str(ip.ipv4_mapped)
    return str(ip)


def test_fuzz_support_builds_the_bodies_it_claims(tmp_path: Path) -> None:
    """The hand-built bodies say what the cases think they say."""
    from werkzeug.datastructures import MultiDict
    from werkzeug.formparser import parse_form_data
    from werkzeug.test import EnvironBuilder

    pairs = [(b"full_name", "رامي\u202e".encode()), (b"email", b"a@b.org"), (b"email", b"x")]
    for encoding in ("urlencoded", "raw", "multipart"):
        body, content_type = encode_form(pairs, encoding)
        environ = EnvironBuilder(method="POST", data=body, content_type=content_type).get_environ()
        _, form, _ = parse_form_data(environ)
        assert isinstance(form, MultiDict)
        assert form.getlist("email") == ["a@b.org", "x"], encoding
        assert form["full_name"] == "رامي\u202e", encoding
