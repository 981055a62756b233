"""No oracle through the signatures that count at once: those without an
email, signed in front of a collector (at a kiosk, or on a paper sheet
imported by an organizer). Nobody confirms them, so were they deduplicated
across accounts, an organizer could type a person's name, region and phone
into a kiosk or a paper file and read from the figures (the stand's, the
campaign's, the public count) whether another account had entered that
person.

Two worlds differ only in who a colleague (another organizer of the same
campaign) entered without an email: Rami Aziz of Idlib, or someone else.
The attacker, an organizer of the campaign with an account of their own,
imports a file with Rami's row, opens a kiosk and enters him, and reads
every page and figure afterwards: every answer must be the same in both
worlds. The colleague running the same probes does tell the worlds apart
(their own repeat is absorbed): the control that shows the probes can."""

from __future__ import annotations

import io
import itertools
import re
import uuid
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from campaigns.accounts.services import create_user
from campaigns.counting.services import update_signature_counts
from campaigns.extensions import db
from campaigns.kiosk.services import Entry, open_kiosk, record_entries
from campaigns.models import Role, User
from campaigns.paper.services import import_paper_signatures
from tests import factories
from tests.conftest import _empty_all_tables
from tests.factories import give_second_factor
from tests.moderation.support import PASSWORD, Console, logged_in, make_console
from tests.paper.support import csv_bytes
from tests.security.test_oracles import PAPER_HEADER, Answer, differences, explain, normalized

ENGLISH = {"Accept-Language": "en"}
# (full name, region, phone) of the person asked about, and of the stand-in.
TARGET = ("Rami Aziz", "Idlib", "+963944123456")
STAND_IN = ("Hadi Qassem", "Idlib", "+963944654321")
# A kiosk's queue key is derived from its random uuid: noise, like the uuid.
QUEUE_KEY = re.compile(r'data-queue-key="[^"]*"')
# Any moment in words ("Last counted on … at 1:20 AM"): the two worlds run
# a few seconds apart, maybe across a minute.
MOMENT = re.compile(r"(<time[^>]*>)[^<]*</time>")


def noiseless(body: str) -> str:
    body = QUEUE_KEY.sub('data-queue-key="KEY"', normalized(body))
    return MOMENT.sub(r"\1WHEN</time>", body)


def paper_file(person: tuple[str, str, str]) -> bytes:
    name, region, phone = person
    return csv_bytes([PAPER_HEADER, [name, "", phone, "SY", region, "", "no", "no"]])


def kiosk_entry(person: tuple[str, str, str]) -> dict[str, Any]:
    name, region, phone = person
    return {"full_name": name, "country": "SY", "region": region, "phone": phone}


def build_world(entered: tuple[str, str, str], how: str) -> tuple[Console, User]:
    """The campaign, and the colleague who entered ``entered`` (``how``:
    at their kiosk, or in their paper import)."""
    _empty_all_tables()
    factories._seq = itertools.count(1)
    console = make_console()
    colleague = create_user(
        "colleague@zaytoun.test",
        "Colleague",
        PASSWORD,
        Role.organizer,
        console.organizer.organization,
    )
    give_second_factor(colleague)
    db.session.commit()
    if how == "kiosk":
        kiosk = open_kiosk(console.campaign, colleague, "Idlib market")
        name, region, phone = entered
        record_entries(
            kiosk,
            [Entry(uuid.uuid4(), name, "SY", region, phone)],
            locale="ar",
        )
    else:
        import_paper_signatures(
            console.campaign, paper_file(entered), "sheet-1.csv", user_id=colleague.id
        )
    db.session.commit()
    update_signature_counts()
    return console, colleague


def read(client: FlaskClient, url: str) -> Any:
    # The count job runs between the attacker's steps, as it would in a minute.
    update_signature_counts()
    return client.get(url, headers=ENGLISH)


def play(app: Flask, prober: str, how: str, target_entered: bool) -> list[Answer]:
    console, colleague = build_world(TARGET if target_entered else STAND_IN, how)
    slug = console.campaign.slug
    who = colleague if prober == "colleague" else console.organizer
    client = logged_in(app, who, console)
    answers: list[Answer] = []

    def note(probe: str, response: Any) -> None:
        location = response.headers.get("Location", "")
        body = response.get_data(as_text=True)
        if response.status_code in (302, 303) and location.startswith("/console/"):
            body = client.get(location, headers=ENGLISH).get_data(as_text=True)
        status, where = response.status_code, normalized(location)
        answers.append(Answer(probe, status, where, noiseless(body), 0))

    def figures(after: str) -> None:
        for page, url in (
            ("stands", f"/console/campaigns/{slug}/kiosks"),
            ("campaign", f"/console/campaigns/{slug}"),
            ("dashboard", "/console/"),
            ("paper page", f"/console/campaigns/{slug}/paper"),
            ("figures csv", f"/console/campaigns/{slug}/exports/figures.csv"),
            ("count", f"/api/v1/campaigns/{slug}"),
            ("results", f"/en/campaigns/{slug}/results"),
        ):
            note(f"{page} after {after}", read(client, url))

    figures("nothing")
    note(
        "paper",
        client.post(
            f"/console/campaigns/{slug}/paper",
            data={"file": (io.BytesIO(paper_file(TARGET)), "probe.csv")},
            content_type="multipart/form-data",
            headers=ENGLISH,
        ),
    )
    figures("paper")
    opened = client.post(f"/console/campaigns/{slug}/kiosks", data={"stand": "Probe"})
    note("open kiosk", opened)
    kiosk_path = opened.headers["Location"]
    note(
        "kiosk entry",
        client.post(
            f"{kiosk_path}/entries",
            json={"entries": [{"key": str(uuid.uuid4()), "fields": kiosk_entry(TARGET)}]},
            headers=ENGLISH,
        ),
    )
    figures("kiosk")
    return answers


@pytest.mark.parametrize("how", ["kiosk", "paper"])
def test_another_accounts_entries_are_not_an_oracle(app: Flask, how: str) -> None:
    entered = play(app, "organizer", how, True)
    not_entered = play(app, "organizer", how, False)

    assert differences(entered, not_entered) == [], explain(entered, not_entered)
    by_probe = {a.probe: a for a in entered}
    # The probes reached the features and moved the figures: the attacker's
    # two entries of the target counted as one (their own repeat), on top of
    # the colleague's one.
    assert by_probe["paper"].status == by_probe["open kiosk"].status == 303
    assert by_probe["kiosk entry"].status == 200
    assert '"signers":1' in by_probe["count after nothing"].body.replace(" ", "")
    assert '"signers":2' in by_probe["count after kiosk"].body.replace(" ", "")


@pytest.mark.parametrize("how", ["kiosk", "paper"])
def test_the_control_the_colleagues_own_repeat_is_absorbed(app: Flask, how: str) -> None:
    """The same probes by the colleague who entered the target: their repeat
    is one signature, so the figures differ between the worlds."""
    entered = play(app, "colleague", how, True)
    not_entered = play(app, "colleague", how, False)

    assert "count after paper" in differences(entered, not_entered)
    assert '"signers":1' in {a.probe: a for a in entered}["count after kiosk"].body.replace(" ", "")
