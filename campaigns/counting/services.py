"""The count job. Confirming a signature never touches a shared row; this
single-flight job folds validated (and no-longer-valid) signatures into the
count tables in batches, and marks them counted in the same transaction.

It is also the one place the public ledger learns of changes: each flip of
a ``counted`` flag writes a ledger event in the same transaction, so the
ledger's count is the public count by construction (``ledger/``)."""

from __future__ import annotations

import hashlib
import secrets
import time
from collections import defaultdict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import date, datetime
from typing import Any

from sqlalchemy import bindparam, case, delete, func, insert, select, text, update

from ..extensions import db
from ..kernel.regions import OTHER, REGION_COUNTRIES
from ..models import (
    UNCOUNTED,
    Campaign,
    CampaignCount,
    CountryCount,
    DailyCount,
    JobLock,
    LedgerEvent,
    RegionCount,
    Signature,
    SignatureSource,
    SignatureState,
    SourceCount,
    change_of,
)
from ..models.types import utcnow
from ..upsert import insert_add, insert_ignore
from .disclosure import Breakdowns, Cell, publish_breakdowns, publish_channels, publish_series


@contextmanager
def single_flight(name: str) -> Iterator[bool]:
    """Hold the job's lock row for this transaction; yields False if another
    runner holds it (PostgreSQL) — SQLite serializes writers by itself."""
    db.session.execute(insert_ignore(JobLock, ["name"]).values(name=name))
    db.session.commit()
    if db.session.get_bind().dialect.name == "postgresql":
        held = db.session.execute(
            select(JobLock.name)
            .where(JobLock.name == name)
            .with_for_update(skip_locked=True)
        ).scalar()
        if held is None:
            db.session.rollback()
            yield False
            return
    db.session.execute(update(JobLock).where(JobLock.name == name).values(last_run_at=utcnow()))
    yield True


def _fold_batch(limit: int) -> int:
    rows = db.session.execute(
        select(
            Signature.id,
            Signature.campaign_id,
            Signature.country,
            Signature.validated_at,
            Signature.amount,
            Signature.state,
            Signature.source,
            Signature.region_code,
            Signature.receipt_hash,
            Signature.source_code_id,
        )
        .where(text(UNCOUNTED))
        .order_by(Signature.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    ).all()
    if not rows:
        return 0
    # [signers, total] deltas per bucket; campaigns also count demo,
    # in-person and paper signers.
    campaigns: dict[int, list[int]] = defaultdict(lambda: [0, 0, 0, 0, 0])
    countries: dict[tuple[int, str], list[int]] = defaultdict(lambda: [0, 0])
    regions: dict[tuple[int, str, str], list[int]] = defaultdict(lambda: [0, 0])
    days: dict[tuple[int, date], list[int]] = defaultdict(lambda: [0, 0])
    sources: dict[tuple[int, int, date, str], list[int]] = defaultdict(lambda: [0, 0])
    for row in rows:
        sign = 1 if row.state is SignatureState.validated else -1
        units = row.amount if row.amount is not None else 1
        validated_at: datetime = row.validated_at or utcnow()
        buckets = [
            campaigns[row.campaign_id],
            countries[(row.campaign_id, row.country)],
            days[(row.campaign_id, validated_at.date())],
        ]
        if row.country in REGION_COUNTRIES:
            buckets.append(regions[(row.campaign_id, row.country, row.region_code or OTHER)])
        if row.source_code_id is not None:
            key = (row.campaign_id, row.source_code_id, validated_at.date(), row.country)
            buckets.append(sources[key])
        for bucket in buckets:
            bucket[0] += sign
            bucket[1] += sign * units
        if row.source is SignatureSource.demo:
            campaigns[row.campaign_id][2] += sign
        elif row.source is SignatureSource.in_person:
            campaigns[row.campaign_id][3] += sign
        elif row.source is SignatureSource.paper:
            campaigns[row.campaign_id][4] += sign
    now = utcnow()
    for campaign_id, (signers, total, demo, in_person, paper) in campaigns.items():
        db.session.execute(
            insert_add(
                CampaignCount,
                ["campaign_id"],
                ["signers", "total", "demo_signers", "in_person_signers", "paper_signers"],
                ("updated_at",),
            ).values(
                campaign_id=campaign_id,
                signers=signers,
                total=total,
                demo_signers=demo,
                in_person_signers=in_person,
                paper_signers=paper,
                updated_at=now,
            )
        )
    _add_deltas(CountryCount, ["campaign_id", "country"], countries)
    _add_deltas(RegionCount, ["campaign_id", "country", "region"], regions)
    _add_deltas(DailyCount, ["campaign_id", "day"], days)
    record_ledger_events(rows)
    _add_deltas(SourceCount, ["campaign_id", "source_code_id", "day", "country"], sources)
    db.session.execute(
        update(Signature)
        .where(Signature.id.in_([row.id for row in rows]))
        .values(counted=~Signature.counted)
        .execution_options(synchronize_session=False)
    )
    return len(rows)


def record_ledger_events(rows: Sequence[Any]) -> None:
    """A ledger event for each signature entering or leaving the count (rows
    with ``id``, ``campaign_id``, ``state``, ``amount``, ``receipt_hash``).
    One that enters without a receipt (paper, an organizer's release) is
    given a random receipt hash nobody holds the code of; one that leaves
    without one (never in the ledger) still leaves under a fresh hash, so the
    ledger's count follows the public count."""
    missing = {
        row.id: hashlib.sha256(secrets.token_bytes(32)).digest()
        for row in rows
        if row.receipt_hash is None
    }
    if missing:
        table = Signature.__table__  # a plain executemany, not the ORM's bulk update
        db.session.execute(
            update(table)
            .where(table.c.id == bindparam("sid"))
            .values(receipt_hash=bindparam("rh")),
            [{"sid": sid, "rh": rh} for sid, rh in missing.items()],
        )
    events = []
    for row in rows:
        change, reason = change_of(row.state)
        events.append(
            {
                "campaign_id": row.campaign_id,
                "receipt_hash": row.receipt_hash or missing[row.id],
                "change": change,
                "reason": reason.value if reason else None,
                "units": row.amount if row.amount is not None else 1,
            }
        )
    db.session.execute(insert(LedgerEvent), events)


def _add_deltas(model: Any, keys: list[str], deltas: dict[Any, list[int]]) -> None:
    """Add each bucket's [signers, total] to its row of a count table, keyed by ``keys``."""
    statement = insert_add(model, keys, ["signers", "total"])
    for key, (signers, total) in deltas.items():
        db.session.execute(
            statement.values(**dict(zip(keys, key, strict=True)), signers=signers, total=total)
        )


def update_signature_counts(batch: int = 5000, budget_seconds: float = 0.8) -> int:
    """Fold uncounted signatures into the count tables, batch by batch, for at
    most ``budget_seconds``; returns how many were folded."""
    folded = 0
    deadline = time.monotonic() + budget_seconds
    with single_flight("update_signature_counts") as held:
        if not held:
            return 0
        while True:
            n = _fold_batch(batch)
            folded += n
            db.session.commit()
            if n < batch or time.monotonic() > deadline:
                break
            # Keep the lock for the next batch.
            db.session.execute(
                update(JobLock)
                .where(JobLock.name == "update_signature_counts")
                .values(last_run_at=utcnow())
            )
    return folded


def recount_signatures(campaign: Campaign) -> None:
    """Rebuild a campaign's count tables from its signatures' states.

    The flags are set from the states first: that UPDATE locks every row of the
    campaign until the commit, so a confirmation arriving meanwhile waits and
    is folded by the next run instead of slipping between the sums and the
    flags."""
    with single_flight("update_signature_counts") as held:
        if not held:
            raise RuntimeError("the count job is running; try again")
        cid = campaign.id
        # The flags about to be set tell the ledger too, as the job would have.
        flipping = db.session.execute(
            select(
                Signature.id,
                Signature.campaign_id,
                Signature.state,
                Signature.amount,
                Signature.receipt_hash,
            ).where(Signature.campaign_id == cid, text(UNCOUNTED))
        ).all()
        if flipping:
            record_ledger_events(flipping)
        db.session.execute(
            update(Signature)
            .where(Signature.campaign_id == cid)
            .values(counted=Signature.state == SignatureState.validated)
            .execution_options(synchronize_session=False)
        )
        for model in (CampaignCount, CountryCount, RegionCount, DailyCount, SourceCount):
            db.session.execute(delete(model).where(model.campaign_id == cid))
        validated = (Signature.campaign_id == cid) & Signature.counted.is_(True)
        units = func.coalesce(Signature.amount, 1)
        is_demo = case((Signature.source == SignatureSource.demo, 1), else_=0)
        is_in_person = case((Signature.source == SignatureSource.in_person, 1), else_=0)
        is_paper = case((Signature.source == SignatureSource.paper, 1), else_=0)
        signers, total, demo, in_person, paper = db.session.execute(
            select(
                func.count(),
                func.coalesce(func.sum(units), 0),
                func.coalesce(func.sum(is_demo), 0),
                func.coalesce(func.sum(is_in_person), 0),
                func.coalesce(func.sum(is_paper), 0),
            ).where(validated)
        ).one()
        db.session.add(
            CampaignCount(
                campaign_id=cid,
                signers=signers,
                total=total,
                demo_signers=demo,
                in_person_signers=in_person,
                paper_signers=paper,
                updated_at=utcnow(),
            )
        )
        region = func.coalesce(Signature.region_code, OTHER)
        for country, code, n, t in db.session.execute(
            select(Signature.country, region, func.count(), func.sum(units))
            .where(validated, Signature.country.in_(REGION_COUNTRIES))
            .group_by(Signature.country, region)
        ):
            db.session.add(
                RegionCount(campaign_id=cid, country=country, region=code, signers=n, total=t)
            )
        for country, n, t in db.session.execute(
            select(Signature.country, func.count(), func.sum(units))
            .where(validated)
            .group_by(Signature.country)
        ):
            db.session.add(CountryCount(campaign_id=cid, country=country, signers=n, total=t))
        day = func.date(Signature.validated_at)
        for d, n, t in db.session.execute(
            select(day, func.count(), func.sum(units)).where(validated).group_by(day)
        ):
            db.session.add(DailyCount(campaign_id=cid, day=_as_date(d), signers=n, total=t))
        source = Signature.source_code_id
        for code_id, d, country, n, t in db.session.execute(
            select(source, day, Signature.country, func.count(), func.sum(units))
            .where(validated, source.is_not(None))
            .group_by(source, day, Signature.country)
        ):
            db.session.add(
                SourceCount(
                    campaign_id=cid,
                    source_code_id=code_id,
                    day=_as_date(d),
                    country=country,
                    signers=n,
                    total=t,
                )
            )
        db.session.commit()


def _as_date(value: date | str) -> date:
    """A ``date()`` of SQL: a date on PostgreSQL, text on SQLite."""
    return value if isinstance(value, date) else date.fromisoformat(value)


def campaign_count(campaign_id: int) -> CampaignCount:
    """The campaign's aggregated figures (zeros before the first count)."""
    count = db.session.get(CampaignCount, campaign_id)
    return count or CampaignCount(
        campaign_id=campaign_id,
        signers=0,
        total=0,
        demo_signers=0,
        in_person_signers=0,
        paper_signers=0,
        updated_at=None,
    )


def published_breakdowns(campaign_id: int, count: CampaignCount) -> Breakdowns:
    """Signers and totals per country under ``count``, and per region under
    each published country, through the disclosure rule (``disclosure``)."""
    countries = [
        Cell(country, signers, total)
        for country, signers, total in db.session.execute(
            select(CountryCount.country, CountryCount.signers, CountryCount.total).where(
                CountryCount.campaign_id == campaign_id
            )
        )
    ]
    regions: dict[str, list[Cell]] = {country: [] for country in REGION_COUNTRIES}
    for country, region, signers, total in db.session.execute(
        select(
            RegionCount.country, RegionCount.region, RegionCount.signers, RegionCount.total
        ).where(RegionCount.campaign_id == campaign_id)
    ):
        regions.setdefault(country, []).append(Cell(region, signers, total))
    return publish_breakdowns(Cell("", count.signers, count.total), countries, regions)


def published_channels(count: CampaignCount) -> list[dict[str, Any]]:
    """The count's signers online, on paper and in person, as they may be
    published (``disclosure.publish_channels``)."""
    return publish_channels(count.signers, count.paper_signers, count.in_person_signers)


def published_days(campaign_id: int) -> list[tuple[date, int, int]]:
    """The campaign's days (day, signers, total) as they may be published."""
    rows = db.session.execute(
        select(DailyCount.day, DailyCount.signers, DailyCount.total).where(
            DailyCount.campaign_id == campaign_id
        )
    )
    return publish_series((day, signers, total) for day, signers, total in rows)
