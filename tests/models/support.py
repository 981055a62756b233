"""Factories for the migration tests, which write rows at older revisions too."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from campaigns.extensions import db
from campaigns.models import Campaign, CampaignKind, CampaignStatus, CampaignText
from tests import factories


def create_campaign(slug: str | None = None, **fields: Any) -> Campaign:
    """The factories' campaign, on a database at any revision. Where
    ``campaign_texts`` lacks a column of today's model (a revision before
    it), the ORM would name that column all the same: an open petition is
    then written with its Arabic text in the columns the table has."""
    have = {column["name"] for column in sa.inspect(db.engine).get_columns("campaign_texts")}
    if {column.name for column in CampaignText.__table__.columns} <= have:
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
    db.session.add(campaign)
    db.session.commit()
    text = {"title": "حملة", "summary": "ملخص", "body": "نص", "unit_label": "توقيع"}
    row = {"campaign_id": campaign.id, "locale": "ar", **text}
    table = sa.table("campaign_texts", *(sa.column(name) for name in row))
    db.session.execute(sa.insert(table), [row])
    db.session.commit()
    return campaign
