"""Responses, deliveries and commitments fuzzed through the console's forms,
with CSRF on (the site and helpers of test_fuzz.py): a valid submission
records exactly one of them (and, for a response or a delivery, the update
that tells the signers); a bad date, a date to come, a missing Arabic text,
half a language, a control character, a text past its limit, a file that is
not a whole PDF or holds a script, a file past 5 MB, a chain value that is
not 64 hex digits, an unknown method, a ledger head the campaign does not
have, a number out of range or a broken token
is refused and changes nothing. No answer is a server error."""

from __future__ import annotations

import io
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from werkzeug.datastructures import MultiDict

from campaigns.models.types import utcnow
from campaigns.outcomes.pdf import MAX_PDF_BYTES
from tests.media.support import phone_jpeg
from tests.outcomes.support import make_pdf

from . import test_fuzz as fuzz
from .fuzz_support import CSRF_MODES, PETITION, Site, broken_token, changes, csrf_token

sites = fuzz.sites
errors = fuzz.errors

RUNS = [
    pytest.param("sqlite", 3, id="sqlite-short"),
    pytest.param("postgresql", 30, id="postgresql-long", marks=pytest.mark.chaos),
]
LANGS = ("ar", "en", "ku", "tr")
WORDS = st.text(
    alphabet=st.characters(categories=("L", "N", "Zs"), exclude_characters="\x00"),
    min_size=1,
    max_size=40,
).filter(lambda s: s.strip())
FORMS = {
    "response": ("/responses/new", ("by", "text")),
    "delivery": ("/deliveries/new", ("recipient", "place")),
    "threshold": ("/thresholds", ("commitment",)),
}
COMMON_FAULTS = ("none", "no_arabic", "half_language", "control", "too_long", "csrf")
FAULTS = {
    "response": (
        *COMMON_FAULTS,
        "bad_date",
        "future_date",
        "not_pdf",
        "damaged_pdf",
        "active_pdf",
        "large_pdf",
    ),
    "delivery": (
        *COMMON_FAULTS,
        "bad_date",
        "future_date",
        "bad_hash",
        "bad_method",
        "bad_ledger_head",
        "photo",
        "not_image",
    ),
    "threshold": (*COMMON_FAULTS, "bad_count"),
}
# What a valid submission adds: its row, and for a response or a delivery the
# update to signers, whose sending (queued, or run at once in-process) may
# also touch the outbox, the email log and its heartbeat; audit entries.
ROW = {
    "response": {"campaign_responses": 1, "campaign_updates": 1},
    "delivery": {"campaign_deliveries": 1, "campaign_updates": 1},
    "threshold": {"campaign_thresholds": 1},
}
SENDING = {"outbox", "email_log", "job_locks"}


def valid_changes(form: str, found: dict[str, int]) -> bool:
    rows = {k: v for k, v in found.items() if k in ROW[form]}
    others = set(found) - set(ROW[form]) - {"audit_log"}
    if form != "threshold":
        others -= SENDING
    return rows == ROW[form] and found.get("audit_log", 0) >= 1 and not others


@dataclass
class OutcomeCase:
    form: str
    fault: str
    texts: dict[str, list[str]]
    junk: str
    days_ago: int
    count: int
    bad_value: str
    csrf: str

    def fields(self) -> dict[str, Any]:
        _path, names = FORMS[self.form]
        data: dict[str, Any] = {}
        for lang, values in self.texts.items():
            for name, value in zip(names, values, strict=True):
                data[f"{name}_{lang}"] = value
        day = (utcnow() - timedelta(days=self.days_ago)).date().isoformat()
        if self.form == "threshold":
            data["count"] = str(self.count)
        else:
            data["day"] = day
        if self.form == "delivery":
            data["method"] = "post"
            data["chain_head"] = "0123456789abcdef" * 4
            data["ledger_head"] = ""
        if self.form == "response":
            data["pdf"] = (io.BytesIO(make_pdf()), "letter.pdf")
        first = f"{names[0]}_ar"
        if self.fault == "no_arabic":
            data[first] = " "
        elif self.fault == "half_language":
            data[f"{names[-1]}_en"] = ""
            data[f"{names[0]}_en"] = data.get(f"{names[0]}_en") or "x"
            if len(names) == 1:
                data[f"{names[0]}_en"] = "x"
                data[first] = ""
        elif self.fault == "control":
            data[first] = data[first][:1] + "\x07" + data[first][1:]
        elif self.fault == "too_long":
            data[first] = "x" * 20001
        elif self.fault == "bad_date":
            data["day"] = self.bad_value
        elif self.fault == "future_date":
            data["day"] = (utcnow() + timedelta(days=2 + self.days_ago)).date().isoformat()
        elif self.fault == "bad_hash":
            data["chain_head"] = self.bad_value
        elif self.fault == "bad_method":
            data["method"] = self.bad_value
        elif self.fault == "bad_ledger_head":
            data["ledger_head"] = self.bad_value
        elif self.fault == "photo":
            data["pdf"] = (io.BytesIO(phone_jpeg(400 + self.count % 400, 300)), "photo.jpg")
        elif self.fault == "not_image":
            data["pdf"] = (io.BytesIO(self.junk.encode() + make_pdf()), "photo.jpg")
        elif self.fault == "bad_count":
            data["count"] = self.bad_value
        elif self.fault == "not_pdf":
            data["pdf"] = (io.BytesIO(self.junk.encode()), "letter.pdf")
        elif self.fault == "damaged_pdf":
            whole = make_pdf()
            data["pdf"] = (io.BytesIO(whole[: max(0, len(whole) - 30 - self.count % 200)]), "l.pdf")
        elif self.fault == "active_pdf":
            data["pdf"] = (io.BytesIO(make_pdf(b"/AA << /O << /S /JavaScript >> >> ")), "l.pdf")
        elif self.fault == "large_pdf":
            data["pdf"] = (io.BytesIO(make_pdf(padding=MAX_PDF_BYTES + self.count % 1000)), "l.pdf")
        return data

    @property
    def statuses(self) -> set[int]:
        if self.fault == "csrf":
            return {400}
        if self.fault in ("none", "photo"):
            return {303}
        return {413, 422} if self.fault == "large_pdf" else {422}


BAD_VALUES = {
    "bad_date": st.sampled_from(
        [
            "",
            "2026-02-30",
            "1999-12-31",
            "20261101",
            "2026-1-1",
            "tomorrow",
            "2026-11-01\n",
            "9999-99-99",
            "٢٠٢٦-١١-٠١",
        ]
    ),
    "bad_hash": st.one_of(
        st.text(alphabet="0123456789abcdef", max_size=63).filter(bool),
        st.text(alphabet="0123456789abcdefg", min_size=64, max_size=64).filter(lambda s: "g" in s),
        st.just("z" * 64),
    ),
    "bad_method": st.text(max_size=20).filter(lambda s: s not in ("in_person", "email", "post")),
    # The fuzzed campaign has no signed head: any number is one it does not have.
    "bad_ledger_head": st.one_of(
        st.integers(-(10**12), 10**12).map(str),
        st.text(max_size=20).filter(lambda s: s != ""),
    ),
    "bad_count": st.sampled_from(["0", "-5", "1000000001", "ten", "", "1e3", "٣"]),
}


@st.composite
def outcome_cases(draw: st.DrawFn, form: str, fault: str) -> OutcomeCase:
    _path, names = FORMS[form]
    langs = ["ar", *draw(st.lists(st.sampled_from(LANGS[1:]), unique=True))]
    texts = {lang: [draw(WORDS) for _ in names] for lang in langs}
    if fault == "half_language" and "en" not in texts:
        texts["en"] = [draw(WORDS) for _ in names]
    bad = BAD_VALUES.get(fault, st.just(""))
    return OutcomeCase(
        form=form,
        fault=fault,
        texts=texts,
        junk=draw(st.text(max_size=64)),
        days_ago=draw(st.integers(0, 3000)),
        # Distinct numbers: a commitment at a number taken is refused.
        count=draw(st.integers(1, 10**9)),
        bad_value=draw(bad),
        csrf=draw(st.sampled_from(CSRF_MODES)),
    )


@pytest.mark.parametrize(("engine", "examples"), RUNS)
def test_outcome_forms_record_exactly_a_valid_submission_and_refuse_the_rest(
    sites: Callable[[str], Site], errors: fuzz.ErrorLog, engine: str, examples: int
) -> None:
    site = sites(engine)
    client = fuzz.console_client(site)
    base = f"/console/campaigns/{PETITION}"
    good = csrf_token(client, f"{base}/outcomes")
    other = csrf_token(site.client(), "/console/login")
    figures: dict[str, int] = {}
    used_counts: set[int] = set()
    started = time.monotonic()

    def check(case: OutcomeCase) -> None:
        if case.form == "threshold" and case.fault == "none":
            if case.count in used_counts:
                return
            used_counts.add(case.count)
        data = case.fields()
        upload = data.pop("pdf", None)
        name = "photo" if case.form == "delivery" else "pdf"
        fields = MultiDict(data)
        if upload is not None:
            # Set alone: MultiDict reads a tuple given at construction as values.
            fields[name] = upload
        tokens = (
            broken_token(case.csrf, good, other, "junk")
            if case.fault == "csrf"
            else [("csrf_token", good)]
        )
        for name, value in tokens:
            fields.add(name, value)
        path = base + FORMS[case.form][0]
        before = site.counts()
        response = client.post(path, data=fields, content_type="multipart/form-data")
        after = site.counts()
        what = f"{case} -> {response.status_code} {response.headers.get('Location')}"
        fuzz.no_server_error(response, errors, what)
        assert response.status_code in case.statuses, what
        outcome = f"{case.form} {case.fault} {response.status_code}"
        figures[outcome] = figures.get(outcome, 0) + 1
        if response.status_code == 303:
            assert valid_changes(case.form, changes(before, after)), (what, changes(before, after))
        else:
            assert changes(before, after) == {}, what

    for form, faults in FAULTS.items():
        for fault in faults:
            run = given(case=outcome_cases(form, fault))(lambda case: check(case))
            fuzz.fuzz_settings(examples)(run)()
    fuzz.report(f"outcome forms ({engine})", sum(figures.values()), started)
    print(f"  {dict(sorted(figures.items()))}")
    for form in FORMS:
        assert figures.get(f"{form} none 303", 0) >= 1, form
    assert figures.get("delivery photo 303", 0) >= 1
