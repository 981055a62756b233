"""Attribution counted exactly under concurrent signing on the real
PostgreSQL: signers through three codes, an unknown code and none sign at
once through the app, confirm at once while the count job runs, and the
per-source figures are exactly what was signed (and what a recount from the
signatures rebuilds)."""

from __future__ import annotations

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
from flask import Flask
from sqlalchemy import func, select

from campaigns.counting.services import recount_signatures, update_signature_counts
from campaigns.extensions import db
from campaigns.models import Signature, SignatureState, SourceCount
from campaigns.models.types import utcnow
from campaigns.signing.lifecycle import mark_checked
from campaigns.signing.tokens import make_confirm_token
from tests.moderation.support import make_console
from tests.signing.support import sign_url, valid_form

from .support import give_code

SIGNERS = 100
COUNTRIES = ("SY", "TR", "DE")
TIMEOUT = 120


@pytest.fixture
def postgres_app(engine_name: str, request: pytest.FixtureRequest) -> Flask:
    if engine_name == "sqlite":
        pytest.skip("concurrency is tested on PostgreSQL, the production database")
    app: Flask = request.getfixturevalue("app")
    return app


def _at_once(app: Flask, jobs: list[tuple[str, dict[str, str]]]) -> list[int]:
    """POST every (url, form) from its own thread and client, released together."""
    start = threading.Barrier(len(jobs), timeout=TIMEOUT)

    def post(job: tuple[str, dict[str, str]]) -> int:
        client = app.test_client()
        start.wait()
        return client.post(job[0], data=job[1]).status_code

    with ThreadPoolExecutor(max_workers=len(jobs)) as pool:
        return [f.result(timeout=TIMEOUT) for f in [pool.submit(post, job) for job in jobs]]


def _per_source() -> dict[tuple[int, str], int]:
    db.session.rollback()
    return {
        (code_id, country): int(n)
        for code_id, country, n in db.session.execute(
            select(
                SourceCount.source_code_id, SourceCount.country, func.sum(SourceCount.signers)
            ).group_by(SourceCount.source_code_id, SourceCount.country)
        )
        if n
    }


def test_attribution_is_counted_exactly_under_concurrent_signing(postgres_app: Flask) -> None:
    console = make_console()
    campaign = console.campaign
    partner = console.partner.organization
    codes = [
        give_code(campaign, partner, "concurrA_01", "Telegram"),
        give_code(campaign, partner, "concurrA_02", "Newsletter"),
        give_code(campaign, campaign.organization, "concurrU_01"),
    ]
    given = [c.code for c in codes] + ["unknownCod1", None]
    forms = []
    expected: Counter[tuple[int, str]] = Counter()
    for n in range(SIGNERS):
        src, country = given[n % len(given)], COUNTRIES[n % len(COUNTRIES)]
        form = valid_form(email=f"signer{n}@example.org", country=country, phone=None)
        if src is not None:
            form["src"] = src
        forms.append((sign_url(campaign), form))
        if n % len(given) < len(codes):
            expected[(codes[n % len(given)].id, country)] += 1

    assert _at_once(postgres_app, forms) == [303] * SIGNERS

    db.session.rollback()
    rows = db.session.execute(select(Signature.id, Signature.uuid)).all()
    assert len(rows) == SIGNERS
    mark_checked([row.id for row in rows], utcnow())
    db.session.commit()
    # Confirm all at once while the count job folds them in, again and again.
    stop = threading.Event()

    def count_meanwhile() -> None:
        with postgres_app.app_context():
            while not stop.is_set():
                update_signature_counts()
            db.session.remove()

    counter = threading.Thread(target=count_meanwhile)
    counter.start()
    try:
        confirms = [(f"/ar/confirm/{make_confirm_token(row.uuid)}", {}) for row in rows]
        statuses = _at_once(postgres_app, confirms)
    finally:
        stop.set()
        counter.join(TIMEOUT)
    assert set(statuses) == {303}
    update_signature_counts()
    db.session.commit()
    validated = db.session.execute(
        select(func.count()).where(Signature.state == SignatureState.validated)
    ).scalar_one()
    assert validated == SIGNERS

    counted = _per_source()
    by_code = Counter[int]()
    for (code_id, _), n in counted.items():
        by_code[code_id] += n
    print(
        "attribution under concurrency:",
        {c.code: by_code[c.id] for c in codes},
        "unknown and none:",
        SIGNERS - sum(by_code.values()),
    )
    assert counted == dict(expected)
    assert [by_code[c.id] for c in codes] == [20, 20, 20]
    # A recount from the signatures rebuilds exactly the same figures.
    recount_signatures(campaign)
    assert _per_source() == dict(expected)
