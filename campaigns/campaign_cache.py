"""The campaign row, read by every sign POST, count JSON and results page,
kept per process for ``CAMPAIGN_CACHE_SECONDS`` (2 s; 0 turns it off) instead
of a SELECT per request.

The cached object is detached from any session with its texts, partners,
organization and image variants (not their bytes) loaded: it is read, never
changed, and shared by the threads of the process. A change made
in this process (the console saving a campaign) forgets it at once; other
processes see the change within the time to live, as they see a paused site."""

from __future__ import annotations

from typing import Any

from flask import abort, current_app, has_app_context
from sqlalchemy import Select, event, select
from sqlalchemy.orm import Session, selectinload

from .cache import memo
from .extensions import db
from .models import VISIBLE, Campaign, CampaignImage, CampaignText, Organization

_PREFIX = "campaign:"


def _query(slug: str) -> Select[Campaign]:
    return (
        select(Campaign)
        .options(
            selectinload(Campaign.texts),
            selectinload(Campaign.partners),
            selectinload(Campaign.organization),
            selectinload(Campaign.images),
        )
        .where(Campaign.slug == slug)
    )


def _load_detached(slug: str) -> Campaign | None:
    """The campaign read through a session of its own on the request's
    connection (so it sees what the request sees), closed at once: the object
    and everything loaded with it come out detached, and the request's own
    session, with whatever objects its caller holds, is left alone."""
    with Session(bind=db.session.connection()) as session:
        campaign: Campaign | None = session.execute(_query(slug)).scalar_one_or_none()
    return campaign


def cached_campaign(slug: str) -> Campaign | None:
    """The campaign named ``slug`` (or None), detached and read-only when cached."""
    ttl = current_app.config["CAMPAIGN_CACHE_SECONDS"]
    if ttl <= 0:
        return db.session.execute(_query(slug)).scalar_one_or_none()
    campaign: Campaign | None = memo().get_or_compute(
        _PREFIX + slug, ttl, lambda: _load_detached(slug)
    )
    return campaign


def _touches_campaigns(session: Session) -> bool:
    return any(
        isinstance(obj, Campaign | CampaignText | CampaignImage | Organization)
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


def load_campaign(slug: str) -> Campaign:
    """A public campaign, from this process's copy of a second or two ago
    (read-only: see campaign_cache)."""
    campaign = cached_campaign(slug)
    if campaign is None or campaign.status not in VISIBLE:
        abort(404)
    return campaign
