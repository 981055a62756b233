"""The figures of a campaign, computed from the count tables only."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import func, select

from ..cache import cached_json
from ..counting.disclosure import as_rows, publish_figure
from ..counting.services import (
    campaign_count,
    published_breakdowns,
    published_channels,
    published_days,
)
from ..extensions import db
from ..models import (
    CONSENT_NAME_CITY_DELIVERY,
    Campaign,
    Signature,
    SignatureState,
)
from ..models.types import utcnow
from ..privacy.crypto import DecryptionError
from ..privacy.personal import read_personal_data

MILESTONES = (25, 50, 75, 100)
CHART_DAYS = 28
LATEST_SIGNERS = 10


Series = list[dict[str, Any]]


def daily_series(campaign_id: int, goal: int | None) -> tuple[Series, Series]:
    """The last CHART_DAYS days (zero-filled) and the milestones reached, both
    from the published series (days under K_MIN pooled forward)."""
    rows = published_days(campaign_id)
    milestones: list[dict[str, Any]] = []
    running = 0
    for day, _signers, total in rows:
        running += total
        while goal and len(milestones) < len(MILESTONES):
            percent = MILESTONES[len(milestones)]
            if running * 100 < percent * goal:
                break
            milestones.append({"percent": percent, "day": day.isoformat()})
    by_day = {day: (signers, total) for day, signers, total in rows}
    today = utcnow().date()
    series = []
    for offset in range(CHART_DAYS - 1, -1, -1):
        when: date = today - timedelta(days=offset)
        signers, total = by_day.get(when, (0, 0))
        series.append({"day": when.isoformat(), "signers": signers, "total": total})
    return series, milestones


def latest_public_signers(campaign_id: int) -> list[dict[str, str]]:
    """The newest validated signers who chose to be shown: first name, and the
    city only where they agreed to the wording that names it (consent version 2);
    those who ticked the older "name on the list" show their first name alone."""
    signatures = db.session.execute(
        select(Signature)
        .where(
            Signature.campaign_id == campaign_id,
            # The predicate of the partial index ix_signatures_public, written
            # the same way: ``show_name IS true`` would not match it.
            Signature.show_name,
            Signature.state == SignatureState.validated,
        )
        .order_by(Signature.validated_at.desc())
        .limit(LATEST_SIGNERS)
    ).scalars()
    people = []
    for signature in signatures:
        try:
            person = read_personal_data(signature)
        except (LookupError, DecryptionError):
            continue
        first = person["name"].split(" ", 1)[0] if person["name"] else ""
        city = person["region"] if signature.consent_version >= CONSENT_NAME_CITY_DELIVERY else ""
        if first:
            people.append({"first_name": first, "city": city})
    return people


def campaign_results(campaign: Campaign) -> dict[str, Any]:
    """Everything the results page, the embed and the JSON API show; cached."""

    def compute() -> dict[str, Any]:
        count = campaign_count(campaign.id)
        daily, milestones = daily_series(campaign.id, campaign.goal)
        breakdowns = published_breakdowns(campaign.id, count)
        return {
            "total": count.total,
            "signers": count.signers,
            "demo_signers": count.demo_signers,
            "channels": published_channels(count),
            "goal": campaign.goal,
            "updated_at": count.updated_at.isoformat() if count.updated_at else None,
            "by_country": as_rows(breakdowns.by_country, "country"),
            "by_region": {
                country: as_rows(cells, "region") for country, cells in breakdowns.by_region.items()
            },
            "daily": daily,
            "milestones": milestones,
            "latest": latest_public_signers(campaign.id),
            # The page's "not counted" figures (not in the JSON API).
            "review": review_figures(campaign.id),
        }

    ttl = current_app.config["RESULTS_CACHE_SECONDS"]
    result: dict[str, Any] = cached_json(f"results:{campaign.id}", ttl, compute)
    return result


# What the results page says about signatures that are not (or not yet)
# counted, by category only: the fraud reasons folded into what a reader
# needs to know. Read from the partial index ix_signatures_review.
REVIEW_CATEGORIES = ("held", "invalidated", "automated_domain", "automated_wave", "unreadable")
_FRAUD_CATEGORIES = {
    "disposable_domain": "automated_domain",
    "blocked_domain": "automated_domain",
    "rate_wave": "automated_wave",
    "rate_burst": "automated_wave",
    "rate_sustained": "automated_wave",
}


def review_figures(campaign_id: int) -> dict[str, int | None]:
    """Held (awaiting review), invalidated, and stopped-by-the-checks
    signatures of a campaign, per category, each through the K_MIN rule on its
    own (None: fewer than K_MIN). One grouped count on a partial index that
    holds only such rows; cached with the rest of the results."""
    rows = db.session.execute(
        select(Signature.state, Signature.fraud_reason, func.count())
        .where(
            Signature.campaign_id == campaign_id,
            Signature.state.in_(
                [SignatureState.held, SignatureState.fraudulent, SignatureState.invalidated]
            ),
        )
        .group_by(Signature.state, Signature.fraud_reason)
    ).all()
    totals = dict.fromkeys(REVIEW_CATEGORIES, 0)
    for state, reason, n in rows:
        if state is SignatureState.fraudulent:
            category = _FRAUD_CATEGORIES.get(reason or "", "unreadable")
        else:
            category = state.value
        totals[category] += n
    return {key: publish_figure(n) for key, n in totals.items()}


def count_figures(campaign: Campaign) -> dict[str, Any]:
    """The small, hot count JSON: one row of the count table."""
    count = campaign_count(campaign.id)
    return {"total": count.total, "signers": count.signers, "goal": campaign.goal}
