"""No oracle on personal data below admin: an attacker with a partner or
organizer account probes every console feature that takes a filter or a
file, in two worlds that differ only in who one signer is. In one, Candace
Nasser (candace@victim-domain.example) signed; in the other, someone else
signed in her place, at the same minute, from the same country, so that every
aggregate is the same. Any answer that differs between the two worlds (status,
normalized body, redirect, the figures the role sees afterwards, or the number
of decryptions the server did for it) tells the attacker whether she signed.

An admin's answers do differ (names are an admin's to see): the control that
shows the probes can tell the worlds apart at all."""

from __future__ import annotations

import difflib
import io
import itertools
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from campaigns.counting.services import update_signature_counts
from campaigns.models import SignatureState
from campaigns.models.types import utcnow
from campaigns.privacy import crypto
from campaigns.privacy.crypto import hash_email_domain, hash_ip
from tests import factories
from tests.conftest import _empty_all_tables
from tests.moderation.support import (
    Console,
    audit,
    logged_in,
    make_console,
    signature,
    trending_flag,
)
from tests.paper.sheets_support import issue_sheet
from tests.paper.support import csv_bytes

VICTIM = ("Candace Nasser", "candace@victim-domain.example")
STAND_IN = ("Omar Khalil", "omar.khalil@other-domain.example")
VICTIM_DOMAIN = "victim-domain.example"
BURST_IP = "203.0.113.9"
ENGLISH = {"Accept-Language": "en"}
NEW = "/console/moderation/invalidations/new"
PAPER_HEADER = ["full_name", "email", "phone", "country", "region", "amount", "show_name",
                "contact_ok", "sheet", "line"]  # fmt: skip

# What differs between any two answers whatever the data: per-session tokens,
# random public ids, and the clock.
NOISE = [
    (re.compile(r'name="csrf_token"[^>]*value="[^"]*"'), 'name="csrf_token"'),
    (re.compile(r'value="[^"]*"([^>]*name="csrf_token")'), r"\1"),
    (re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"), "UUID"),
    (re.compile(r"\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(\+00:00|Z)?"), "TIME"),
    (re.compile(r"\d{4}-\d{2}-\d{2}"), "DATE"),
    # A moment as the reader reads it (i18n.when): the minute it was written.
    (re.compile(r'(<time class="when" datetime="[^"]*">)[^<]*</time>'), r"\1WHEN</time>"),
]


def normalized(body: str) -> str:
    for pattern, replacement in NOISE:
        body = pattern.sub(replacement, body)
    return body


@dataclass(frozen=True)
class Answer:
    probe: str
    status: int
    location: str
    body: str
    decryptions: int


@pytest.fixture
def decryptions(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[int]]:
    """Counts the server's decryptions of anything (names, emails, secrets)."""
    calls = [0]
    real = crypto.decrypt

    def counting(*args: Any, **kwargs: Any) -> bytes:
        calls[0] += 1
        return real(*args, **kwargs)

    monkeypatch.setattr(crypto, "decrypt", counting)
    yield calls


def build_world(hour: datetime, victim_signed: bool) -> Console:
    """The same campaign, the same signers at the same times; only the person
    of the 33rd minute differs."""
    _empty_all_tables()
    # The factories number what they make: start both worlds at the same number.
    factories._seq = itertools.count(1)
    console = make_console()
    campaign = console.campaign
    for i in range(6):  # a burst from one address, on the trending page
        signature(
            campaign,
            state=SignatureState.validated,
            ip=BURST_IP,
            name=f"Bot {i}",
            email=f"bot{i}@bots.example",
            created_at=hour + timedelta(minutes=5),
            flag_reason="trending_ip",  # waiting in the review queue
        )
    honest = [("Carim Haddad", "carim@example.org", "SY", 10),
              ("Camila Ortiz", "camila@gmail.com", "TR", 20),
              ("Dana Saleh", "dana@example.org", "SY", 40),
              ("Hassan Ali", "hassan@gmail.com", "DE", 50),
              ("Nour Issa", "nour@example.org", "SY", 70)]  # fmt: skip
    for i, (name, email, country, minutes) in enumerate(honest):
        signature(campaign, state=SignatureState.validated, name=name, email=email,
                  country=country, ip=f"198.51.100.{i}",
                  created_at=hour + timedelta(minutes=minutes))  # fmt: skip
    name, email = VICTIM if victim_signed else STAND_IN
    signature(campaign, state=SignatureState.validated, name=name, email=email, country="SY",
              ip="192.0.2.77", created_at=hour + timedelta(minutes=33))  # fmt: skip
    trending_flag(campaign, "ip", hash_ip(BURST_IP).hex())
    update_signature_counts()
    issue_sheet(campaign)  # the paper probe's rows name its lines
    return console


def probes(console: Console, hour: datetime) -> list[tuple[str, str, str, dict[str, Any]]]:
    """(name, method, url, form) of every probe, in order."""
    slug = console.campaign.slug
    minute = (hour + timedelta(minutes=33)).strftime("%Y-%m-%dT%H:%M")
    next_minute = (hour + timedelta(minutes=34)).strftime("%Y-%m-%dT%H:%M")
    empty_hour = (hour - timedelta(hours=5)).strftime("%Y-%m-%dT%H:%M")
    empty_end = (hour - timedelta(hours=5, minutes=-59)).strftime("%Y-%m-%dT%H:%M")
    burst = hash_ip(BURST_IP).hex()

    def preview(**fields: str) -> dict[str, Any]:
        return {"campaign": slug, "action": "preview", **fields}

    def run(**fields: str) -> dict[str, Any]:
        return {"campaign": slug, "action": "run", "reason": "probe", **fields}

    found: list[tuple[str, str, str, dict[str, Any]]] = [
        ("queue", "GET", "/console/moderation", {}),
        ("campaign queue", "GET", f"/console/moderation/campaigns/{slug}", {}),
        # Names and addresses in the queue are an admin's to reveal.
        ("queue personal", "GET", f"/console/moderation/campaigns/{slug}?personal=1", {}),
        ("trending", "GET", "/console/moderation/trending", {}),
        ("prefilled form", "GET", f"{NEW}?campaign={slug}&ip_hash={burst}", {}),
    ]
    # Narrowing a name, letter by letter, with and without patterns.
    for pattern in ("c", "ca", "can", "cand", "candace", "c*", "can*", "candace nasser", "*"):
        found.append((f"name {pattern}", "POST", NEW, preview(name_pattern=pattern)))
    found += [
        ("domain", "POST", NEW, preview(email_domain=VICTIM_DOMAIN)),
        ("domain hash", "POST", NEW,
         preview(email_domain_hash=hash_email_domain(VICTIM_DOMAIN).hex())),
        ("address hash", "POST", NEW, preview(ip_hash=hash_ip("192.0.2.77").hex())),
        ("her minute", "POST", NEW, preview(since=minute, until=next_minute)),
        ("her minute in SY", "POST", NEW, preview(since=minute, until=next_minute, country="SY")),
        ("burst", "POST", NEW, preview(ip_hash=burst, since=minute)),
        ("run name", "POST", NEW, run(name_pattern="candace")),
        ("run domain", "POST", NEW, run(email_domain=VICTIM_DOMAIN)),
        ("run empty hour", "POST", NEW,
         run(since=empty_hour, until=empty_end, country="SY")),
        ("invalidations", "GET", "/console/moderation/invalidations", {}),
        ("paper", "POST", f"/console/campaigns/{slug}/paper", {"file": "paper"}),
        ("paper page", "GET", f"/console/campaigns/{slug}/paper", {}),
        ("campaign page", "GET", f"/console/campaigns/{slug}", {}),
        ("exports", "GET", f"/console/campaigns/{slug}/exports", {}),
        ("figures csv", "GET", f"/console/campaigns/{slug}/exports/figures.csv", {}),
        ("count", "GET", f"/api/v1/campaigns/{slug}", {}),
        # Where the previews' questions are kept: for admins only.
        ("audit log", "GET", "/console/audit", {}),
    ]  # fmt: skip
    return found


def paper_file() -> bytes:
    """Her address on paper (as an attacker would type it), one row without
    email, and her name again without it on her line of the printed sheet:
    the report of the lines (a receipt, a repeated line) is the file's alone."""
    return csv_bytes([
        PAPER_HEADER,
        ["Candace Nasser", VICTIM[1], "", "SY", "Aleppo", "", "no", "no", "1", "1"],
        ["Rami Aziz", "", "", "SY", "Idlib", "", "no", "no", "1", "2"],
        ["Candace Nasser", "", "", "SY", "Aleppo", "", "no", "no", "1", "1"],
        ["Candace Nasser", "", "", "SY", "Aleppo", "", "no", "no", "1", "3"],
    ])  # fmt: skip


def ask(client: FlaskClient, method: str, url: str, form: dict[str, Any]) -> Any:
    if form.get("file") == "paper":
        return client.post(
            url,
            data={"file": (io.BytesIO(paper_file()), "field.csv")},
            content_type="multipart/form-data",
            headers=ENGLISH,
        )
    if method == "GET":
        return client.get(url, headers=ENGLISH)
    return client.post(url, data=form, headers=ENGLISH)


def play(
    app: Flask, role: str, hour: datetime, victim_signed: bool, calls: list[int]
) -> list[Answer]:
    """Every answer one role gets in one world, redirects followed once."""
    console = build_world(hour, victim_signed)
    who = {"partner": console.partner, "organizer": console.organizer,
           "other organizer": console.other_organizer, "admin": console.admin}[role]  # fmt: skip
    client = logged_in(app, who, console)
    answers = []
    for name, method, url, form in probes(console, hour):
        before = calls[0]
        response = ask(client, method, url, form)
        location = response.headers.get("Location", "")
        body = response.get_data(as_text=True)
        if response.status_code in (302, 303) and location.startswith("/console/"):
            body = client.get(location, headers=ENGLISH).get_data(as_text=True)
        answers.append(
            Answer(
                name,
                response.status_code,
                normalized(location),
                normalized(body),
                calls[0] - before,
            )
        )
    return answers


def differences(one: list[Answer], other: list[Answer]) -> list[str]:
    return [a.probe for a, b in zip(one, other, strict=True) if a != b]


def explain(one: list[Answer], other: list[Answer]) -> str:
    """The first difference, as a diff, for the failure message."""
    for a, b in zip(one, other, strict=True):
        if a != b:
            lines = difflib.unified_diff(
                a.body.splitlines(), b.body.splitlines(), "signed", "not signed", lineterm="", n=1
            )
            return f"{a.probe}: {a.status}/{b.status} {a.decryptions}/{b.decryptions}\n" + (
                "\n".join(list(lines)[:40])
            )
    return ""


@pytest.fixture
def hour() -> datetime:
    return utcnow().replace(minute=0, second=0, microsecond=0) - timedelta(hours=3)


@pytest.mark.parametrize("role", ["partner", "organizer", "other organizer"])
def test_nothing_below_admin_answers_differently_because_of_one_signer(
    app: Flask, role: str, hour: datetime, decryptions: list[int]
) -> None:
    signed = play(app, role, hour, True, decryptions)
    not_signed = play(app, role, hour, False, decryptions)

    assert differences(signed, not_signed) == [], explain(signed, not_signed)
    if role == "organizer":
        by_probe = {a.probe: a for a in signed}
        # The probes reached the features (they are the organizer's), and the
        # conditions on personal data were refused with a form error.
        assert by_probe["queue"].status == by_probe["trending"].status == 200
        assert by_probe["name can"].status == by_probe["domain"].status == 422
        assert by_probe["run name"].status == by_probe["domain hash"].status == 422
        assert "Only an administrator may choose" in by_probe["name can"].body
        assert by_probe["her minute"].status == 200
        assert "signatures meet these conditions now" in by_probe["her minute"].body
        assert by_probe["paper"].status == 303
        assert "The same line of the same sheet is on row 2 too." in by_probe["paper"].body
        assert by_probe["queue"].body.count("/accept") == 6
        assert "Show names and email addresses" not in by_probe["queue personal"].body
        assert "bots.example" not in by_probe["queue personal"].body
        # No preview of an organizer decrypts anything: its work does not
        # depend on any name or address.
        previews = [a for a in signed if a.probe.startswith(("name", "domain", "her", "burst"))]
        assert [a.decryptions for a in previews] == [0] * len(previews)
    else:
        assert {a.status for a in signed} <= {200, 403, 404}
    assert next(a for a in signed if a.probe == "audit log").status == 403


def test_an_admin_sees_the_difference_and_each_question_is_audited(
    app: Flask, hour: datetime, decryptions: list[int]
) -> None:
    """The control: the same probes do tell the worlds apart for an admin, so
    the comparison above can fail."""
    signed = play(app, "admin", hour, True, decryptions)
    not_signed = play(app, "admin", hour, False, decryptions)
    changed = differences(signed, not_signed)
    assert {"name can", "name candace nasser", "domain", "domain hash"} <= set(changed)
    assert next(a for a in signed if a.probe == "name can").decryptions > 0
    # The queue's reveal works for an admin (so the organizer's check above can fail).
    assert "bots.example" in next(a for a in signed if a.probe == "queue personal").body
    # Every preview and run is in the audit log with what was asked.
    previews = audit("invalidation_previewed")
    assert {"name_pattern": "can"} in [e.details["conditions"] for e in previews]
    # A run is first a confirmation page with its count: asked, and audited, as a preview.
    assert {"name_pattern": "candace"} in [e.details["conditions"] for e in previews]


def test_the_minute_of_a_signature_is_widened_to_its_hour(app: Flask, hour: datetime) -> None:
    console = build_world(hour, True)
    organizer = logged_in(app, console.organizer)
    minute = (hour + timedelta(minutes=33)).strftime("%Y-%m-%dT%H:%M")
    response = organizer.post(
        NEW,
        data={"campaign": console.campaign.slug, "since": minute, "action": "preview",
              "until": (hour + timedelta(minutes=34)).strftime("%Y-%m-%dT%H:%M")},
        headers=ENGLISH,
    )  # fmt: skip
    html = response.get_data(as_text=True)
    # The bots (minute 5), Carim, Camila, Candace, Dana and Hassan: 11 in that hour.
    assert "11 signatures meet these conditions now." in html
    assert hour.strftime("%Y-%m-%dT%H:%M") in html  # the start shown, floored
    assert (hour + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M") in html  # the end, ceiled
    [entry] = audit("invalidation_previewed")
    assert entry.details["conditions"] == {
        "since": hour.isoformat(),
        "until": (hour + timedelta(hours=1)).isoformat(),
    }
