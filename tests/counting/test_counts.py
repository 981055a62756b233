"""The count job: validated signatures folded into the count tables in
batches, idempotently, with invalidations subtracted; the recount; the
public breakdown and count JSON."""

from __future__ import annotations

import threading
import time
from datetime import date, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import delete, select, text, update
from sqlalchemy import event as sa_event
from sqlalchemy.exc import OperationalError

from campaigns.counting.disclosure import K_MIN, as_rows
from campaigns.counting.services import (
    campaign_count,
    published_breakdowns,
    recount_signatures,
    update_signature_counts,
)
from campaigns.extensions import db
from campaigns.kernel.regions import OTHER, REGION_COUNTRIES
from campaigns.models import (
    Campaign,
    CampaignCount,
    CampaignKind,
    CountryCount,
    DailyCount,
    RegionCount,
    Signature,
    SignatureSource,
    SignatureState,
)
from campaigns.models.types import utcnow
from tests.factories import create_campaign, create_signature

THREAD_TIMEOUT = 120

Figures = dict[str, Any]


def figures(campaign_id: int) -> Figures:
    """Everything the count tables say about one campaign."""
    db.session.expire_all()
    total = db.session.get(CampaignCount, campaign_id)
    return {
        "campaign": (total.signers, total.total) if total else None,
        "countries": {
            c.country: (c.signers, c.total)
            for c in db.session.scalars(
                select(CountryCount).where(CountryCount.campaign_id == campaign_id)
            )
            if c.signers or c.total
        },
        "regions": {
            (r.country, r.region): (r.signers, r.total)
            for r in db.session.scalars(
                select(RegionCount).where(RegionCount.campaign_id == campaign_id)
            )
            if r.signers or r.total
        },
        "days": {
            d.day: (d.signers, d.total)
            for d in db.session.scalars(
                select(DailyCount).where(DailyCount.campaign_id == campaign_id)
            )
            if d.signers or d.total
        },
    }


def expected_figures(campaign_id: int) -> Figures:
    """The same figures computed from the signatures themselves (the truth)."""
    db.session.expire_all()
    campaign = [0, 0]
    countries: dict[str, list[int]] = {}
    regions: dict[tuple[str, str], list[int]] = {}
    days: dict[date, list[int]] = {}
    for s in db.session.scalars(
        select(Signature).where(
            Signature.campaign_id == campaign_id, Signature.state == SignatureState.validated
        )
    ):
        units = s.amount if s.amount is not None else 1
        assert s.validated_at is not None
        buckets = [
            campaign,
            countries.setdefault(s.country, [0, 0]),
            days.setdefault(s.validated_at.date(), [0, 0]),
        ]
        if s.country in REGION_COUNTRIES:
            buckets.append(regions.setdefault((s.country, s.region_code or OTHER), [0, 0]))
        for bucket in buckets:
            bucket[0] += 1
            bucket[1] += units
    return {
        "campaign": tuple(campaign),
        "countries": {k: tuple(v) for k, v in countries.items()},
        "regions": {k: tuple(v) for k, v in regions.items()},
        "days": {k: tuple(v) for k, v in days.items()},
    }


def uncounted() -> int:
    db.session.expire_all()
    return sum(
        1
        for s in db.session.scalars(select(Signature))
        if s.counted != (s.state is SignatureState.validated)
    )


def validated(campaign: Campaign, **fields: Any) -> Signature:
    return create_signature(campaign, state=SignatureState.validated, ip=None, **fields)


def set_state(signature_id: int, state: SignatureState) -> None:
    db.session.execute(
        update(Signature)
        .where(Signature.id == signature_id)
        .values(state=state, invalidated_at=utcnow())
    )
    db.session.commit()


def at(days_ago: int) -> datetime:
    return utcnow().replace(hour=12, minute=0, second=0, microsecond=0) - timedelta(days=days_ago)


# --- folding ---------------------------------------------------------------


def test_petition_counts_validated_signatures_only(app: Flask) -> None:
    campaign = create_campaign()
    validated(campaign, country="SY", region_code="SY-HL")
    validated(campaign, country="SY", region_code="SY-HL")
    validated(campaign, country="SY")  # region not recognized
    for _ in range(2):
        validated(campaign, country="TR", region_code="TR-27")
    validated(campaign, country="DE")  # no regions tracked there
    create_signature(campaign, country="SY")  # pending
    create_signature(campaign, country="SY", checked=True)  # pending, checked
    create_signature(campaign, state=SignatureState.fraudulent, country="DE")
    create_signature(campaign, state=SignatureState.invalidated, country="DE")

    assert update_signature_counts() == 6

    today = utcnow().date()
    assert figures(campaign.id) == {
        "campaign": (6, 6),
        "countries": {"SY": (3, 3), "TR": (2, 2), "DE": (1, 1)},
        "regions": {("SY", "SY-HL"): (2, 2), ("SY", OTHER): (1, 1), ("TR", "TR-27"): (2, 2)},
        "days": {today: (6, 6)},
    }
    assert figures(campaign.id) == expected_figures(campaign.id)
    assert uncounted() == 0


def test_pledge_counts_amounts_in_total_and_one_per_signer(app: Flask) -> None:
    campaign = create_campaign(kind=CampaignKind.pledge, goal=500)
    validated(campaign, amount=3, country="SY")
    validated(campaign, amount=5, country="SY")
    validated(campaign, amount=10, country="TR")
    create_signature(campaign, amount=100, country="TR")  # pending: not yet
    create_signature(campaign, state=SignatureState.fraudulent, amount=400, country="TR")

    assert update_signature_counts() == 3

    assert figures(campaign.id) == {
        "campaign": (3, 18),
        "countries": {"SY": (2, 8), "TR": (1, 10)},
        "regions": {("SY", OTHER): (2, 8), ("TR", OTHER): (1, 10)},
        "days": {utcnow().date(): (3, 18)},
    }


def test_second_run_changes_nothing(app: Flask) -> None:
    campaign = create_campaign(kind=CampaignKind.pledge)
    for amount in (1, 2, 3):
        validated(campaign, amount=amount)
    assert update_signature_counts() == 3
    first = figures(campaign.id)

    assert update_signature_counts() == 0
    assert update_signature_counts() == 0

    assert figures(campaign.id) == first


def test_new_validations_are_added_on_the_next_run(app: Flask) -> None:
    campaign = create_campaign()
    validated(campaign)
    pending = create_signature(campaign, checked=True)
    assert update_signature_counts() == 1

    db.session.execute(
        update(Signature)
        .where(Signature.id == pending.id)
        .values(state=SignatureState.validated, validated_at=utcnow())
    )
    db.session.commit()

    assert update_signature_counts() == 1
    assert figures(campaign.id)["campaign"] == (2, 2)


@pytest.mark.parametrize("new_state", [SignatureState.invalidated, SignatureState.fraudulent])
def test_invalidated_after_counting_is_subtracted(
    app: Flask, new_state: SignatureState
) -> None:
    campaign = create_campaign(kind=CampaignKind.pledge)
    yesterday = validated(
        campaign, amount=4, country="SY", region_code="SY-DI", created_at=at(1)
    )
    validated(campaign, amount=6, country="SY", region_code="SY-DI", created_at=at(0))
    validated(campaign, amount=1, country="TR", created_at=at(0))
    assert update_signature_counts() == 3
    assert figures(campaign.id)["campaign"] == (3, 11)

    set_state(yesterday.id, new_state)

    assert update_signature_counts() == 1
    # Subtracted from the day it was counted in, not from today.
    assert figures(campaign.id) == {
        "campaign": (2, 7),
        "countries": {"SY": (1, 6), "TR": (1, 1)},
        "regions": {("SY", "SY-DI"): (1, 6), ("TR", OTHER): (1, 1)},
        "days": {at(0).date(): (2, 7)},
    }
    assert figures(campaign.id) == expected_figures(campaign.id)
    assert update_signature_counts() == 0
    assert figures(campaign.id)["campaign"] == (2, 7)


def test_invalidated_before_counting_is_never_counted(app: Flask) -> None:
    campaign = create_campaign()
    signature = validated(campaign)
    validated(campaign)
    set_state(signature.id, SignatureState.invalidated)

    assert update_signature_counts() == 1

    assert figures(campaign.id)["campaign"] == (1, 1)


@pytest.mark.parametrize("batch", [1, 3, 4, 10, 5000])
def test_batching_gives_the_same_result(app: Flask, batch: int) -> None:
    petition = create_campaign()
    pledge = create_campaign(kind=CampaignKind.pledge)
    countries = ["SY", "TR", "DE"]
    for i in range(10):
        campaign = pledge if i % 2 else petition
        validated(
            campaign,
            country=countries[i % 3],
            region_code="SY-HL" if i % 4 == 0 and countries[i % 3] == "SY" else None,
            amount=(i + 1) if campaign is pledge else None,
            created_at=at(i % 4),
        )
    create_signature(petition)  # pending: never counted

    assert update_signature_counts(batch=batch, budget_seconds=60) == 10

    assert uncounted() == 0
    for campaign in (petition, pledge):
        assert figures(campaign.id) == expected_figures(campaign.id)
    assert figures(petition.id)["campaign"] == (5, 5)
    assert figures(pledge.id)["campaign"] == (5, 2 + 4 + 6 + 8 + 10)
    assert update_signature_counts(batch=batch, budget_seconds=60) == 0


def test_batches_stop_when_the_time_budget_is_spent_and_resume(app: Flask) -> None:
    campaign = create_campaign()
    for _ in range(10):
        validated(campaign)

    # No time budget at all: one batch, then stop.
    assert update_signature_counts(batch=3, budget_seconds=0) == 3
    assert figures(campaign.id)["campaign"] == (3, 3)

    assert update_signature_counts(batch=3, budget_seconds=60) == 7
    assert figures(campaign.id) == expected_figures(campaign.id)


# --- recount ---------------------------------------------------------------


def test_recount_rebuilds_the_figures_after_tampering(app: Flask) -> None:
    campaign = create_campaign(kind=CampaignKind.pledge)
    other = create_campaign()
    for i, (country, region) in enumerate(
        [("SY", "SY-HL"), ("SY", None), ("TR", "TR-27"), ("DE", None), ("DE", None), ("DE", None)]
    ):
        validated(
            campaign, country=country, region_code=region, amount=i + 1, created_at=at(i % 2)
        )
    create_signature(campaign, state=SignatureState.fraudulent, amount=50)
    validated(other, country="SY")
    update_signature_counts()
    truth = figures(campaign.id)
    other_truth = figures(other.id)
    assert truth == expected_figures(campaign.id)

    db.session.execute(
        update(CampaignCount).where(CampaignCount.campaign_id == campaign.id).values(signers=999)
    )
    db.session.execute(
        delete(CountryCount).where(
            CountryCount.campaign_id == campaign.id, CountryCount.country == "TR"
        )
    )
    db.session.execute(
        update(CountryCount).where(CountryCount.campaign_id == campaign.id).values(total=-7)
    )
    db.session.add(DailyCount(campaign_id=campaign.id, day=date(2020, 1, 1), signers=5, total=5))
    db.session.execute(
        update(RegionCount).where(RegionCount.campaign_id == campaign.id).values(signers=42)
    )
    db.session.commit()
    assert figures(campaign.id) != truth

    recount_signatures(campaign)

    assert figures(campaign.id) == truth
    assert figures(other.id) == other_truth
    assert uncounted() == 0
    # The next run has nothing to fold, and changes nothing.
    assert update_signature_counts() == 0
    assert figures(campaign.id) == truth


def test_recount_between_an_invalidation_and_the_next_run(app: Flask) -> None:
    campaign = create_campaign(kind=CampaignKind.pledge)
    ids = [validated(campaign, amount=n, country="SY").id for n in (1, 2, 3)]
    update_signature_counts()
    # Invalidated after it was counted; the job has not run since. And the
    # tables were tampered with.
    set_state(ids[0], SignatureState.invalidated)
    db.session.execute(update(CampaignCount).values(signers=0, total=0))
    db.session.commit()

    recount_signatures(campaign)
    update_signature_counts()

    assert uncounted() == 0
    assert figures(campaign.id) == expected_figures(campaign.id)
    assert figures(campaign.id)["campaign"] == (2, 5)
    assert update_signature_counts() == 0


def channels(campaign_id: int) -> tuple[int, int, int, int]:
    db.session.expire_all()
    count = db.session.get(CampaignCount, campaign_id)
    assert count is not None
    return count.signers, count.paper_signers, count.in_person_signers, count.demo_signers


def test_paper_signers_are_counted_apart_and_recounted_exactly(app: Flask) -> None:
    campaign = create_campaign(kind=CampaignKind.pledge)
    sources = [SignatureSource.paper] * 4 + [SignatureSource.in_person] * 2
    sources += [SignatureSource.web] * 3 + [SignatureSource.demo]
    made = [validated(campaign, source=source, amount=3) for source in sources]
    create_signature(campaign, state=SignatureState.held, source=SignatureSource.paper)
    update_signature_counts(batch=3)
    assert channels(campaign.id) == (10, 4, 2, 1)

    # A paper signature invalidated after it was counted is taken away.
    set_state(made[0].id, SignatureState.invalidated)
    update_signature_counts()
    assert channels(campaign.id) == (9, 3, 2, 1)

    db.session.execute(
        update(CampaignCount)
        .where(CampaignCount.campaign_id == campaign.id)
        .values(paper_signers=77)
    )
    db.session.commit()
    recount_signatures(campaign)
    assert channels(campaign.id) == (9, 3, 2, 1)
    # Invalidated again between two runs: the recount and the job agree.
    set_state(made[1].id, SignatureState.invalidated)
    recount_signatures(campaign)
    assert channels(campaign.id) == (8, 2, 2, 1)
    assert update_signature_counts() == 0
    assert channels(campaign.id) == (8, 2, 2, 1)


def test_recount_of_a_never_counted_campaign(app: Flask) -> None:
    campaign = create_campaign()
    validated(campaign, country="SY")
    validated(campaign, country="TR", created_at=at(3))
    create_signature(campaign)

    recount_signatures(campaign)
    update_signature_counts()

    assert figures(campaign.id) == expected_figures(campaign.id)
    assert figures(campaign.id)["campaign"] == (2, 2)
    assert uncounted() == 0
    assert update_signature_counts() == 0


def test_recount_of_an_empty_campaign_gives_zeros(app: Flask) -> None:
    campaign = create_campaign()
    recount_signatures(campaign)
    assert figures(campaign.id) == {
        "campaign": (0, 0),
        "countries": {},
        "regions": {},
        "days": {},
    }


# --- what the public reads ---------------------------------------------------


def country_breakdown(campaign_id: int) -> list[dict[str, Any]]:
    """The published countries, read from the count tables."""
    breakdowns = published_breakdowns(campaign_id, campaign_count(campaign_id))
    return as_rows(breakdowns.by_country, "country")


def test_country_breakdown_merges_small_buckets_into_other(app: Flask) -> None:
    campaign = create_campaign(kind=CampaignKind.pledge)
    plan = {"SY": 6, "TR": K_MIN, "DE": K_MIN - 1, "FR": 1, "IQ": 2}
    for country, n in plan.items():
        for _ in range(n):
            validated(campaign, country=country, amount=2)
    update_signature_counts()

    breakdown = country_breakdown(campaign.id)

    assert breakdown == [
        {"country": "SY", "signers": 6, "total": 12},
        {"country": "TR", "signers": 5, "total": 10},
        {"country": "other", "signers": 7, "total": 14},
    ]
    # No country with fewer than K_MIN signers can be read off.
    assert all(int(b["signers"]) >= K_MIN for b in breakdown)


def test_country_breakdown_without_small_buckets_has_no_other(app: Flask) -> None:
    campaign = create_campaign()
    for _ in range(5):
        validated(campaign, country="SY")
    update_signature_counts()

    assert country_breakdown(campaign.id) == [{"country": "SY", "signers": 5, "total": 5}]


def test_country_breakdown_drops_countries_emptied_by_invalidation(app: Flask) -> None:
    campaign = create_campaign()
    lone = validated(campaign, country="FR")
    for _ in range(5):
        validated(campaign, country="SY")
    update_signature_counts()
    set_state(lone.id, SignatureState.invalidated)
    update_signature_counts()

    assert country_breakdown(campaign.id) == [{"country": "SY", "signers": 5, "total": 5}]


def test_count_json_reflects_the_job(app: Flask, client: FlaskClient) -> None:
    campaign = create_campaign(kind=CampaignKind.pledge, goal=500)
    url = f"/api/v1/campaigns/{campaign.slug}/count"
    assert client.get(url).get_json() == {"total": 0, "signers": 0, "goal": 500}

    validated(campaign, amount=7)
    validated(campaign, amount=3)
    create_signature(campaign, amount=90)  # pending
    # Confirming alone does not move the public count; the job does.
    assert client.get(url).get_json()["signers"] == 0

    update_signature_counts()

    response = client.get(url)
    assert response.status_code == 200
    assert response.get_json() == {"total": 10, "signers": 2, "goal": 500}
    detail = client.get(f"/api/v1/campaigns/{campaign.slug}").get_json()
    assert (detail["total"], detail["signers"]) == (10, 2)
    assert detail["updated_at"] is not None


def test_count_json_after_an_invalidation(app: Flask, client: FlaskClient) -> None:
    campaign = create_campaign()
    first = validated(campaign)
    validated(campaign)
    update_signature_counts()
    set_state(first.id, SignatureState.invalidated)
    update_signature_counts()

    body = client.get(f"/api/v1/campaigns/{campaign.slug}/count").get_json()
    assert (body["total"], body["signers"]) == (1, 1)


# --- concurrency (PostgreSQL) ------------------------------------------------


def _run_count_jobs_while(
    app: Flask, runners: int, work: Any, batch: int = 3
) -> list[int]:
    """Run ``update_signature_counts`` over and over in ``runners`` threads (each
    with its own app context and session) while ``work()`` runs here; returns
    how many signatures each run folded."""
    stop = threading.Event()
    start = threading.Barrier(runners + 1)
    folded: list[int] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def run() -> None:
        try:
            with app.app_context():
                start.wait(timeout=THREAD_TIMEOUT)
                deadline = time.monotonic() + THREAD_TIMEOUT
                while not stop.is_set() and time.monotonic() < deadline:
                    n = update_signature_counts(batch=batch, budget_seconds=60)
                    with lock:
                        folded.append(n)
        except BaseException as exc:
            with lock:
                errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(runners)]
    for thread in threads:
        thread.start()
    try:
        start.wait(timeout=THREAD_TIMEOUT)
        work()
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=THREAD_TIMEOUT)
    assert not any(t.is_alive() for t in threads), "a count job did not finish in time"
    assert errors == []
    return folded


def test_concurrent_runs_never_double_count(app: Flask, engine_name: str) -> None:
    if engine_name != "postgresql":
        pytest.skip("concurrent count jobs rely on PostgreSQL row locks")
    petition = create_campaign()
    pledge = create_campaign(kind=CampaignKind.pledge)
    countries = ["SY", "TR", "DE", "IQ"]
    ids = []
    for i in range(150):
        campaign = pledge if i % 3 == 0 else petition
        ids.append(
            create_signature(
                campaign,
                checked=True,
                ip=None,
                country=countries[i % 4],
                amount=(i % 5) + 1 if campaign is pledge else None,
            ).id
        )

    def confirm_them() -> None:
        # Signers confirm in small groups while the jobs run.
        for start in range(0, len(ids), 5):
            db.session.execute(
                update(Signature)
                .where(Signature.id.in_(ids[start : start + 5]))
                .values(state=SignatureState.validated, validated_at=utcnow())
            )
            db.session.commit()
            time.sleep(0.005)

    folded = _run_count_jobs_while(app, runners=4, work=confirm_them)

    folded.append(update_signature_counts(batch=1000, budget_seconds=60))
    assert sum(folded) == 150
    assert uncounted() == 0
    for campaign in (petition, pledge):
        assert figures(campaign.id) == expected_figures(campaign.id)
    assert figures(petition.id)["campaign"] == (100, 100)


def test_concurrent_runs_with_invalidations_never_double_subtract(
    app: Flask, engine_name: str
) -> None:
    if engine_name != "postgresql":
        pytest.skip("concurrent count jobs rely on PostgreSQL row locks")
    campaign = create_campaign()
    ids = [validated(campaign, country="SY").id for _ in range(60)]
    pending = [
        create_signature(campaign, checked=True, ip=None, country="TR").id for _ in range(30)
    ]

    def confirm_and_invalidate() -> None:
        for k in range(30):
            set_state(ids[2 * k], SignatureState.invalidated)
            db.session.execute(
                update(Signature)
                .where(Signature.id == pending[k])
                .values(state=SignatureState.validated, validated_at=utcnow())
            )
            db.session.commit()
            time.sleep(0.005)

    _run_count_jobs_while(app, runners=4, work=confirm_and_invalidate)
    update_signature_counts(batch=1000, budget_seconds=60)

    assert uncounted() == 0
    assert figures(campaign.id) == expected_figures(campaign.id)
    assert figures(campaign.id)["campaign"] == (60, 60)
    assert figures(campaign.id)["countries"] == {"SY": (30, 30), "TR": (30, 30)}


def test_a_confirmation_during_a_recount_is_not_lost(app: Flask, engine_name: str) -> None:
    """Summing the signatures and setting their counted flags in separate
    statements, with nothing locked, lost such a confirmation for good."""
    if engine_name != "postgresql":
        pytest.skip("SQLite's single writer makes the confirmation wait for the recount")
    campaign = create_campaign()
    for _ in range(3):
        validated(campaign)
    late = create_signature(campaign, checked=True, ip=None)
    update_signature_counts()
    engine = db.engine
    outcome: list[str] = []

    def confirm(connection: Any) -> None:
        connection.execute(
            update(Signature)
            .where(Signature.id == late.id, Signature.state == SignatureState.pending)
            .values(state=SignatureState.validated, validated_at=utcnow())
        )
        connection.commit()

    def confirm_meanwhile(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        # A signer presses "confirm" right after the recount has summed the
        # campaign's signatures, before it has finished.
        sql = " ".join(statement.split()).upper()
        if outcome or not (sql.startswith("SELECT COUNT(*)") and "FROM SIGNATURES" in sql):
            return
        with engine.connect() as other:
            # A recount that locks the rows makes the signer wait: do not wait
            # here (same thread), confirm right after the recount instead.
            other.execute(text("SET LOCAL lock_timeout = '1s'"))
            try:
                confirm(other)
            except OperationalError:
                other.rollback()
                outcome.append("waited")
            else:
                outcome.append("confirmed")

    sa_event.listen(engine, "after_cursor_execute", confirm_meanwhile)
    try:
        recount_signatures(campaign)
    finally:
        sa_event.remove(engine, "after_cursor_execute", confirm_meanwhile)
    assert outcome in (["confirmed"], ["waited"])
    if outcome == ["waited"]:
        with engine.connect() as other:
            confirm(other)

    # Whatever the recount missed, the next run of the job must fold.
    update_signature_counts()
    assert figures(campaign.id) == expected_figures(campaign.id)
    assert figures(campaign.id)["campaign"] == (4, 4)
