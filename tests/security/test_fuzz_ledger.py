"""The ledger's public entry points fuzzed (the site and helpers of
test_fuzz.py, CSRF on): any query on the JSON endpoints and the page, any
text posted as a receipt, with a right, wrong or missing CSRF token. No
answer is a server error, none changes a row; a well-formed receipt is
answered 200 (found or not), anything else 422, a forged post 400."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from urllib.parse import quote

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select
from werkzeug.datastructures import MultiDict

from campaigns.counting.services import update_signature_counts
from campaigns.extensions import db
from campaigns.ledger.receipts import is_well_formed, new_receipt
from campaigns.ledger.services import publish_ledger
from campaigns.models import Campaign, SignatureState
from tests.factories import create_signature

from . import test_fuzz as fuzz
from .fuzz_support import PETITION, Site, broken_token, changes, csrf_token

sites = fuzz.sites
errors = fuzz.errors

RUNS = [
    pytest.param("sqlite", 150, id="sqlite-short"),
    pytest.param("postgresql", 1500, id="postgresql-long", marks=pytest.mark.chaos),
]
NUMBER = st.one_of(
    st.integers(-3, 40).map(str),
    st.sampled_from(("", "1e3", "0x1", "٣", "1 ", "+1", "99999999999999999999", "%00")),
    st.text(max_size=12),
)
ROUTES = ("", "/heads", "/entries", "/consistency", "/inclusion")
ARGS = ("start", "count", "first", "second", "head", "position", "after")


def _ledger(site: Site) -> str:
    with site.context():
        campaign = db.session.execute(
            select(Campaign).where(Campaign.slug == PETITION)
        ).scalar_one()
        code, hashed = new_receipt()
        create_signature(campaign, SignatureState.validated, receipt_hash=hashed)
        for _ in range(8):
            create_signature(campaign, SignatureState.validated)
        update_signature_counts()
        publish_ledger()
        create_signature(campaign, SignatureState.validated)
        update_signature_counts()
        publish_ledger()
        db.session.commit()
    return code


@pytest.mark.parametrize(("engine", "examples"), RUNS)
def test_ledger_endpoints_answer_any_query_without_error_or_change(
    sites: Callable[[str], Site], errors: fuzz.ErrorLog, engine: str, examples: int
) -> None:
    site = sites(engine)
    _ledger(site)
    client = site.client()
    statuses: dict[int, int] = {}
    started = time.monotonic()

    @fuzz.fuzz_settings(examples)
    @given(
        route=st.sampled_from(ROUTES),
        page=st.booleans(),
        args=st.dictionaries(st.sampled_from(ARGS), NUMBER, max_size=4),
    )
    def check(route: str, page: bool, args: dict[str, str]) -> None:
        query = "&".join(f"{k}={quote(v)}" for k, v in args.items())
        path = (
            f"/en/campaigns/{PETITION}/ledger?{query}"
            if page
            else f"/api/v1/campaigns/{PETITION}/ledger{route}?{query}"
        )
        before = site.counts()
        response = client.get(path)
        fuzz.no_server_error(response, errors, path)
        assert changes(before, site.counts()) == {}, path
        statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
        assert response.status_code in {200, 400, 404}, path
        if response.status_code == 200 and not page:
            body = response.get_data(as_text=True)
            lines = body.splitlines() if route == "/entries" else [body]
            assert all(json.loads(line) is not None for line in lines), path

    check()
    fuzz.report(f"ledger endpoints ({engine})", sum(statuses.values()), started)
    print(f"  statuses {dict(sorted(statuses.items()))}")
    assert statuses.get(200, 0) > 0 and statuses.get(400, 0) > 0


@pytest.mark.parametrize(("engine", "examples"), RUNS)
def test_the_receipt_check_refuses_what_is_not_a_receipt_and_changes_nothing(
    sites: Callable[[str], Site], errors: fuzz.ErrorLog, engine: str, examples: int
) -> None:
    site = sites(engine)
    code = _ledger(site)
    client, other = site.client(), site.client()
    page = f"/en/campaigns/{PETITION}/ledger"
    token, other_token = csrf_token(client, page), csrf_token(other, page)
    statuses: dict[int, int] = {}
    started = time.monotonic()

    @fuzz.fuzz_settings(examples)
    @given(
        receipt=st.one_of(
            st.just(code),
            st.just(code.lower().replace("-", " ")),
            st.builds(lambda: new_receipt()[0]),
            st.text(max_size=100),
            st.text("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567- ", min_size=28, max_size=45),
        ),
        forged=st.sampled_from(("none", "missing", "junk", "other_session")),
    )
    def check(receipt: str, forged: str) -> None:
        pairs = (
            [("csrf_token", token)]
            if forged == "none"
            else broken_token(forged, token, other_token, "junk")
        )
        before = site.counts()
        response = client.post(
            f"{page}/receipt", data=MultiDict([*pairs, ("receipt", receipt)])
        )
        fuzz.no_server_error(response, errors, repr(receipt))
        assert changes(before, site.counts()) == {}, receipt
        statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
        if forged != "none":
            assert response.status_code == 400, (receipt, forged)
        elif "\x00" in receipt or not is_well_formed(receipt):
            assert response.status_code in {400, 422}, receipt
        else:
            assert response.status_code == 200, receipt
            body = response.get_data(as_text=True)
            mine = receipt in {code, code.lower().replace("-", " ")}
            assert ("Your receipt is in the ledger" in body) == mine, receipt

    check()
    fuzz.report(f"receipt check ({engine})", sum(statuses.values()), started)
    print(f"  statuses {dict(sorted(statuses.items()))}")
    assert statuses.get(200, 0) > 0 and statuses.get(422, 0) > 0
