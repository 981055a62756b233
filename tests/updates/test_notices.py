"""Milestone and closing notices to organizers, and closing on schedule."""

from __future__ import annotations

from datetime import timedelta

import pytest
from flask import Flask
from sqlalchemy import select

from campaigns.extensions import db
from campaigns.models import (
    AuditEntry,
    Campaign,
    CampaignCount,
    CampaignNotice,
    CampaignStatus,
    EmailKind,
    EmailLog,
    OrganizationKind,
    Role,
)
from campaigns.models.types import utcnow
from campaigns.updates.closing import close_due_campaigns
from campaigns.updates.notices import notify_campaign_notices
from tests.factories import create_campaign, create_organization

from .support import Account, make_account, plain_body, recipients, sent_mail


@pytest.fixture
def campaign(app: Flask) -> Campaign:
    union = create_organization(slug="union")
    return create_campaign(slug="olive-trees", goal=200, organization=union)


@pytest.fixture
def team(campaign: Campaign) -> list[Account]:
    """Who should hear: the owning organization's active organizers and admins."""
    union = campaign.organization
    organizer = make_account("organizer@union.example", Role.organizer, union)
    admin = make_account("admin@union.example", Role.admin, union)
    gone = make_account("gone@union.example", Role.organizer, union)
    gone.user.active = False
    partner = create_organization(slug="partner", kind=OrganizationKind.partner)
    make_account("viewer@partner.example", Role.partner, partner)
    make_account("organizer@elsewhere.example", Role.organizer, create_organization())
    db.session.commit()
    return [organizer, admin]


def set_total(campaign: Campaign, total: int) -> None:
    count = db.session.get(CampaignCount, campaign.id)
    if count is None:
        count = CampaignCount(campaign_id=campaign.id, signers=0, total=0, demo_signers=0)
        db.session.add(count)
    count.signers = count.total = total
    db.session.commit()


def notices(campaign: Campaign) -> list[str]:
    return sorted(
        db.session.execute(
            select(CampaignNotice.kind).where(CampaignNotice.campaign_id == campaign.id)
        ).scalars()
    )


TEAM = ["admin@union.example", "organizer@union.example"]


def test_each_milestone_is_announced_once_to_the_active_organizers_and_admins(
    app: Flask, campaign: Campaign, team: list[Account]
) -> None:
    set_total(campaign, 49)
    assert notify_campaign_notices() == 0
    assert sent_mail(app) == [] and notices(campaign) == []

    set_total(campaign, 50)
    assert notify_campaign_notices() == 2
    assert recipients(sent_mail(app)) == TEAM
    assert notices(campaign) == ["milestone-25"]
    message = sent_mail(app)[0]
    # Arabic and English in one message: organizers have no language setting.
    assert "حملة" in message["Subject"] and "Campaign" in message["Subject"]
    assert "25%" in message["Subject"]
    body = plain_body(message)
    assert "has reached 25% of its goal: 50 of 200" in body
    assert "http://zaytoun.test/console/campaigns/olive-trees" in body

    assert notify_campaign_notices() == 0
    assert len(sent_mail(app)) == 2

    # Two milestones passed between runs: both recorded, the higher one announced.
    set_total(campaign, 160)
    assert notify_campaign_notices() == 2
    assert notices(campaign) == ["milestone-25", "milestone-50", "milestone-75"]
    assert all("75%" in m["Subject"] for m in sent_mail(app)[2:])

    set_total(campaign, 250)
    assert notify_campaign_notices() == 2
    assert notify_campaign_notices() == 0
    assert len(sent_mail(app)) == 6
    emails = db.session.execute(
        select(EmailLog.kind, EmailLog.user_id, EmailLog.notice_id, EmailLog.dedupe_key)
    ).all()
    assert {kind for kind, *_ in emails} == {EmailKind.notice}
    assert {user_id for _, user_id, _, _ in emails} == {a.user.id for a in team}
    assert all(key == f"notice:{n}:{u}" for _, u, n, key in emails)


def test_a_campaign_without_a_goal_has_no_milestones(app: Flask, team: list[Account]) -> None:
    free = create_campaign(goal=None, organization=team[0].user.organization)
    set_total(free, 10_000)
    assert notify_campaign_notices() == 0
    assert notices(free) == []


def test_closing_is_announced_once(app: Flask, campaign: Campaign, team: list[Account]) -> None:
    set_total(campaign, 10)
    campaign.status = CampaignStatus.closed
    db.session.commit()
    assert notify_campaign_notices() == 2
    assert notices(campaign) == ["closed"]
    body = plain_body(sent_mail(app)[0])
    assert "is closed. Final figures: 10" in body
    assert "will be erased 180 days after the closing" in body
    assert notify_campaign_notices() == 0
    assert len(sent_mail(app)) == 2


def test_a_disabled_account_gets_nothing_even_if_it_was_decided(
    app: Flask, campaign: Campaign, team: list[Account]
) -> None:
    from campaigns.mail.services import deliver_due_emails

    set_total(campaign, 60)
    organizer = team[0].user
    # Decided, then the account is disabled before the sweep sends it.
    from campaigns.updates.notices import decide_notice, queue_notice_emails

    notice_id = decide_notice(campaign, "milestone-25")
    assert notice_id is not None
    queue_notice_emails(notice_id, campaign)
    organizer.active = False
    db.session.commit()
    deliver_due_emails()
    assert recipients(sent_mail(app)) == ["admin@union.example"]


def test_campaigns_close_on_schedule(app: Flask, team: list[Account]) -> None:
    union = team[0].user.organization
    past = utcnow() - timedelta(minutes=1)
    due = create_campaign(slug="due", organization=union, closes_at=past)
    tomorrow = utcnow() + timedelta(days=1)
    later = create_campaign(slug="later", organization=union, closes_at=tomorrow)
    draft = create_campaign(
        slug="draft", organization=union, status=CampaignStatus.draft, closes_at=past
    )
    forever = create_campaign(slug="forever", organization=union)

    assert close_due_campaigns() == ["due"]
    assert close_due_campaigns() == []
    db.session.expire_all()
    assert due.status is CampaignStatus.closed
    assert later.status is CampaignStatus.open
    assert draft.status is CampaignStatus.draft
    assert forever.status is CampaignStatus.open
    [entry] = db.session.execute(select(AuditEntry)).scalars().all()
    assert entry.user_id is None
    assert (entry.action, entry.target_type, entry.target_id) == (
        "campaign_status", "campaign", str(due.id)
    )
    assert entry.details == {"before": "open", "after": "closed", "by": "schedule"}

    # The workers' jobs: the closing job, then the notice job tells the team.
    celery = app.extensions["celery"]
    later.closes_at = past
    db.session.commit()
    assert celery.tasks["zaytoun.close_due_campaigns"].apply().get() == 1
    assert celery.tasks["zaytoun.notify_campaign_notices"].apply().get() == 4
    assert recipients(sent_mail(app)) == sorted(TEAM * 2)
    schedule = celery.conf.beat_schedule
    assert schedule["close-due-campaigns"]["task"] == "zaytoun.close_due_campaigns"
    assert schedule["notify-campaign-notices"]["task"] == "zaytoun.notify_campaign_notices"
