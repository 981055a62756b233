"""Tasks: updates to signers, notices to organizers, closing on schedule and
retention."""

from __future__ import annotations

from campaigns.jobs import (
    CLOSE_DUE_CAMPAIGNS,
    ERASE_EXPIRED_PERSONAL_DATA,
    NOTIFY_CAMPAIGN_NOTICES,
    SEND_UPDATE,
)
from campaigns.retention.services import erase_expired_personal_data
from campaigns.signing.codes import forget_rested_tries
from campaigns.updates.closing import close_due_campaigns
from campaigns.updates.notices import notify_campaign_notices
from campaigns.updates.services import send_updates

from . import task


def _close_due_campaigns() -> int:
    """Close the open campaigns whose closing time has passed."""
    return len(close_due_campaigns())


task(SEND_UPDATE.task, send_updates, retry=True)
task(CLOSE_DUE_CAMPAIGNS.task, _close_due_campaigns)
task(NOTIFY_CAMPAIGN_NOTICES.task, notify_campaign_notices)
def _erase_expired_personal_data() -> int:
    """Retention's periodic job: the signers of campaigns closed longer than
    the retention time, and the confirmation codes' tries that no longer count
    (a keyed hash of a client address among them)."""
    forget_rested_tries()
    return erase_expired_personal_data()


task(ERASE_EXPIRED_PERSONAL_DATA.task, _erase_expired_personal_data)
