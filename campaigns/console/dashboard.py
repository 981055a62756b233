"""The console's first page answers "how are we doing, and is anything
wrong?": per campaign the figures its reader may see, and for admins the
health of the pipeline that turns a form into a counted signature.

Every figure is read from an index or the count tables: a handful of small
queries per campaign, whatever its size."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import redis
from flask import current_app
from flask_babel import LazyString
from flask_babel import lazy_gettext as _l
from markupsafe import Markup
from sqlalchemy import func, select

from ..counting.services import campaign_count, published_days
from ..extensions import db
from ..jobs import DEFAULT_QUEUE, PERIODIC_QUEUE, UPDATE_SIGNATURE_COUNTS
from ..models import (
    LIVE,
    Campaign,
    DailyCount,
    EmailLog,
    EmailStatus,
    JobLock,
    OutboxMessage,
    Signature,
    SignatureSource,
    SignatureState,
)
from ..models.types import utcnow

SPARK_DAYS = 14


@dataclass(frozen=True)
class Spark:
    """A 14-day series drawn as an inline SVG polyline (no script)."""

    days: list[tuple[date, int]]

    @property
    def peak(self) -> int:
        return max((n for _, n in self.days), default=0)

    def svg(self, label: str, width: int = 140, height: int = 32) -> Markup:
        values = [n for _, n in self.days]
        peak = max(values, default=0) or 1
        step = width / max(len(values) - 1, 1)
        points = " ".join(
            f"{i * step:.1f},{height - 2 - (n / peak) * (height - 4):.1f}"
            for i, n in enumerate(values)
        )
        return Markup(
            '<svg class="spark" viewBox="0 0 {w} {h}" width="{w}" height="{h}" role="img" '
            'aria-label="{label}"><polyline fill="none" stroke="currentColor" '
            'stroke-width="2" points="{points}"/></svg>'
        ).format(w=width, h=height, label=label, points=points)


@dataclass
class CampaignFigures:
    campaign: Campaign
    manages: bool
    signers: int
    total: int
    today: int
    last_hour: int | None = None
    awaiting: int | None = None
    held: int | None = None
    sources: dict[str, int] = field(default_factory=dict)
    spark: Spark = field(default_factory=lambda: Spark([]))


def _days(campaign_id: int, manages: bool, today: date) -> Spark:
    first = today - timedelta(days=SPARK_DAYS - 1)
    if manages:
        rows = db.session.execute(
            select(DailyCount.day, DailyCount.signers).where(
                DailyCount.campaign_id == campaign_id, DailyCount.day >= first
            )
        ).all()
        by_day = {day: n for day, n in rows}
    else:
        # A partner sees the days as the public does (small days suppressed).
        by_day = {day: n for day, n, _ in published_days(campaign_id) if day >= first}
    return Spark([(first + timedelta(days=i), by_day.get(first + timedelta(days=i), 0))
                  for i in range(SPARK_DAYS)])


def _count(*where: Any) -> int:
    return int(db.session.execute(select(func.count()).select_from(Signature).where(*where))
               .scalar_one())


def campaign_figures(campaign: Campaign, manages: bool) -> CampaignFigures:
    now = utcnow()
    count = campaign_count(campaign.id)
    spark = _days(campaign.id, manages, now.date())
    figures = CampaignFigures(
        campaign=campaign,
        manages=manages,
        signers=count.signers,
        total=count.total,
        today=spark.days[-1][1],
        spark=spark,
    )
    if not manages:
        return figures
    figures.last_hour = _count(
        Signature.campaign_id == campaign.id,
        Signature.created_at >= now - timedelta(hours=1),
        Signature.state.in_(LIVE),
    )
    # Only signatures still able to confirm: the link's age bounds the range read.
    window = timedelta(seconds=current_app.config["CONFIRM_TOKEN_MAX_AGE"])
    figures.awaiting = _count(
        Signature.campaign_id == campaign.id,
        Signature.created_at >= now - window,
        Signature.state == SignatureState.pending,
    )
    figures.held = _count(
        Signature.campaign_id == campaign.id, Signature.state == SignatureState.held
    )
    figures.sources = source_counts(campaign)
    return figures


def source_counts(campaign: Campaign) -> dict[str, int]:
    """Validated signers by source (online, paper): for managers only."""
    rows = db.session.execute(
        select(Signature.source, func.count())
        .where(Signature.campaign_id == campaign.id, Signature.state == SignatureState.validated)
        .group_by(Signature.source)
    ).all()
    counts = {source.value: 0 for source in SignatureSource}
    counts.update({source.value: n for source, n in rows})
    return counts


# --- the pipeline's health (admins) -------------------------------------------


@dataclass(frozen=True)
class Gauge:
    label: LazyString
    value: str
    warning: LazyString | None  # set when the figure is out of bounds


def _age(moment: datetime | None, now: datetime) -> float | None:
    return None if moment is None else max(0.0, (now - moment).total_seconds())


def _seconds(value: float | None) -> str:
    if value is None:
        return "—"
    if value < 120:
        return str(_l("%(num)s s", num=int(value)))
    if value < 7200:
        return str(_l("%(num)s min", num=int(value // 60)))
    return str(_l("%(num)s h", num=int(value // 3600)))


def _broker_depth() -> int | None:
    """Messages waiting in the broker's queues, when there is a broker."""
    config = current_app.config
    if config["TASKS_EAGER"] or not config.get("REDIS_URL"):
        return None
    try:
        client = redis.Redis.from_url(config["REDIS_URL"], socket_timeout=0.5)
        return int(sum(client.llen(q) for q in (DEFAULT_QUEUE, PERIODIC_QUEUE)))
    except redis.RedisError:
        return None


def pipeline_health() -> list[Gauge]:
    config = current_app.config
    now = utcnow()
    outbox_rows, outbox_oldest = db.session.execute(
        select(func.count(), func.min(OutboxMessage.created_at))
    ).one()
    outbox_age = _age(outbox_oldest, now)
    unchecked_oldest = db.session.execute(
        select(func.min(Signature.created_at)).where(
            Signature.checked_at.is_(None), Signature.state == SignatureState.pending
        )
    ).scalar()
    unchecked_age = _age(unchecked_oldest, now)
    last_count = db.session.execute(
        select(JobLock.last_run_at).where(JobLock.name == UPDATE_SIGNATURE_COUNTS.name)
    ).scalar()
    count_age = _age(last_count, now)
    failed = db.session.execute(
        select(func.count()).select_from(EmailLog).where(
            EmailLog.status == EmailStatus.failed, EmailLog.created_at >= now - timedelta(days=1)
        )
    ).scalar_one()
    retrying = db.session.execute(
        select(func.count()).select_from(EmailLog).where(
            EmailLog.status == EmailStatus.queued, EmailLog.attempts > 0
        )
    ).scalar_one()
    depth = _broker_depth()
    outbox_limit = max(30.0, 10 * float(config["RELAY_INTERVAL_SECONDS"]))
    count_limit = max(60.0, 20 * float(config["COUNT_INTERVAL_SECONDS"]))
    check_limit = float(config.get("REQUEUE_STALE_SECONDS") or 300) * 2
    return [
        Gauge(
            _l("Oldest work waiting in the outbox"),
            _seconds(outbox_age) if outbox_rows else str(_l("none")),
            _l("The outbox relay seems stopped: is the worker with beat running?")
            if outbox_age is not None and outbox_age > outbox_limit
            else None,
        ),
        Gauge(
            _l("Tasks waiting in the queue"),
            "—" if depth is None else str(depth),
            _l("Many tasks are waiting: the workers cannot keep up.")
            if depth is not None and depth > 10_000
            else None,
        ),
        Gauge(
            _l("Oldest signature waiting for its checks"),
            _seconds(unchecked_age),
            _l("Signatures wait for their checks: are the workers running?")
            if unchecked_age is not None and unchecked_age > check_limit
            else None,
        ),
        Gauge(
            _l("Since the last count run"),
            _seconds(count_age),
            _l("The counts are not being updated: is the worker with beat running?")
            if count_age is None or count_age > count_limit
            else None,
        ),
        Gauge(
            _l("Emails given up in the last day"),
            str(failed),
            _l("Some emails could not be sent: check the mail server settings.")
            if failed
            else None,
        ),
        Gauge(_l("Emails being retried"), str(retrying), None),
    ]
