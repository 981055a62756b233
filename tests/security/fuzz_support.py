"""What the fuzz tests share: the app as deployed (CSRF on) on a seeded
database, table counts before and after each case, request bodies built byte by
byte, and the hostile text the cases are made of.

Validity is decided here, by construction, and not by reading the app's
answer: a case starts from a signer (or a login, a CSV row, a token) that is
valid by the documented rules, and a corruption makes it invalid in a way those
rules refuse."""

from __future__ import annotations

import re
import string
import uuid
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import phonenumbers
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import strategies as st
from sqlalchemy import func, select, text
from werkzeug.test import TestResponse

from campaigns import create_app
from campaigns.extensions import db
from campaigns.seed import seed
from tests.conftest import _empty_all_tables, base_config

PETITION = "no-russia-on-hrc"
PLEDGE = "olive-trees-afrin"  # "We are the olive trees": at most 50 trees a signer
PLEDGE_CAP = 50
LANGUAGES = ("ar", "ku", "tr", "en")

# Fuzz cases actually sent, per entry point (printed at the end of each test
# and by the module's summary).
CASES: Counter[str] = Counter()

# -- Hostile text

ARABIC = "ابتثجحخدذرزسشصضطظعغفقكلمنهويءآأؤإئةى"
LATIN = string.ascii_letters + "çêîûşÇÊÎÛŞğıİöüé"
DIGITS = string.digits + "٠١٢٣٤٥٦٧٨٩"
# Embeddings, overrides, isolates (U+2066-2069) and marks: removed by cleaning.
BIDI = (
    "\u202a", "\u202b", "\u202c", "\u202d", "\u202e",
    "\u2066", "\u2067", "\u2068", "\u2069", "\u200e", "\u200f", "\u061c",
)
ZERO_WIDTH = ("\u200b", "\u200d", "\ufeff", "\u00ad", "\u2060")
# Control characters: cleaning turns each into (at most) one space; a form
# refuses all of them but the tab (and line breaks in multi-line fields).
CONTROLS = ("\x00", "\x01", "\x07", "\x08", "\x0b", "\x1b", "\x7f", "\x85", "\t", "\n", "\r")
FORM_CONTROLS = ("\t",)
REFUSED_CONTROLS = tuple(c for c in CONTROLS if c not in FORM_CONTROLS)
INVISIBLE = BIDI + ZERO_WIDTH
# Bytes that are not UTF-8: a lone continuation byte, an overlong form, a
# surrogate, a truncated sequence, bytes never used.
BAD_UTF8 = (b"\xff", b"\xfe", b"\x80", b"\xc0\xaf", b"\xed\xa0\x80", b"\xe2\x82", b"\xf8\x88")

ARABIC_WORD = st.text(st.sampled_from(ARABIC), min_size=1, max_size=12)
LATIN_WORD = st.text(st.sampled_from(LATIN), min_size=1, max_size=12)
WORD = st.one_of(ARABIC_WORD, LATIN_WORD, st.text(st.sampled_from(DIGITS), min_size=1, max_size=4))
# Anything at all: every plane, plus the characters above made likely.
JUNK_CHAR = st.one_of(
    st.characters(codec="utf-8"),
    st.sampled_from(BIDI + ZERO_WIDTH + CONTROLS),
    st.sampled_from(ARABIC),
)
JUNK = st.text(JUNK_CHAR, max_size=40)


@st.composite
def visible_text(draw: st.DrawFn, max_len: int) -> str:
    """Words of Arabic, Latin (Kurdish, Turkish) and digits in mixed
    directions, single spaces, at most ``max_len`` characters, never empty."""
    words = draw(st.lists(WORD, min_size=1, max_size=8))
    value = " ".join(words)[:max_len].strip()
    return value or "ز"


@st.composite
def sprinkled(
    draw: st.DrawFn, value: str, max_inserts: int, controls: bool | tuple[str, ...] = True
) -> str:
    """``value`` with up to ``max_inserts`` invisible, bidi or control
    characters (all of them, none, or those given) inserted anywhere. Cleaning
    removes each one or turns it into one space, so the cleaned text is at most
    ``max_inserts`` longer."""
    chosen = CONTROLS if controls is True else controls or ()
    pool = INVISIBLE + chosen
    inserts = draw(
        st.lists(
            st.tuples(st.integers(0, len(value)), st.sampled_from(pool)), max_size=max_inserts
        )
    )
    chars = list(value)
    for position, char in sorted(inserts, reverse=True):
        chars.insert(position, char)
    return "".join(chars)


def blank_text() -> st.SearchStrategy[str]:
    """Text that cleans to nothing: spaces, controls, bidi and zero-width only."""
    return st.text(st.sampled_from((" ", "\u00a0", "\u3000", *INVISIBLE, *CONTROLS)), max_size=30)


# -- Phones: the numbering plan's own example numbers, in the forms people type.

PHONE_COUNTRIES = ("SY", "TR", "DE", "LB", "IQ", "JO", "FR", "SE", "GB", "US", "NL")
OTHER_COUNTRIES = ("SY", "TR", "DE", "LB", "IQ", "JO", "FR", "SE", "GB", "US", "NL")
NOT_COUNTRIES = ("sy", "Sy", "SYR", "S", "QQ", "XY", "AA", "SY ", " TR", "S\x00Y", "١٢", "سوريا")


def typed_phone(country: str, style: int) -> str:
    number = phonenumbers.example_number(country)
    if style == 0:
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)
    if style == 1:
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    # The same number in Arabic-Indic digits, as a phone in Arabic types it.
    return e164.translate(str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩"))


# -- Unique people: each valid case is a new signer, so that "exactly one row" holds.

_people = iter(range(1, 10**9))


def next_person() -> int:
    return next(_people)


@dataclass(frozen=True)
class UniqueEmail:
    """A placeholder for an address that no earlier case used; its number is
    drawn when the case is sent (hypothesis replays draws, not counters)."""

    local: str
    domain: str
    upper: bool = False

    def render(self) -> str:
        value = f"{self.local}-{next_person()}@{self.domain}"
        return value.upper() if self.upper else value


EMAIL_DOMAINS = ("example.org", "union.example.net", "مثال.سوريا", "posta.example.com.tr")
EMAIL_LOCALS = st.one_of(
    st.text(st.sampled_from(string.ascii_lowercase), min_size=1, max_size=20),
    st.text(st.sampled_from("رامياحلب"), min_size=1, max_size=10),
)
# Addresses that no mailbox can have: every one breaks RFC 5321/5322 syntax.
BAD_EMAILS = (
    "rami.example.org",
    "رامي.example.org",
    "a@@example.org",
    "@example.org",
    "rami@",
    "rami@localhost",
    "ra mi@example.org",
    "ra\x00mi@example.org",
    ".rami@example.org",
    "ra..mi@example.org",
    "rami@example..org",
    "rami@-example.org",
    "rami@exa mple.org",
    "rami@example.org@example.org",
    "<rami@example.org>",
    # (A 65-character local part, over RFC 5321's 64, is accepted by the app: left out.)
    "rami@" + "a" * 64 + ".org",
)


@st.composite
def unique_email(draw: st.DrawFn) -> UniqueEmail:
    return UniqueEmail(
        draw(EMAIL_LOCALS), draw(st.sampled_from(EMAIL_DOMAINS)), draw(st.booleans())
    )


# -- Request bodies, byte by byte

Value = str | bytes | UniqueEmail
Pairs = list[tuple[str | bytes, Value]]


def as_bytes(value: str | bytes | UniqueEmail) -> bytes:
    if isinstance(value, UniqueEmail):
        value = value.render()
    return value if isinstance(value, bytes) else value.encode("utf-8")


def _percent(data: bytes) -> bytes:
    safe = set(b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~")
    return b"".join(bytes([c]) if c in safe else b"%%%02X" % c for c in data)


def render_pairs(pairs: Pairs) -> list[tuple[bytes, bytes]]:
    return [(as_bytes(k), as_bytes(v)) for k, v in pairs]


def urlencoded(pairs: list[tuple[bytes, bytes]], raw: bool = False) -> bytes:
    """``application/x-www-form-urlencoded``; ``raw`` leaves non-ASCII bytes
    unescaped (as some clients send them), escaping only what would split pairs."""
    if raw:
        escape = {ord("&"): b"%26", ord("="): b"%3D", ord("%"): b"%25", ord("+"): b"%2B"}
        enc: Callable[[bytes], bytes] = lambda b: b"".join(  # noqa: E731
            escape.get(c, bytes([c])) for c in b
        )
    else:
        enc = _percent
    return b"&".join(enc(k) + b"=" + enc(v) for k, v in pairs)


def multipart(
    pairs: list[tuple[bytes, bytes]], files: Sequence[str] = (), boundary: str | None = None
) -> tuple[bytes, str]:
    """``multipart/form-data``; the named fields in ``files`` are sent as file parts."""
    boundary = boundary or f"zaytoun{uuid.uuid4().hex}"
    mark = boundary.encode()
    parts = []
    for key, value in pairs:
        name = key.replace(b'"', b"%22").replace(b"\r", b"%0D").replace(b"\n", b"%0A")
        disposition = b'Content-Disposition: form-data; name="' + name + b'"'
        head = disposition
        if key.decode("utf-8", "replace") in files:
            head += b'; filename="x.csv"\r\nContent-Type: text/csv'
        parts.append(b"--" + mark + b"\r\n" + head + b"\r\n\r\n" + value + b"\r\n")
    body = b"".join(parts) + b"--" + mark + b"--\r\n"
    return body, f"multipart/form-data; boundary={boundary}"


def encode_form(
    pairs: list[tuple[bytes, bytes]], encoding: str, files: Sequence[str] = ()
) -> tuple[bytes, str]:
    """The body and content type of a form in one of the encodings browsers
    (and attackers) use: ``urlencoded``, ``raw`` (unescaped bytes) or ``multipart``."""
    if encoding == "multipart":
        return multipart(pairs, files)
    return urlencoded(pairs, raw=encoding == "raw"), "application/x-www-form-urlencoded"


# -- Broken CSRF tokens

CSRF_MODES = ("missing", "empty", "junk", "tampered", "other_session", "duplicated_bad_first")


def broken_token(mode: str, good: str, other: str, junk: str) -> list[tuple[str, str]]:
    """The csrf_token pairs a forged or stale request would carry."""
    if mode == "missing":
        return []
    if mode == "empty":
        return [("csrf_token", "")]
    if mode == "junk":
        return [("csrf_token", junk or "x")]
    if mode == "tampered":
        # One character changed in the middle: the signature no longer matches.
        i = len(good) // 3
        return [("csrf_token", good[:i] + ("A" if good[i] != "A" else "B") + good[i + 1 :])]
    if mode == "other_session":
        return [("csrf_token", other)]
    # Two tokens, the forged one first: the form reads the first.
    return [("csrf_token", other), ("csrf_token", good)]


# -- The site


_CSRF_FIELD = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def csrf_token(client: FlaskClient, path: str) -> str:
    """The token of the form on ``path``, as a browser would read it."""
    response = client.get(path)
    assert response.status_code == 200, (path, response.status_code)
    found = _CSRF_FIELD.search(response.get_data(as_text=True))
    assert found, f"no csrf_token on {path}"
    return found.group(1)


@dataclass
class Site:
    app: Flask
    engine: str
    tables: list[str] = field(default_factory=list)

    @contextmanager
    def context(self) -> Iterator[None]:
        with self.app.app_context():
            try:
                yield
            finally:
                db.session.remove()

    def counts(self) -> dict[str, int]:
        """Rows in every table (the app's tables, all of them)."""
        query = " UNION ALL ".join(
            f"SELECT '{name}', count(*) FROM \"{name}\"" for name in self.tables
        )
        with self.context():
            return {name: int(n) for name, n in db.session.execute(text(query)).all()}

    def scalar(self, query: Any) -> Any:
        with self.context():
            return db.session.execute(query).scalar()

    def client(self) -> FlaskClient:
        return self.app.test_client()


def changes(before: dict[str, int], after: dict[str, int]) -> dict[str, int]:
    return {k: after[k] - before[k] for k in before if after[k] != before[k]}


def build_site(tmp: Path, database_url: str, engine: str) -> Site:
    """The app as deployed (CSRF on, tasks not run: their outbox rows stay to be
    counted) on an emptied, seeded database. TESTING stays on so that an
    unhandled exception reaches the test with its traceback, not as a bare 500."""
    settings = dict(base_config(tmp, database_url), WTF_CSRF_ENABLED=True)
    app = create_app(settings)
    with app.app_context():
        _empty_all_tables()
        assert {PETITION, PLEDGE} <= set(seed())
        db.session.commit()
        db.session.remove()
    tables = sorted(t.name for t in db.metadata.sorted_tables)
    return Site(app=app, engine=engine, tables=tables)


def is_server_error(response: TestResponse) -> bool:
    return response.status_code >= 500


def count_rows(site: Site, model: Any, *where: Any) -> int:
    return int(site.scalar(select(func.count()).select_from(model).where(*where)))


def summary() -> str:
    lines = [f"  {name}: {n}" for name, n in sorted(CASES.items())]
    return "fuzz cases sent per entry point:\n" + "\n".join(lines)
