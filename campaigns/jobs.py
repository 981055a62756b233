"""Every job the workers run, declared once: its Celery task name and queue,
and either the outbox kind that hands it work after a state change or the
setting that holds its interval.

Plain data, read by the outbox (``outbox.py``), Celery beat and routes
(``tasks.py``) and the embedded scheduler (``scheduler.py``). The worker
modules (``workers/``) bind each task name to the plain function it runs;
nothing in ``campaigns/`` but the composition root imports them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

TASK_PREFIX = "zaytoun."
DEFAULT_QUEUE = "zaytoun"
# Periodic jobs go to their own queue so a backlog of signatures never delays
# the counts or the outbox relay.
PERIODIC_QUEUE = "periodic"


@dataclass(frozen=True)
class OutboxKind:
    """Work that follows a state change: an outbox row (``name``, object id)
    written in the change's transaction (``outbox.enqueue``), published by the
    relay to the Celery task ``zaytoun.<job>``."""

    name: str  # the outbox row's ``task``
    job: str
    # The task takes a list of ids, sent in chunks; otherwise one id a message.
    batch: bool = True
    # Without a broker, run right after the commit that wrote it: someone in
    # the console waits for it. Otherwise the relay's next run takes it.
    after_commit: bool = False
    queue: str = DEFAULT_QUEUE

    @property
    def task(self) -> str:
        return f"{TASK_PREFIX}{self.job}"


@dataclass(frozen=True)
class PeriodicJob:
    """The Celery task ``zaytoun.<name>``, run every ``config[every]`` seconds
    as the beat entry ``<name>`` spelled with hyphens."""

    name: str
    every: str  # the setting that holds the seconds between runs
    queue: str = PERIODIC_QUEUE

    @property
    def task(self) -> str:
        return f"{TASK_PREFIX}{self.name}"

    @property
    def beat_entry(self) -> str:
        return self.name.replace("_", "-")

    def interval(self, config: Mapping[str, Any]) -> float:
        return float(config[self.every])


# --- work that follows a state change (the outbox) ---------------------------

VALIDATE_SIGNATURE = OutboxKind("validate_signature", "validate_signatures")
NOTIFY_DUPLICATE_SIGNATURE = OutboxKind("notify_duplicate_signature", "notify_duplicate_signatures")
# The confirmation email of a signature an organizer accepted (object: the email).
SEND_CONFIRMATION_EMAIL = OutboxKind(
    "send_confirmation_email", "send_confirmation_emails", after_commit=True
)
INVALIDATE_SIGNATURES = OutboxKind(
    "invalidate_signatures", "invalidate_signatures", batch=False, after_commit=True
)
SEND_UPDATE = OutboxKind("send_update", "send_updates", after_commit=True)
# The link to manage a signature, asked for on the campaign's manage page. Never
# run inside that request (not ``after_commit``): its answer must take as long
# whether or not the address signed.
SEND_MANAGE_LINK = OutboxKind("send_manage_link", "send_manage_links")

OUTBOX_KINDS: dict[str, OutboxKind] = {
    kind.name: kind
    for kind in (
        VALIDATE_SIGNATURE,
        NOTIFY_DUPLICATE_SIGNATURE,
        SEND_CONFIRMATION_EMAIL,
        INVALIDATE_SIGNATURES,
        SEND_UPDATE,
        SEND_MANAGE_LINK,
    )
}

# --- periodic jobs ------------------------------------------------------------

RELAY_OUTBOX = PeriodicJob("relay_outbox", "RELAY_INTERVAL_SECONDS")
UPDATE_SIGNATURE_COUNTS = PeriodicJob("update_signature_counts", "COUNT_INTERVAL_SECONDS")
# The email retry schedule: due retries (with backoff) and leases run out.
DELIVER_DUE_EMAILS = PeriodicJob("deliver_due_emails", "MAIL_DELIVER_SECONDS")
# The one recovery sweep for work the relay did publish but that never got
# done (a message lost by the broker, a task that died): handed back through
# the outbox.
REQUEUE_STALE_WORK = PeriodicJob("requeue_stale_work", "REQUEUE_INTERVAL_SECONDS")
DETECT_TRENDING_SIGNATURES = PeriodicJob("detect_trending_signatures", "TRENDING_INTERVAL_SECONDS")
CLOSE_DUE_CAMPAIGNS = PeriodicJob("close_due_campaigns", "CLOSING_INTERVAL_SECONDS")
NOTIFY_CAMPAIGN_NOTICES = PeriodicJob("notify_campaign_notices", "NOTICES_INTERVAL_SECONDS")
ERASE_EXPIRED_PERSONAL_DATA = PeriodicJob(
    "erase_expired_personal_data", "RETENTION_INTERVAL_SECONDS"
)
# The public ledger: the count job's changes appended in a shuffled batch, and
# a signed tree head for each campaign whose ledger grew.
PUBLISH_LEDGER = PeriodicJob("publish_ledger", "LEDGER_INTERVAL_SECONDS")

PERIODIC_JOBS: tuple[PeriodicJob, ...] = (
    RELAY_OUTBOX,
    UPDATE_SIGNATURE_COUNTS,
    DELIVER_DUE_EMAILS,
    REQUEUE_STALE_WORK,
    DETECT_TRENDING_SIGNATURES,
    CLOSE_DUE_CAMPAIGNS,
    NOTIFY_CAMPAIGN_NOTICES,
    ERASE_EXPIRED_PERSONAL_DATA,
    PUBLISH_LEDGER,
)

