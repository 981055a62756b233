"""Deciding every signature a filter shows, fuzzed through the console with
CSRF on (the site and helpers of test_fuzz.py): only a confirmation with the
session's token, a filter the queue offers and the exact number it shows now
decides, and then exactly those signatures; a tampered filter (free text, a
hash, an address), a number that is not the queue's, or a broken token
changes nothing. No answer is a server error."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import func, select
from werkzeug.datastructures import MultiDict

from campaigns.extensions import db
from campaigns.models import Campaign, Signature, SignatureState
from campaigns.moderation.services import QUEUE_PARTS, QUEUE_REASONS
from tests.factories import create_signature

from . import test_fuzz as fuzz
from .fuzz_support import CSRF_MODES, PETITION, Site, broken_token, changes, csrf_token

sites = fuzz.sites
errors = fuzz.errors

RUNS = [
    pytest.param("sqlite", 60, id="sqlite-short"),
    pytest.param("postgresql", 400, id="postgresql-long", marks=pytest.mark.chaos),
]
FAULTS = ("none", "stale_count", "bad_count", "bad_part", "bad_reason", "csrf")
STOPPED = ("disposable_domain", "rate_wave", "blocked_domain")


@dataclass
class BulkCase:
    decision: str
    fault: str
    reason: str
    stopped: int
    off_by: int
    bad_value: str
    csrf: str


@st.composite
def bulk_cases(draw: st.DrawFn) -> BulkCase:
    return BulkCase(
        decision=draw(st.sampled_from(("accept", "reject"))),
        fault=draw(st.sampled_from(FAULTS)),
        reason=draw(st.sampled_from(("", *STOPPED))),
        stopped=draw(st.integers(0, 4)),
        off_by=draw(st.integers(-3, 3).filter(bool)),
        bad_value=draw(
            st.one_of(
                st.text(max_size=40),
                st.sampled_from(("signer@example.org", "0" * 32, "ALL", "fraudulent ", "-1")),
            )
        ),
        csrf=draw(st.sampled_from(CSRF_MODES)),
    )


def _under_review(site: Site, campaign_id: int, reason: str) -> int:
    query = select(func.count()).select_from(Signature).where(
        Signature.campaign_id == campaign_id, Signature.state == SignatureState.fraudulent
    )
    if reason:
        query = query.where(Signature.fraud_reason == reason)
    return int(site.scalar(query))


@pytest.mark.parametrize(("engine", "examples"), RUNS)
def test_bulk_decides_exactly_the_confirmed_filter_and_refuses_the_rest(
    sites: Callable[[str], Site], errors: fuzz.ErrorLog, engine: str, examples: int
) -> None:
    site = sites(engine)
    client = fuzz.console_client(site, "admin")
    good = csrf_token(client, f"/console/moderation/campaigns/{PETITION}")
    other = csrf_token(site.client(), "/console/login")
    with site.context():
        campaign_id = db.session.execute(
            select(Campaign.id).where(Campaign.slug == PETITION)
        ).scalar_one()
    assert "fraudulent" in QUEUE_PARTS and set(STOPPED) <= set(QUEUE_REASONS)
    figures: dict[str, int] = {}
    started = time.monotonic()

    @fuzz.fuzz_settings(examples)
    @given(case=bulk_cases())
    def check(case: BulkCase) -> None:
        with site.context():
            campaign = db.session.get(Campaign, campaign_id)
            for n in range(case.stopped):
                create_signature(
                    campaign,
                    state=SignatureState.fraudulent,
                    fraud_reason=STOPPED[n % len(STOPPED)],
                )
            db.session.commit()
        shown = _under_review(site, campaign_id, case.reason)
        everything = _under_review(site, campaign_id, "")
        data = {"show": "fraudulent", "reason": case.reason, "count": str(shown)}
        if case.fault == "stale_count":
            # Another number than the queue's: as many more, or fewer (at least 0).
            wrong = max(0, shown + case.off_by)
            data["count"] = str(wrong if wrong != shown else shown + 1)
        elif case.fault == "bad_count":
            data["count"] = case.bad_value if not case.bad_value.isdigit() else "1e3"
        elif case.fault == "bad_part":
            data["show"] = case.bad_value if case.bad_value not in QUEUE_PARTS else "ALL"
        elif case.fault == "bad_reason":
            data["reason"] = case.bad_value if case.bad_value not in QUEUE_REASONS else "x"
            if data["reason"] == "":
                data["reason"] = "x"
        tokens = (
            broken_token(case.csrf, good, other, "junk")
            if case.fault == "csrf"
            else [("csrf_token", good)]
        )
        pairs = MultiDict(list(data.items()) + tokens)
        before = site.counts()
        response = client.post(
            f"/console/moderation/campaigns/{PETITION}/bulk/{case.decision}", data=pairs
        )
        after = site.counts()
        found = changes(before, after)
        what = f"{case} {data} -> {response.status_code} {found}"
        fuzz.no_server_error(response, errors, what)
        left = _under_review(site, campaign_id, case.reason)
        outcome = f"{case.fault} {response.status_code}"
        figures[outcome] = figures.get(outcome, 0) + 1
        if case.fault == "none":
            assert response.status_code == 303, what
            assert left == 0, what
            # The others stay.
            assert _under_review(site, campaign_id, "") == everything - shown, what
            if shown:
                assert found.get("audit_log") == 1, what
                extra = set(found) - {"audit_log", "email_log", "outbox"}
                assert not extra, what
                if case.decision == "accept":
                    assert found.get("email_log") == shown, what
            else:
                assert found == {}, what
        else:
            expected = {"csrf": {400}, "stale_count": {409}}.get(case.fault, {303})
            assert response.status_code in expected, what
            assert found == {}, what
            assert left == shown, what

    check()
    fuzz.report(f"bulk moderation ({engine})", sum(figures.values()), started)
    print(f"  {dict(sorted(figures.items()))}")
    assert figures.get("none 303", 0) >= 1 and figures.get("stale_count 409", 0) >= 1
