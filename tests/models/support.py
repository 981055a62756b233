"""Factories for the migration tests, which write rows at older revisions too."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from campaigns.extensions import db
from campaigns.models import Campaign, CampaignKind, CampaignStatus, CampaignText
from campaigns.models.types import utcnow
from tests import factories


def create_campaign(slug: str | None = None, **fields: Any) -> Campaign:
    """The factories' campaign, on a database at any revision. Where
    ``campaigns`` or ``campaign_texts`` lacks a column of today's model (a
    revision before it), the ORM would name that column all the same: an open
    petition is then written with its Arabic text in the columns the tables
    have, and handed back unattached to the session (its ``id`` set)."""
    inspector = sa.inspect(db.engine)
    have_texts = {column["name"] for column in inspector.get_columns("campaign_texts")}
    have_campaigns = {column["name"] for column in inspector.get_columns("campaigns")}
    texts_current = {column.name for column in CampaignText.__table__.columns} <= have_texts
    campaigns_current = {column.name for column in Campaign.__table__.columns} <= have_campaigns
    if texts_current and campaigns_current:
        return factories.create_campaign(slug, **fields)
    campaign = Campaign(
        slug=slug or "older-campaign",
        kind=CampaignKind.petition,
        status=CampaignStatus.open,
        goal=1000,
        unit="signatures",
        organization=factories.create_organization(),
        **fields,
    )
    if campaigns_current:
        db.session.add(campaign)
        db.session.commit()
    else:
        values = {
            "slug": campaign.slug,
            "kind": "petition",
            "status": "open",
            "goal": 1000,
            "unit": "signatures",
            "signing_paused": False,
            "organization_id": campaign.organization.id,
            "created_at": utcnow(),
        }
        table = sa.table("campaigns", *(sa.column(name) for name in values))
        db.session.execute(sa.insert(table), [values])
        campaign.id = db.session.execute(
            sa.text("SELECT id FROM campaigns WHERE slug = :slug"), {"slug": campaign.slug}
        ).scalar_one()
        if campaign in db.session:
            db.session.expunge(campaign)
        db.session.commit()
    text = {"title": "حملة", "summary": "ملخص", "body": "نص", "unit_label": "توقيع"}
    row = {"campaign_id": campaign.id, "locale": "ar", **text}
    table = sa.table("campaign_texts", *(sa.column(name) for name in row))
    db.session.execute(sa.insert(table), [row])
    db.session.commit()
    return campaign
