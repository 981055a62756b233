"""Tasks: new signatures, the outbox relay, the counts, the email retry
schedule, and the one sweep that hands lost work back through the outbox."""

from __future__ import annotations

from campaigns.counting.services import update_signature_counts
from campaigns.jobs import (
    DELIVER_DUE_EMAILS,
    NOTIFY_DUPLICATE_SIGNATURE,
    RELAY_OUTBOX,
    REQUEUE_STALE_WORK,
    SEND_MANAGE_LINK,
    UPDATE_SIGNATURE_COUNTS,
    VALIDATE_SIGNATURE,
)
from campaigns.mail.services import deliver_due_emails
from campaigns.moderation.invalidation import requeue_pending_invalidations
from campaigns.outbox import drain_outbox
from campaigns.signing.manage.services import send_manage_links
from campaigns.signing.validation import (
    notify_duplicate_signatures,
    requeue_stale_signatures,
    validate_signatures,
)
from campaigns.updates.services import resume_stale_updates

from . import task


def requeue_stale_work() -> int:
    """The one recovery sweep, for work the relay published but that never got
    done (a message the broker lost, a task that died): signatures still
    unchecked, invalidations never started, updates whose sending stalled.
    Each goes back through the outbox; returns how many."""
    return (
        requeue_stale_signatures()
        + requeue_pending_invalidations()
        + len(resume_stale_updates())
    )


task(VALIDATE_SIGNATURE.task, validate_signatures, retry=True)
task(NOTIFY_DUPLICATE_SIGNATURE.task, notify_duplicate_signatures, retry=True)
task(SEND_MANAGE_LINK.task, send_manage_links, retry=True)
task(RELAY_OUTBOX.task, drain_outbox, retry=True)
task(UPDATE_SIGNATURE_COUNTS.task, update_signature_counts)
task(DELIVER_DUE_EMAILS.task, deliver_due_emails)
task(REQUEUE_STALE_WORK.task, requeue_stale_work)
