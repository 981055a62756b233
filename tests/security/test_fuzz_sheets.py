"""Collection sheets fuzzed through the console, with CSRF on (the site and
helpers of test_fuzz.py): a valid issue form issues exactly its count of
sheets (and one audit entry); a count out of range or not a number, a name
missing, too long or with a control character, a phone that is not one, a
language not served, or a broken token is refused and changes nothing.
Marking returned and showing the collector with a broken token change
nothing either, and a sheet column of hostile text in an import rejects the
row, never the file. No answer is a server error."""

from __future__ import annotations

import io
import time
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from hypothesis import given
from hypothesis import strategies as st
from werkzeug.datastructures import MultiDict

from . import test_fuzz as fuzz
from .fuzz_support import CSRF_MODES, PETITION, Site, broken_token, changes, csrf_token

sites = fuzz.sites
errors = fuzz.errors

RUNS = [
    pytest.param("sqlite", 4, id="sqlite-short"),
    pytest.param("postgresql", 30, id="postgresql-long", marks=pytest.mark.chaos),
]
NAMES = st.text(
    alphabet=st.characters(categories=("L", "N", "Zs"), exclude_characters="\x00"),
    min_size=1,
    max_size=60,
).filter(lambda s: s.strip())
FAULTS = ("none", "count", "name_missing", "name_long", "control", "phone", "language", "csrf")
BAD = {
    "count": st.sampled_from(["0", "-1", "51", "ten", "", "1e3", "2.5", "9" * 30]),
    "phone": st.sampled_from(["12", "abc", "+1", "0000000000000000000", "+963 9"]),
    "language": st.text(max_size=8).filter(lambda s: s not in ("ar", "en", "ku", "tr")),
    "control": st.sampled_from(["\x00", "\x07", "\x1b", "\x7f"]),
}


@dataclass
class IssueCase:
    fault: str
    count: int
    name: str
    phone: str
    language: str
    bad: str
    csrf: str
    junk: str

    def fields(self) -> dict[str, str]:
        data = {
            "count": str(self.count),
            "language": self.language,
            "collector_name": self.name,
            "collector_phone": self.phone,
        }
        if self.fault == "count":
            data["count"] = self.bad
        elif self.fault == "name_missing":
            data["collector_name"] = " " * len(self.bad)
        elif self.fault == "name_long":
            data["collector_name"] = "ن" * 101
        elif self.fault == "control":
            data["collector_name"] = self.name[:10] + self.bad + self.name[10:]
        elif self.fault in ("phone", "language"):
            data[{"phone": "collector_phone", "language": "language"}[self.fault]] = self.bad
        return data


@st.composite
def issue_cases(draw: st.DrawFn, fault: str) -> IssueCase:
    return IssueCase(
        fault=fault,
        count=draw(st.integers(1, 50)),
        name=draw(NAMES),
        phone=draw(st.sampled_from(["", "0944 123 456", "+90 532 123 45 67", "٠٩٤٤١٢٣٤٥٦"])),
        language=draw(st.sampled_from(["ar", "en"])),
        bad=draw(BAD.get(fault, st.just(""))),
        csrf=draw(st.sampled_from(CSRF_MODES)),
        junk=draw(st.text(max_size=64)),
    )


@pytest.mark.parametrize(("engine", "examples"), RUNS)
def test_the_issue_form_issues_exactly_a_valid_count_and_refuses_the_rest(
    sites: Callable[[str], Site], errors: fuzz.ErrorLog, engine: str, examples: int
) -> None:
    site = sites(engine)
    client = fuzz.console_client(site)
    base = f"/console/campaigns/{PETITION}/sheets"
    good = csrf_token(client, base)
    other = csrf_token(site.client(), "/console/login")
    figures: dict[str, int] = {}
    started = time.monotonic()

    def check(case: IssueCase) -> None:
        data = list(case.fields().items())
        if case.fault == "csrf":
            data += broken_token(case.csrf, good, other, case.junk)
        else:
            data.append(("csrf_token", good))
        before = site.counts()
        response = client.post(base, data=MultiDict(data))
        after = site.counts()
        what = f"{case} -> {response.status_code}"
        fuzz.no_server_error(response, errors, what)
        figures[f"{case.fault} {response.status_code}"] = (
            figures.get(f"{case.fault} {response.status_code}", 0) + 1
        )
        if case.fault == "none":
            assert response.status_code == 303, what
            assert changes(before, after) == {"paper_sheets": case.count, "audit_log": 1}, what
        else:
            assert response.status_code in (400, 422), what
            assert changes(before, after) == {}, what

    for fault in FAULTS:
        run = given(case=issue_cases(fault))(lambda case: check(case))
        fuzz.fuzz_settings(examples)(run)()

    # The other two forms of the page, with a broken token: nothing changes.
    for mode in CSRF_MODES:
        for action in ("1/returned", "1/collector"):
            before = site.counts()
            tokens = MultiDict(broken_token(mode, good, other, "j"))
            response = client.post(f"{base}/{action}", data=tokens)
            fuzz.no_server_error(response, errors, f"{action} {mode}")
            assert response.status_code == 400 and changes(before, site.counts()) == {}
    # Hostile text in an import's sheet column: that row is rejected, the file read.
    hostile = ["OLI-\x07", "' OR 1=1 --", "<script>", "٠" * 40, "OLI-" + "9" * 40, "\u202eOLI-0000"]
    rows = ["full_name,country,region,show_name,contact_ok,sheet"] + [
        f'Name {n},SY,حلب,no,no,"{value}"' for n, value in enumerate(hostile)
    ]
    paper = csrf_token(client, f"/console/campaigns/{PETITION}/paper")
    response = client.post(
        f"/console/campaigns/{PETITION}/paper",
        data={"csrf_token": paper, "file": (io.BytesIO("\n".join(rows).encode()), "x.csv")},
        content_type="multipart/form-data",
    )
    fuzz.no_server_error(response, errors, "hostile sheet column")
    assert response.status_code == 303
    report = client.get(response.headers["Location"], headers={"Accept-Language": "en"})
    assert report.get_data(as_text=True).count("not one of this campaign") == len(hostile)
    fuzz.report(f"collection sheets ({engine})", sum(figures.values()), started)
    print(f"  {dict(sorted(figures.items()))}")
    assert figures.get("none 303", 0) >= 1
