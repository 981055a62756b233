"""The campaign row, read by every sign POST, count JSON and results page,
kept per process for ``CAMPAIGN_CACHE_SECONDS`` (2 s; 0 turns it off) instead
of a SELECT per request.

The cached object is detached from any session with its texts, partners and
organization loaded: it is
read, never changed, and shared by the threads of the process. A change made
in this process (the console saving a campaign) forgets it at once; other
processes see the change within the time to live, as they see a paused site."""

from __future__ import annotations

from typing import Any

from flask import current_app, has_app_context
from sqlalchemy import event, select
from sqlalchemy.orm import Session, selectinload

from .cache import memo
from .extensions import db
from .models import Campaign, CampaignText, Organization

_PREFIX = "campaign:"


def _load(slug: str) -> Campaign | None:
    return db.session.execute(
        select(Campaign)
        .options(
            selectinload(Campaign.texts),
            selectinload(Campaign.partners),
            selectinload(Campaign.organization),
        )
        .where(Campaign.slug == slug)
    ).scalar_one_or_none()


def cached_campaign(slug: str) -> Campaign | None:
    """The campaign named ``slug`` (or None), detached and read-only when cached."""
    ttl = current_app.config["CAMPAIGN_CACHE_SECONDS"]
    if ttl <= 0:
        return _load(slug)
    campaign: Campaign | None = memo().get_or_compute(
        _PREFIX + slug, ttl, lambda: _detached(_load(slug))
    )
    return campaign


def _detached(campaign: Campaign | None) -> Campaign | None:
    """Out of the request's session before anything commits: a commit would
    expire it, and another thread would then try to reload it."""
    if campaign is not None:
        related = [*campaign.texts.values(), *campaign.partners, campaign.organization]
        for obj in {id(o): o for o in [*related, campaign]}.values():
            if obj in db.session:
                db.session.expunge(obj)
    return campaign


def _touches_campaigns(session: Session) -> bool:
    return any(
        isinstance(obj, Campaign | CampaignText | Organization)
        for obj in (*session.new, *session.dirty, *session.deleted)
    )


@event.listens_for(Session, "before_flush")
def _forget_changed_campaigns(session: Session, context: Any, instances: Any) -> None:
    if has_app_context() and _touches_campaigns(session):
        forget_campaigns()


def forget_campaigns() -> None:
    """Drop this process's cached campaigns (after a change made without the ORM)."""
    if "zaytoun_memo" in current_app.extensions:
        memo().forget(_PREFIX)
