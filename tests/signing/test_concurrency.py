"""Many identical submissions at once (a double-click, a retrying phone, a
bot) on the real PostgreSQL: the unique index keeps one signature, and every
request still gets the ordinary answer."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from flask import Flask

from campaigns.models import CampaignKind, SignatureState
from tests.factories import create_campaign

from .support import sign_url, stored_outbox, stored_signatures, valid_form

SUBMISSIONS = 50
TIMEOUT = 60


@pytest.fixture
def postgres_app(engine_name: str, request: pytest.FixtureRequest) -> Flask:
    if engine_name == "sqlite":
        pytest.skip("concurrency is tested on PostgreSQL, the production database")
    app: Flask = request.getfixturevalue("app")
    return app


def _submit_at_once(app: Flask, url: str, forms: list[dict[str, str]]) -> list[tuple[int, str]]:
    """POST every form from its own thread and test client, released together."""
    start = threading.Barrier(len(forms), timeout=TIMEOUT)

    def submit(form: dict[str, str]) -> tuple[int, str]:
        client = app.test_client()
        start.wait()
        response = client.post(url, data=form)
        return response.status_code, response.headers.get("Location", "")

    with ThreadPoolExecutor(max_workers=len(forms)) as pool:
        futures = [pool.submit(submit, form) for form in forms]
        return [future.result(timeout=TIMEOUT) for future in futures]


def test_identical_concurrent_submissions_leave_one_signature(postgres_app: Flask) -> None:
    campaign = create_campaign(kind=CampaignKind.pledge)
    slug, url = campaign.slug, sign_url(campaign)

    results = _submit_at_once(postgres_app, url, [valid_form()] * SUBMISSIONS)

    statuses = [status for status, _ in results]
    assert statuses == [303] * SUBMISSIONS, statuses
    assert {location for _, location in results} == {f"/ar/campaigns/{slug}/thanks"}
    [signature] = stored_signatures()
    assert signature.state is SignatureState.pending
    assert signature.amount == 3
    tasks = stored_outbox()
    assert tasks.count(("validate_signature", signature.id)) == 1
    assert tasks.count(("notify_duplicate_signature", signature.id)) == SUBMISSIONS - 1
    assert len(tasks) == SUBMISSIONS


def test_concurrent_variants_of_one_address_leave_one_signature(postgres_app: Flask) -> None:
    campaign = create_campaign()
    url = sign_url(campaign)
    variants = [
        "Rami.Halabi@gmail.com",
        "rami.halabi@googlemail.com",
        "RAMIHALABI+x@gmail.com",
        "r.amihalabi@gmail.com",
        "ramihalabi+petition@googlemail.com",
    ]
    forms = [valid_form(email=variants[i % len(variants)]) for i in range(SUBMISSIONS)]

    results = _submit_at_once(postgres_app, url, forms)

    assert [status for status, _ in results] == [303] * SUBMISSIONS
    assert len(stored_signatures()) == 1


def test_concurrent_different_people_are_all_kept(postgres_app: Flask) -> None:
    campaign = create_campaign()
    url = sign_url(campaign)
    forms = [valid_form(email=f"signer{i}@example.org") for i in range(SUBMISSIONS)]

    results = _submit_at_once(postgres_app, url, forms)

    assert [status for status, _ in results] == [303] * SUBMISSIONS
    assert len(stored_signatures()) == SUBMISSIONS
    assert [task for task, _ in stored_outbox()] == ["validate_signature"] * SUBMISSIONS
