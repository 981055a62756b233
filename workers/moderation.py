"""Tasks: moderation (bulk invalidations, confirmations of accepted
signatures, trending detection)."""

from __future__ import annotations

from campaigns.jobs import (
    DETECT_TRENDING_SIGNATURES,
    INVALIDATE_SIGNATURES,
    SEND_CONFIRMATION_EMAIL,
)
from campaigns.mail.services import deliver_emails
from campaigns.moderation.invalidation import run_invalidation
from campaigns.moderation.trending import detect_trending_signatures

from . import task


def _invalidate_signatures(invalidation_id: int) -> str | None:
    """Run a bulk invalidation in batches, resuming from its cursor."""
    state = run_invalidation(invalidation_id)
    return state.value if state else None


invalidate_signatures = task(INVALIDATE_SIGNATURES.task, _invalidate_signatures, retry=True)
task(SEND_CONFIRMATION_EMAIL.task, deliver_emails, retry=True)
task(DETECT_TRENDING_SIGNATURES.task, detect_trending_signatures)
