"""Closing campaigns on schedule: an open campaign whose ``closes_at`` has
passed becomes closed (signing already stops at that moment; this makes the
status say so, and starts the closing notice and the retention clock)."""

from __future__ import annotations

from sqlalchemy import update

from ..accounts.audit import record
from ..campaign_cache import forget_campaigns
from ..extensions import db
from ..models import Campaign, CampaignStatus
from ..models.types import utcnow


def close_due_campaigns() -> list[str]:
    """Periodic job: close the open campaigns whose closing time has passed,
    audited as a system action; returns their slugs."""
    closed = db.session.execute(
        update(Campaign)
        .where(
            Campaign.status == CampaignStatus.open,
            Campaign.closes_at.is_not(None),
            Campaign.closes_at <= utcnow(),
        )
        .values(status=CampaignStatus.closed)
        .returning(Campaign.id, Campaign.slug)
        .execution_options(synchronize_session=False)
    ).all()
    for campaign_id, _slug in closed:
        # The same action the console records, so the log tells one lifecycle.
        record(
            "campaign_status", "campaign", campaign_id, before="open", after="closed", by="schedule"
        )
    db.session.commit()
    if closed:
        forget_campaigns()
    return [slug for _id, slug in closed]
