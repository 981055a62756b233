"""Property-based tests of the public API against its own OpenAPI document:
schemathesis generates requests (valid and invalid slugs) and checks every
answer: no server error, status codes, content types and bodies as documented."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from flask import Flask
from flask_migrate import upgrade
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode

from campaigns import create_app
from campaigns.extensions import db
from campaigns.models import Campaign, SignatureState
from campaigns.seed import seed
from tests.conftest import base_config
from tests.factories import create_signature
from tests.results.support import count_now

SLUGS = ("no-russia-on-hrc", "olive-trees-afrin")
CASES: Counter[str] = Counter()


def add_signers(slug: str, places: list[tuple[str, str | None, int]]) -> None:
    campaign = db.session.query(Campaign).filter_by(slug=slug).one()
    for country, code, n in places:
        for _ in range(n):
            create_signature(
                campaign,
                state=SignatureState.validated,
                country=country,
                region_code=code,
                amount=3 if campaign.is_pledge else None,
            )


@pytest.fixture(scope="module")
def api_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    """The app on its own SQLite database, with the two real campaigns and some
    counted signatures, so that the 200 answers carry figures."""
    tmp = tmp_path_factory.mktemp("schemathesis")
    app = create_app(base_config(tmp, f"sqlite:///{tmp / 'api.sqlite3'}"))
    with app.app_context():
        upgrade()
        assert set(seed()) >= {"no-russia-on-hrc", "olive-trees-afrin"}
        db.session.commit()
        add_signers(
            "no-russia-on-hrc",
            [("SY", "SY-HL", 6), ("SY", "SY-ID", 2), ("TR", "TR-27", 5), ("DE", None, 3)],
        )
        add_signers("olive-trees-afrin", [("SY", "SY-HL", 7), ("TR", "TR-31", 2)])
        count_now()
        db.session.remove()
    yield app
    print(f"\nschemathesis cases: {dict(CASES)} ({sum(CASES.values())} in all)")
    with app.app_context():
        db.engine.dispose()


@pytest.fixture(scope="module")
def api_schema(api_app: Flask) -> Any:
    return schemathesis.openapi.from_wsgi("/api/v1/openapi.json", api_app)


# schemathesis' lazy pytest loader (`schemathesis.pytest.from_fixture`) does
# not run on pytest 9 (it sets `Function._nodeid`), so each operation is run
# through its Hypothesis strategy instead, in both generation modes.
OPERATIONS = [
    ("/api/v1/campaigns", GenerationMode.POSITIVE),
    ("/api/v1/campaigns/{slug}", GenerationMode.POSITIVE),
    ("/api/v1/campaigns/{slug}", GenerationMode.NEGATIVE),
    ("/api/v1/campaigns/{slug}/count", GenerationMode.POSITIVE),
    ("/api/v1/campaigns/{slug}/count", GenerationMode.NEGATIVE),
]


def cases(operation: Any, mode: GenerationMode) -> st.SearchStrategy[schemathesis.Case]:
    """Generated cases, and for positive ones also the real campaigns' slugs
    so that the documented 200 answers are checked as well as the 404s."""
    generated = operation.as_strategy(generation_mode=mode)
    if mode is GenerationMode.NEGATIVE or "{slug}" not in operation.path:
        return generated  # type: ignore[no-any-return]
    real = [operation.as_strategy(path_parameters={"slug": slug}) for slug in SLUGS]
    return st.one_of(generated, *real)


@pytest.mark.parametrize(
    ("path", "mode"), OPERATIONS, ids=[f"{m.value} {p}" for p, m in OPERATIONS]
)
def test_api_conforms_to_its_openapi_document(
    api_schema: Any, path: str, mode: GenerationMode
) -> None:
    operation = api_schema[path]["GET"]
    statuses: Counter[int] = Counter()

    @settings(
        max_examples=50,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    )
    @given(case=cases(operation, mode))
    def check(case: schemathesis.Case) -> None:
        # The in-process WSGI client does not decode brotli or gzip: ask for none.
        response = case.call_and_validate(headers={"Accept-Encoding": "identity"})
        statuses[response.status_code] += 1

    check()
    CASES[f"{mode.value} GET {path}"] = sum(statuses.values())
    assert statuses, "no case was run"
    if mode is GenerationMode.POSITIVE:
        assert statuses[200] > 0, statuses  # the documented answer was checked


def test_the_real_campaigns_answer_with_figures(api_app: Flask) -> None:
    """The generated cases reach the seeded campaigns: their figures are served."""
    client = api_app.test_client()
    petition = client.get("/api/v1/campaigns/no-russia-on-hrc").get_json()
    assert (petition["signers"], petition["goal"]) == (16, 100_000)
    # "Other" would hold 3: Turkey's 5, the smallest named country, joins it.
    assert petition["by_country"] == [
        {"country": "SY", "signers": 8, "total": 8},
        {"country": "other", "signers": 8, "total": 8},
    ]
    pledge = client.get("/api/v1/campaigns/olive-trees-afrin/count").get_json()
    assert pledge == {"total": 27, "signers": 9, "goal": 500}
