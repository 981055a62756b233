"""Tasks: updates to signers, notices to organizers, closing on schedule and
retention. Thin: each calls a plain function that the tests call directly."""

from __future__ import annotations

from celery import shared_task
from flask import current_app

from campaigns.periodic import periodic_task
from campaigns.retention.services import erase_expired_personal_data as _erase_expired
from campaigns.updates.closing import close_due_campaigns as _close_due_campaigns
from campaigns.updates.notices import notify_campaign_notices as _notify_campaign_notices
from campaigns.updates.services import publish_update, resume_stale_updates
from campaigns.updates.services import send_update as _send_update
from workers.tasks import RETRY

# How long one send task works before handing the rest of an update to the
# next one: well inside the broker's visibility timeout (15 minutes).
SEND_BUDGET_SECONDS = 300.0


@shared_task(name="zaytoun.send_updates", **RETRY)
def send_updates(update_ids: list[int]) -> int:
    """Send updates to their signers, batch by batch (ids, like the outbox's tasks)."""
    # In-process, the caller is already the worker: no hand-over.
    budget = None if current_app.config["TASKS_EAGER"] else SEND_BUDGET_SECONDS
    return sum(_send_update(update_id, budget_seconds=budget) for update_id in update_ids)


@periodic_task(
    "resume-sending-updates",
    task="zaytoun.resume_sending_updates",
    every="UPDATES_RESUME_INTERVAL_SECONDS",
)
def resume_sending_updates() -> int:
    """Hand the workers again the updates whose sending has stalled."""
    stale = resume_stale_updates()
    for update_id in stale:
        publish_update(update_id)
    return len(stale)


@periodic_task(
    "close-due-campaigns", task="zaytoun.close_due_campaigns", every="CLOSING_INTERVAL_SECONDS"
)
def close_due_campaigns() -> int:
    """Close the open campaigns whose closing time has passed."""
    return len(_close_due_campaigns())


@periodic_task(
    "notify-campaign-notices",
    task="zaytoun.notify_campaign_notices",
    every="NOTICES_INTERVAL_SECONDS",
)
def notify_campaign_notices() -> int:
    """Email organizers about milestones reached and campaigns closed."""
    return _notify_campaign_notices()


@periodic_task(
    "erase-expired-personal-data",
    task="zaytoun.erase_expired_personal_data",
    every="RETENTION_INTERVAL_SECONDS",
)
def erase_expired_personal_data() -> int:
    """Erase signers' personal data of campaigns closed past the retention time."""
    return _erase_expired()
