"""Notices to organizers: a campaign reaching 25/50/75/100% of its goal, and
its closing. Each is decided once (a ``campaign_notices`` row, unique per
campaign and kind) and emailed to every active organizer and admin of the
owning organization, each email decided once through the email log."""

from __future__ import annotations

from sqlalchemy import select

from ..extensions import db
from ..mail.services import deliver_emails
from ..models import (
    Campaign,
    CampaignCount,
    CampaignNotice,
    CampaignStatus,
    EmailKind,
    EmailLog,
    EmailStatus,
    Role,
    User,
)
from ..models.types import utcnow
from ..upsert import insert_ignore

MILESTONES = (25, 50, 75, 100)
CLOSED = "closed"
# Campaigns whose figures can still move, or that have just closed.
WATCHED = (CampaignStatus.open, CampaignStatus.closed)


def milestone_kind(percent: int) -> str:
    return f"milestone-{percent}"


def reached_milestones(total: int, goal: int | None) -> list[int]:
    """The milestones a total has reached, lowest first."""
    if not goal:
        return []
    return [percent for percent in MILESTONES if total * 100 >= goal * percent]


def notice_recipients(campaign: Campaign) -> list[int]:
    """Active organizers and admins of the organization that owns the campaign."""
    return list(
        db.session.execute(
            select(User.id)
            .where(
                User.organization_id == campaign.organization_id,
                User.active.is_(True),
                User.role.in_([Role.organizer, Role.admin]),
            )
            .order_by(User.id)
        ).scalars()
    )


def decide_notice(campaign: Campaign, kind: str) -> int | None:
    """Record a notice; its id, or None if it was decided before (flush only)."""
    notice_id: int | None = db.session.execute(
        insert_ignore(CampaignNotice, ["campaign_id", "kind"])
        .values(campaign_id=campaign.id, kind=kind, created_at=utcnow())
        .returning(CampaignNotice.id)
    ).scalar()
    return notice_id


def queue_notice_emails(notice_id: int, campaign: Campaign) -> list[int]:
    """Decide the notice's email to each recipient; the new email ids (flush only)."""
    users = notice_recipients(campaign)
    if not users:
        return []
    now = utcnow()
    return list(
        db.session.execute(
            insert_ignore(EmailLog, ["dedupe_key"])
            .values(
                [
                    {
                        "dedupe_key": f"notice:{notice_id}:{user_id}",
                        "kind": EmailKind.notice,
                        "user_id": user_id,
                        "notice_id": notice_id,
                        "status": EmailStatus.queued,
                        "attempts": 0,
                        "next_attempt_at": now,
                        "created_at": now,
                    }
                    for user_id in users
                ]
            )
            .returning(EmailLog.id)
        ).scalars()
    )


def notify_campaign_notices() -> int:
    """Periodic job: decide the notices due and send their emails; returns how
    many emails were sent.

    When a run finds several milestones newly reached (a burst, or the first
    run over old campaigns), all are recorded but only the highest is emailed:
    "25% reached" is news to nobody once 75% is."""
    rows = db.session.execute(
        select(Campaign, CampaignCount.total)
        .outerjoin(CampaignCount, CampaignCount.campaign_id == Campaign.id)
        .where(Campaign.status.in_(WATCHED))
        .order_by(Campaign.id)
    ).all()
    decided = {
        (campaign_id, kind)
        for campaign_id, kind in db.session.execute(
            select(CampaignNotice.campaign_id, CampaignNotice.kind)
        )
    }
    email_ids: list[int] = []
    for campaign, total in rows:
        new_milestones = [
            notice_id
            for percent in reached_milestones(total or 0, campaign.goal)
            if (campaign.id, milestone_kind(percent)) not in decided
            and (notice_id := decide_notice(campaign, milestone_kind(percent))) is not None
        ]
        announce = new_milestones[-1:]
        if campaign.status is CampaignStatus.closed and (campaign.id, CLOSED) not in decided:
            notice_id = decide_notice(campaign, CLOSED)
            if notice_id is not None:
                announce.append(notice_id)
        for notice_id in announce:
            email_ids += queue_notice_emails(notice_id, campaign)
    db.session.commit()
    return deliver_emails(email_ids) if email_ids else 0
