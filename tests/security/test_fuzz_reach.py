"""Source codes fuzzed, with CSRF on (the site and helpers of test_fuzz.py):
the organizer's form adds exactly one code for the campaign's organization or
a partner, with a short label, and refuses anything else without a change;
the sign form takes any ``src`` without an error and records a code only
when it is a live code of that campaign. No answer is a server error."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from itertools import count

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select
from werkzeug.datastructures import MultiDict

from campaigns.extensions import db
from campaigns.kernel.normalize import clean_text
from campaigns.models import Campaign, Organization, Signature, SourceCode
from campaigns.models.types import utcnow

from . import test_fuzz as fuzz
from .fuzz_support import CSRF_MODES, PLEDGE, Site, broken_token, changes, csrf_token

sites = fuzz.sites
errors = fuzz.errors

RUNS = [
    pytest.param("sqlite", 40, id="sqlite-short"),
    pytest.param("postgresql", 400, id="postgresql-long", marks=pytest.mark.chaos),
]
_emails = count()
# What a one-line field refuses (campaigns/forms.py).
CONTROLS = re.compile("[\x00-\x08\x0a-\x1f\x7f-\x9f]")


def _as_int(text: str) -> int | None:
    """The organization as the form's integer field reads it (Python's int())."""
    try:
        return int(text)
    except ValueError:
        return None


@pytest.mark.parametrize(("engine", "examples"), RUNS)
def test_the_code_form_adds_exactly_a_valid_code(
    sites: Callable[[str], Site], errors: fuzz.ErrorLog, engine: str, examples: int
) -> None:
    site = sites(engine)
    client = fuzz.console_client(site)
    with site.context():
        campaign = db.session.execute(select(Campaign).where(Campaign.slug == PLEDGE)).scalar_one()
        allowed = [campaign.organization_id, *(p.id for p in campaign.partners)]
        others = [
            o.id for o in db.session.execute(select(Organization)).scalars() if o.id not in allowed
        ]
    path = f"/console/campaigns/{PLEDGE}/sources"
    good = csrf_token(client, path)  # type: ignore[attr-defined]
    other = csrf_token(site.client(), "/console/login")
    figures = {"added": 0, "refused": 0}
    started = time.monotonic()

    @fuzz.fuzz_settings(examples)
    @given(
        organization=st.one_of(
            st.sampled_from([str(i) for i in allowed]),
            st.sampled_from([str(i) for i in others] or ["999999"]),
            st.text(max_size=12),
        ),
        label=st.text(max_size=80),
        csrf=st.sampled_from(("good",) * 6 + CSRF_MODES),
    )
    def check(organization: str, label: str, csrf: str) -> None:
        pairs = [("organization", organization), ("label", label)]
        pairs += [("csrf_token", good)] if csrf == "good" else broken_token(csrf, good, other, "x")
        before = site.counts()
        response = client.post(path, data=MultiDict(pairs))  # type: ignore[attr-defined]
        after = site.counts()
        what = f"{organization!r} {label!r} {csrf} -> {response.status_code}"
        fuzz.no_server_error(response, errors, what)
        valid = (
            csrf == "good"
            and _as_int(organization) in allowed
            and len(label) <= 60
            and not CONTROLS.search(label)
            and len(clean_text(label)) <= 60
        )
        if valid:
            figures["added"] += 1
            assert response.status_code == 303, what
            assert changes(before, after) == {"source_codes": 1, "audit_log": 1}, what
        else:
            figures["refused"] += 1
            assert response.status_code in (400, 422), what
            assert changes(before, after) == {}, what

    check()
    fuzz.report(f"source code form ({engine})", sum(figures.values()), started)
    print(f"  {figures}")
    assert figures["added"] > 0 and figures["refused"] > 0


@pytest.mark.parametrize(("engine", "examples"), RUNS)
def test_any_src_signs_alike_and_only_a_live_code_is_recorded(
    sites: Callable[[str], Site], errors: fuzz.ErrorLog, engine: str, examples: int
) -> None:
    site = sites(engine)
    with site.context():
        campaign = db.session.execute(select(Campaign).where(Campaign.slug == PLEDGE)).scalar_one()
        codes = (
            db.session.execute(select(SourceCode).where(SourceCode.campaign_id == campaign.id))
            .scalars()
            .all()
        )
        assert codes, "seeding gives each partner of the pledge a code"
        live = {c.code: c.id for c in codes if c.revoked_at is None}
        revoked = SourceCode(
            campaign_id=campaign.id,
            organization_id=campaign.organization_id,
            code="fuzzRevoked",
            revoked_at=utcnow(),
        )
        db.session.add(revoked)
        db.session.commit()
    client = site.client()
    page = f"/ar/campaigns/{PLEDGE}"
    good = csrf_token(client, page)
    started = time.monotonic()
    sent = {"live": 0, "other": 0}

    @fuzz.fuzz_settings(examples)
    @given(
        src=st.one_of(
            st.sampled_from(sorted(live)),
            st.just("fuzzRevoked"),
            st.text(max_size=40),
            st.text(alphabet="abcdefghijklmnopqrstuvwxyzABC0123456789_-", min_size=11, max_size=11),
        )
    )
    def check(src: str) -> None:
        email = f"src{next(_emails)}@example.org"
        form = {
            "full_name": "سعاد الحلبية",
            "email": email,
            "country": "SY",
            "region": "حلب",
            "amount": "3",
            "src": src,
            "csrf_token": good,
        }
        response = client.post(f"/ar/campaigns/{PLEDGE}/sign", data=form)
        what = f"{src!r} -> {response.status_code}"
        fuzz.no_server_error(response, errors, what)
        assert response.status_code == 303, what
        assert response.headers["Location"].endswith(f"/campaigns/{PLEDGE}/thanks"), what
        with site.context():
            recorded = db.session.execute(
                select(Signature.source_code_id).order_by(Signature.id.desc()).limit(1)
            ).scalar()
        expected = live.get(src)
        assert recorded == expected, what
        sent["live" if expected else "other"] += 1

    check()
    fuzz.report(f"sign form src ({engine})", sum(sent.values()), started)
    print(f"  {sent}")
    assert sent["live"] > 0 and sent["other"] > 0
