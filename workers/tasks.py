"""Tasks: they take ids, open the app context (``FlaskTask``), and call a
plain function that the tests call directly. Each is idempotent."""

from __future__ import annotations

import time

from celery import shared_task
from sqlalchemy.exc import OperationalError

from campaigns.counting.services import update_signature_counts as _update_signature_counts
from campaigns.mail.services import deliver_due_emails as _deliver_due_emails
from campaigns.outbox import relay_outbox as _relay_outbox
from campaigns.periodic import periodic_task
from campaigns.signing.validation import (
    notify_duplicate_signatures as _notify_duplicate_signatures,
)
from campaigns.signing.validation import requeue_stale_signatures as _requeue_stale_signatures
from campaigns.signing.validation import validate_signatures as _validate_signatures

# A database hiccup is worth retrying; anything else is a bug to see in the logs.
RETRY = {
    "autoretry_for": (OperationalError,),
    "retry_backoff": 2,
    "retry_backoff_max": 120,
    "max_retries": 8,
}


@shared_task(name="zaytoun.validate_signatures", **RETRY)
def validate_signatures(signature_ids: list[int]) -> int:
    """Run the fraud rules on new signatures and send their confirmation emails."""
    return _validate_signatures(signature_ids)


@shared_task(name="zaytoun.notify_duplicate_signatures", **RETRY)
def notify_duplicate_signatures(signature_ids: list[int]) -> int:
    """Send "already signed" emails for repeated signatures."""
    return _notify_duplicate_signatures(signature_ids)


@periodic_task("relay-outbox", task="zaytoun.relay_outbox", every="RELAY_INTERVAL_SECONDS", **RETRY)
def relay_outbox() -> int:
    """Publish committed outbox rows, for at most about two seconds."""
    total = 0
    deadline = time.monotonic() + 2
    while (n := _relay_outbox()) > 0 and time.monotonic() < deadline:
        total += n
    return total


@periodic_task(
    "update-signature-counts",
    task="zaytoun.update_signature_counts",
    every="COUNT_INTERVAL_SECONDS",
)
def update_signature_counts() -> int:
    """Fold newly validated signatures into the count tables."""
    return _update_signature_counts()


@periodic_task(
    "deliver-due-emails", task="zaytoun.deliver_due_emails", every="MAIL_DELIVER_SECONDS"
)
def deliver_due_emails() -> int:
    """Retry emails whose time has come."""
    return _deliver_due_emails()


@periodic_task(
    "requeue-stale-signatures",
    task="zaytoun.requeue_stale_signatures",
    every="REQUEUE_INTERVAL_SECONDS",
)
def requeue_stale_signatures() -> int:
    """Re-enqueue signatures whose validation task was lost."""
    return _requeue_stale_signatures()
