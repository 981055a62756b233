"""Tasks: moderation. Thin: each takes ids, and calls a plain function of
``campaigns.moderation`` that the tests call directly."""

from __future__ import annotations

from celery import shared_task

from campaigns.mail.services import deliver_emails
from campaigns.moderation.invalidation import requeue_pending_invalidations as _requeue
from campaigns.moderation.invalidation import run_invalidation
from campaigns.moderation.trending import detect_trending_signatures as _detect_trending
from campaigns.periodic import periodic_task

from .tasks import RETRY


@shared_task(name="zaytoun.invalidate_signatures", **RETRY)
def invalidate_signatures(invalidation_id: int) -> str | None:
    """Run a bulk invalidation in batches, resuming from its cursor."""
    state = run_invalidation(invalidation_id)
    return state.value if state else None


@shared_task(name="zaytoun.send_confirmation_emails", **RETRY)
def send_confirmation_emails(email_ids: list[int]) -> int:
    """Send the confirmation emails of signatures an organizer accepted."""
    return deliver_emails(email_ids)


@periodic_task(
    "detect-trending-signatures",
    task="zaytoun.detect_trending_signatures",
    every="TRENDING_INTERVAL_SECONDS",
)
def detect_trending_signatures() -> int:
    """Flag bursts of signatures from one client or one email domain."""
    return _detect_trending()


@periodic_task(
    "requeue-pending-invalidations",
    task="zaytoun.requeue_pending_invalidations",
    every="INVALIDATION_REQUEUE_INTERVAL_SECONDS",
)
def requeue_pending_invalidations() -> int:
    """Publish again the invalidations whose task message was lost."""
    return _requeue()
