"""A kiosk's queue fuzzed through its JSON route, with CSRF on (the site and
helpers of test_fuzz.py): each valid entry of a batch is stored once as an
in-person signature and named as stored, each entry with a missing or
overlong name, a control character, an unknown country, a bad phone, a field
that is not text or a key that is not a UUID is named as refused with a
reason and stores nothing; a body that is not a batch, too large a batch or a
broken token changes nothing. The same batch sent again stores nothing more.
No answer is a server error."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select

from campaigns.extensions import db
from campaigns.models import Campaign, Kiosk, User

from . import test_fuzz as fuzz
from .fuzz_support import PETITION, Site, changes, csrf_token, next_person

sites = fuzz.sites
errors = fuzz.errors

RUNS = [
    pytest.param("sqlite", 60, id="sqlite-short"),
    pytest.param("postgresql", 600, id="postgresql-long", marks=pytest.mark.chaos),
]
ENTRY_FAULTS = (
    "none", "none", "none", "no_name", "control", "too_long", "bad_country", "bad_phone",
    "not_text", "bad_key",
)  # fmt: skip
BATCH_FAULTS = ("none", "none", "none", "not_json", "not_list", "empty", "too_many", "csrf")
WORDS = st.text(
    alphabet=st.characters(categories=("L", "Zs"), exclude_characters="\x00"),
    min_size=1,
    max_size=30,
).filter(lambda s: s.strip())


@dataclass
class KioskCase:
    batch_fault: str
    entries: list[tuple[str, str]]  # (fault, word)
    phone: bool
    csrf: str

    def body(self) -> tuple[bytes, set[str], set[str]]:
        """The request body and the keys that must be stored and refused."""
        valid, refused, items = set(), set(), []
        for fault, word in self.entries:
            key = str(uuid.uuid4())
            fields: dict[str, Any] = {
                "full_name": f"{word} {next_person()}",
                "country": "SY",
                "region": word,
            }
            if self.phone:
                fields["phone"] = "0944 123 456"
            if fault == "no_name":
                fields["full_name"] = " "
            elif fault == "control":
                fields["region"] = word[:1] + "\x07" + word[1:]
            elif fault == "too_long":
                fields["full_name"] = "ع" * 101
            elif fault == "bad_country":
                fields["country"] = "XX"
            elif fault == "bad_phone":
                fields["phone"] = "12"
            elif fault == "not_text":
                fields["full_name"] = [word]
            elif fault == "bad_key":
                key = word[:20] + "-not-a-uuid"
            (valid if fault == "none" else refused).add(key[:64])
            items.append({"key": key, "fields": fields})
        if self.batch_fault == "not_json":
            return b"{entries: " + json.dumps(items).encode()[:40], set(), set()
        if self.batch_fault == "not_list":
            return json.dumps({"entries": {"0": items}}).encode(), set(), set()
        if self.batch_fault == "empty":
            return json.dumps({"entries": []}).encode(), set(), set()
        if self.batch_fault == "too_many":
            many = [{"key": str(uuid.uuid4()), "fields": items[0]["fields"]} for _ in range(51)]
            return json.dumps({"entries": many}).encode(), set(), set()
        return json.dumps({"entries": items}).encode(), valid, refused


@st.composite
def kiosk_cases(draw: st.DrawFn) -> KioskCase:
    count = draw(st.integers(1, 6))
    return KioskCase(
        batch_fault=draw(st.sampled_from(BATCH_FAULTS)),
        entries=[(draw(st.sampled_from(ENTRY_FAULTS)), draw(WORDS)) for _ in range(count)],
        phone=draw(st.booleans()),
        csrf=draw(st.sampled_from(("missing", "junk", "other_session"))),
    )


@pytest.mark.parametrize(("engine", "examples"), RUNS)
def test_a_kiosk_stores_exactly_the_valid_entries_of_a_batch_once(
    sites: Callable[[str], Site], errors: fuzz.ErrorLog, engine: str, examples: int
) -> None:
    site = sites(engine)
    console = fuzz.console_accounts(site)
    client = fuzz.console_client(site)
    with site.context():
        campaign = db.session.execute(
            select(Campaign).where(Campaign.slug == PETITION)
        ).scalar_one()
        organizer = db.session.execute(
            select(User).where(User.email == console.organizer)
        ).scalar_one()
        kiosk = Kiosk(campaign_id=campaign.id, collector_id=organizer.id, stand="سوق أعزاز")
        db.session.add(kiosk)
        db.session.commit()
        kiosk_uuid = kiosk.uuid
    page = f"/console/kiosks/{kiosk_uuid}"
    good = csrf_token(client, page)
    other = csrf_token(site.client(), "/console/login")
    figures: dict[str, int] = {}
    started = time.monotonic()

    def post(body: bytes, token: str | None) -> Any:
        headers = {"X-CSRFToken": token} if token is not None else {}
        return client.post(
            page + "/entries", data=body, content_type="application/json", headers=headers
        )

    @fuzz.fuzz_settings(examples)
    @given(case=kiosk_cases())
    def check(case: KioskCase) -> None:
        body, valid, refused = case.body()
        token: str | None = good
        if case.batch_fault == "csrf":
            token = {"missing": None, "junk": "x" + good[1:], "other_session": other}[case.csrf]
        before = site.counts()
        response = post(body, token)
        after = site.counts()
        what = f"{case} -> {response.status_code} {response.get_data(as_text=True)[:500]}"
        fuzz.no_server_error(response, errors, what)
        outcome = f"{case.batch_fault} {response.status_code}"
        figures[outcome] = figures.get(outcome, 0) + 1
        if case.batch_fault != "none":
            assert response.status_code == 400, what
            assert changes(before, after) == {}, what
            return
        assert response.status_code == 200, what
        answer = response.get_json()
        assert set(answer["accepted"]) == valid, what
        assert set(answer["refused"]) == refused, what
        assert all(answer["refused"][key] for key in refused), what
        expected = {"signatures": len(valid)} if valid else {}
        assert changes(before, after) == expected, what
        # Sent again (the answer was lost on the way): nothing more.
        again = post(body, good)
        assert again.status_code == 200, what
        assert set(again.get_json()["accepted"]) == valid, what
        assert changes(after, site.counts()) == {}, what
        figures["entries stored"] = figures.get("entries stored", 0) + len(valid)
        figures["entries refused"] = figures.get("entries refused", 0) + len(refused)

    check()
    batches = sum(n for name, n in figures.items() if not name.startswith("entries"))
    fuzz.report(f"kiosk queue ({engine})", batches, started)
    print(f"  {figures}")
    assert figures.get("entries stored", 0) > examples // 4
    assert figures.get("entries refused", 0) > examples // 10
