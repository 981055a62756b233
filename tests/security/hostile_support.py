"""What the attack tests share: an app with chosen settings on either engine,
signing and confirming through the public routes, reading the mail the app
wrote, and checking that hostile text came out inert (HTML, CSV)."""

from __future__ import annotations

import csv
import email
import email.policy
import io
import re
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import EmailMessage
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from argon2 import PasswordHasher
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from campaigns.accounts import passwords
from campaigns.accounts import services as account_services
from campaigns.outbox import relay_outbox
from tests.conftest import (
    _app_on_emptied_database,
    _drop_postgres_database,
    _migrated_database,
    base_config,
)

# -- apps


@contextmanager
def app_with(
    tmp_path: Path, database_url: Callable[[str], str], engine: str, **config: Any
) -> Iterator[Flask]:
    """The test app on ``engine``'s migrated, emptied database, with settings
    that ``create_app`` reads once (TRUSTED_PROXIES wraps the WSGI app)."""
    settings = base_config(tmp_path, database_url(engine))
    settings.update(config)
    with _app_on_emptied_database(settings) as application:
        yield application


@contextmanager
def own_database(engine: str, tmp: Path) -> Iterator[str]:
    """A migrated database of its own for ``engine`` (kept apart from the one
    the function-scoped ``app`` fixture empties before every test); PostgreSQL
    ones are dropped afterwards."""
    url, name = _migrated_database(engine, tmp, "zaytoun_hostile")
    try:
        yield url
    finally:
        if name is not None:
            _drop_postgres_database(name)


def client_at(app: Flask, address: str) -> FlaskClient:
    """A client whose TCP peer (REMOTE_ADDR) is ``address``."""
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client


def use_cheap_passwords(monkeypatch: pytest.MonkeyPatch) -> None:
    """Argon2 at its lowest cost, for tests that compare answers, not timings
    (the production parameters take most of a second each on a busy machine).
    The dummy hash for unknown accounts is made with the same parameters."""
    hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    monkeypatch.setattr(passwords, "_hasher", hasher)
    monkeypatch.setattr(account_services, "DUMMY_HASH", hasher.hash("zaytoun-no-such-account"))


# -- CSRF tokens and comparable responses

_CSRF_VALUE = re.compile(
    r'(name="csrf_token"[^>]*?value=")[^"]*(")|(value=")[^"]*("[^>]*name="csrf_token")'
)


def csrf_token(html: str) -> str:
    match = _CSRF_VALUE.search(html)
    assert match is not None, "no csrf_token field on the page"
    value = re.search(r'value="([^"]*)"', match.group(0))
    assert value is not None
    return value.group(1)


def without_csrf(html: str) -> str:
    """The page with every CSRF token value blanked (each session has its own)."""
    return _CSRF_VALUE.sub(lambda m: "".join(g or "" for g in m.groups()), html)


def cookies_without_session(response: TestResponse, session_cookie: str) -> list[str]:
    """Set-Cookie headers with the session cookie's value blanked: the names
    and attributes must match, the signed value differs per client. The
    confirmation code's reference (signing/codes.py) is opaque and new at
    every signing: only its length is kept."""
    masked = []
    for header in response.headers.getlist("Set-Cookie"):
        name, _, rest = header.partition("=")
        if name == session_cookie:
            rest = re.sub(r"^[^;]*", "", rest)
        elif name.startswith("code-"):
            rest = re.sub(r"^[^;]*", lambda m: f"<{len(m.group())} characters>", rest)
        masked.append(f"{name}={rest}")
    return sorted(masked)


# -- signing through the public routes


def sign_form(
    full_name: str, email_address: str, region: str = "حلب", **extra: str
) -> dict[str, str]:
    form = {
        "full_name": full_name,
        "email": email_address,
        "country": "SY",
        "region": region,
        "show_name": "y",
        "deliver_name": "y",
        "contact_ok": "y",
    }
    form.update(extra)
    return form


def sent_mail(app: Flask) -> list[EmailMessage]:
    """Every message the app wrote to its outbox folder, oldest first."""
    folder = Path(app.config["MAIL_OUTBOX_DIR"])
    if not folder.exists():
        return []
    paths = sorted(folder.glob("*.eml"), key=lambda p: (p.stat().st_mtime_ns, p.name))
    messages = []
    for path in paths:
        message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        messages.append(message)
    return messages


def body_of(message: EmailMessage, kind: str) -> str:
    part = message.get_body((kind,))
    assert part is not None, f"no {kind} part"
    return str(part.get_content())  # type: ignore[attr-defined]


def confirm_path(message: EmailMessage) -> str:
    """The path of the confirmation link in an email's text part."""
    match = re.search(r"https?://\S+/confirm/\S+", body_of(message, "plain"))
    assert match is not None, "no confirmation link in the email"
    return urlsplit(match.group(0)).path


def confirm_all(app: Flask, messages: Iterable[EmailMessage]) -> int:
    """Press the button behind every confirmation link; returns how many."""
    done = 0
    for message in messages:
        client = app.test_client()
        path = confirm_path(message)
        page = client.get(path).get_data(as_text=True)
        data = {"csrf_token": csrf_token(page)} if 'name="csrf_token"' in page else {}
        response = client.post(path, data=data)
        assert response.status_code == 303, response.status_code
        done += 1
    return done


def run_tasks() -> int:
    """What the relay does every second: in-process here (TASKS_EAGER)."""
    total = 0
    while moved := relay_outbox():
        total += moved
    return total


# -- inert HTML

VOID = frozenset(
    {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "wbr"}
)
URL_ATTRIBUTES = frozenset(
    {"href", "src", "action", "formaction", "xlink:href", "poster", "data", "background", "srcset"}
)
# Bidi embeddings, overrides and isolates: signers' text must never carry them out.
BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
# What the app itself may emit: first-strong isolates around a name in emails.
APP_ISOLATES = frozenset("\u2068\u2069")


@dataclass
class Node:
    tag: str
    attrs: dict[str, str]
    ancestors: tuple[str, ...]


@dataclass
class Page:
    nodes: list[Node] = field(default_factory=list)
    texts: list[tuple[str, tuple[str, ...]]] = field(default_factory=list)
    script_texts: list[str] = field(default_factory=list)


class _Reader(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.page = Page()
        self.stack: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.page.nodes.append(Node(tag, {k: v or "" for k, v in attrs}, tuple(self.stack)))
        if tag not in VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.page.nodes.append(Node(tag, {k: v or "" for k, v in attrs}, tuple(self.stack)))

    def handle_endtag(self, tag: str) -> None:
        if tag in self.stack:
            while self.stack and self.stack.pop() != tag:
                pass

    def handle_data(self, data: str) -> None:
        if self.stack and self.stack[-1] in {"script", "style"}:
            if self.stack[-1] == "script" and data.strip():
                self.page.script_texts.append(data)
            return
        self.page.texts.append((data, tuple(self.stack)))


def read_html(html: str) -> Page:
    reader = _Reader()
    reader.feed(html)
    reader.close()
    return reader.page


def _scheme(value: str) -> str:
    # Browsers drop whitespace and control characters inside a URL's scheme.
    squeezed = "".join(ch for ch in value if ch > " " and ch != "\x7f").lower()
    return squeezed.split(":", 1)[0] if ":" in squeezed else ""


def markup_in(payload: str) -> list[Node]:
    """The elements a payload would make if it were pasted into a page raw."""
    return read_html(payload).nodes


@dataclass
class Placement:
    """Where an expected string was found on a page."""

    in_text: bool
    in_attribute: bool
    isolated: bool


def assert_inert(
    html: str,
    place: str,
    payloads: Iterable[str] = (),
    shown: Iterable[str] = (),
    isolate_in: frozenset[str] = frozenset(),
    organizer_bidi: str = "",
) -> dict[str, Placement]:
    """Fail unless the page runs nothing that hostile text could have brought:
    no event handler attribute, no inline script, no javascript:/vbscript:/
    data:text/html URL, no element that a payload would make, no bidi control
    beyond the app's own isolates. Each string of ``shown`` must appear as
    literal text (or a literal attribute value): proof that the payload reached
    the page and was escaped, not dropped. With ``isolate_in``, each shown
    string must appear in a text node inside one of those elements. ``organizer_bidi``: an
    organizer's own multi-paragraph text (an update), whose bidi controls stay
    in its own paragraphs: the page may hold those, and no more."""
    page = read_html(html)
    problems: list[str] = []
    for node in page.nodes:
        for name, value in node.attrs.items():
            if name.startswith("on"):
                problems.append(f"<{node.tag} {name}={value!r}>")
            if name in URL_ATTRIBUTES and _scheme(value) in {"javascript", "vbscript"}:
                problems.append(f"<{node.tag} {name}={value!r}>")
            if name in URL_ATTRIBUTES and value.strip().lower().startswith("data:text/html"):
                problems.append(f"<{node.tag} {name}={value!r}>")
            if name == "srcdoc":
                problems.append(f"<{node.tag} srcdoc>")
        if node.tag == "script" and not node.attrs.get("src", "").startswith("/static/"):
            problems.append(f"<script {node.attrs}>")
        if node.tag in {"iframe", "object", "embed", "base", "frame", "frameset"}:
            problems.append(f"<{node.tag}>")
        if node.tag == "meta" and node.attrs.get("http-equiv", "").lower() == "refresh":
            problems.append("<meta http-equiv=refresh>")
    if page.script_texts:
        problems.append(f"inline script text {page.script_texts[:1]!r}")
    # Bare tags (<table>, <style>) are the app's own too: a payload's bare tag
    # shows up instead as its text missing from ``shown``.
    made = [(n.tag, n.attrs) for p in payloads for n in markup_in(p) if n.attrs]
    for node in page.nodes:
        if (node.tag, node.attrs) in made:
            problems.append(f"payload element <{node.tag} {node.attrs}>")
    everything = [t for t, _ in page.texts] + [v for n in page.nodes for v in n.attrs.values()]
    for control in BIDI_CONTROLS - APP_ISOLATES:
        seen = sum(chunk.count(control) for chunk in everything)
        if seen > organizer_bidi.count(control):
            where = [chunk[:60] for chunk in everything if control in chunk]
            problems.append(f"bidi control {hex(ord(control))} in {where[:3]!r}")
    found: dict[str, Placement] = {}
    for expected in shown:
        text_hits = [ancestors for text, ancestors in page.texts if expected in text]
        attr_hit = any(expected in v for n in page.nodes for v in n.attrs.values())
        # Some hit isolated: a short name ("زيتون") may also be the app's own word.
        isolated = any(set(a) & isolate_in for a in text_hits)
        found[expected] = Placement(bool(text_hits), attr_hit, isolated)
        if not text_hits and not attr_hit:
            problems.append(f"{expected!r} is not shown as literal text")
        elif isolate_in and text_hits and not isolated:
            problems.append(f"{expected!r} is not inside {sorted(isolate_in)}")
    assert not problems, f"{place}: " + "; ".join(problems[:8])
    return found


# -- CSV

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def read_csv(body: str) -> list[list[str]]:
    assert body.startswith("\ufeff"), "no byte order mark"
    return list(csv.reader(io.StringIO(body[1:], newline="")))


def assert_csv_safe(rows: list[list[str]], place: str, shown: Iterable[str] = ()) -> int:
    """Fail if any cell would run as a formula; each string of ``shown`` must be
    found in some cell (with its guard). Returns the number of cells read."""
    cells = [cell for row in rows for cell in row]
    risky = [cell for cell in cells if cell.startswith(FORMULA_STARTS)]
    assert not risky, f"{place}: cells that run as formulas: {risky[:5]!r}"
    missing = [s for s in shown if not any(s in cell for cell in cells)]
    assert not missing, f"{place}: not exported: {missing[:5]!r}"
    return len(cells)
