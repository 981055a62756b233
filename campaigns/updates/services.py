"""Updates to signers: an organizer writes one (per language, Arabic
required), previews it and sends it; the workers decide its emails in batches
and send them.

Each email is decided by inserting an email log row keyed
``update:<update_id>:<signature_id>`` (insert-ignore) in the same transaction
that moves the update's ``cursor`` past the batch, so a task delivered twice
or a worker killed half-way never sends anyone the update twice.
"""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

from flask import current_app
from sqlalchemy import Select, delete, func, select, update

from ..accounts.audit import record
from ..extensions import db
from ..i18n import DEFAULT_LANGUAGE
from ..jobs import SEND_UPDATE
from ..mail.services import deliver_emails
from ..models import (
    Campaign,
    CampaignUpdate,
    EmailKind,
    EmailLog,
    EmailStatus,
    JobLock,
    Signature,
    SignatureState,
    UpdateState,
    User,
)
from ..models.types import utcnow
from ..outbox import enqueue, waiting
from ..upsert import insert_ignore

BATCH = 500
# A sending update whose worker has not moved it on for this long is handed
# to the workers again (its task was lost, or its worker died).
STALE_AFTER = timedelta(minutes=10)
# How long one send task works before handing the rest of an update to the
# next one: well inside the broker's visibility timeout (15 minutes).
SEND_BUDGET_SECONDS = 300.0


class UpdateNotDraft(Exception):
    """Only a draft can be edited or sent."""


def recipients_query(campaign_id: int) -> Select[Any]:
    """Ids of the signers an update goes to: validated, agreed to be
    contacted, personal data not erased."""
    return select(Signature.id).where(
        Signature.campaign_id == campaign_id,
        Signature.state == SignatureState.validated,
        Signature.contact_ok.is_(True),
        Signature.personal_data.is_not(None),
    )


def recipients_by_language(campaign: Campaign) -> dict[str, int]:
    """How many signers would receive an update now, per signing language."""
    rows = db.session.execute(
        select(Signature.locale, func.count())
        .where(Signature.id.in_(recipients_query(campaign.id)))
        .group_by(Signature.locale)
    ).all()
    return {locale: n for locale, n in rows}


def create_update(
    campaign: Campaign, texts: dict[str, dict[str, str]], author: User
) -> CampaignUpdate:
    """A new draft update (flush only)."""
    if DEFAULT_LANGUAGE not in texts:
        raise ValueError("the Arabic text is required")
    item = CampaignUpdate(
        campaign_id=campaign.id, texts=texts, state=UpdateState.draft, created_by=author.id
    )
    db.session.add(item)
    db.session.flush()
    record("update_created", "update", item.id, campaign=campaign.slug, languages=sorted(texts))
    return item


def edit_update(item: CampaignUpdate, texts: dict[str, dict[str, str]]) -> None:
    """Replace a draft's texts (a guarded update: never once it is sending;
    flush only)."""
    if DEFAULT_LANGUAGE not in texts:
        raise ValueError("the Arabic text is required")
    _change_draft(item, texts=texts)
    record("update_edited", "update", item.id, languages=sorted(texts))


def _change_draft(item: CampaignUpdate, **values: Any) -> None:
    """Set ``values`` on a draft, once (a guarded update: UpdateNotDraft if it
    is a draft no longer; flush only)."""
    won = db.session.execute(
        update(CampaignUpdate)
        .where(CampaignUpdate.id == item.id, CampaignUpdate.state == UpdateState.draft)
        .values(**values)
        .returning(CampaignUpdate.id)
        .execution_options(synchronize_session=False)
    ).scalar()
    if won is None:
        raise UpdateNotDraft
    db.session.expire(item, list(values))


def _heartbeat_name(update_id: int) -> str:
    return f"update:{update_id}"


def _heartbeat(update_id: int) -> None:
    """Note that the update is being worked on now (a row in ``job_locks``)."""
    name = _heartbeat_name(update_id)
    db.session.execute(insert_ignore(JobLock, ["name"]).values(name=name, last_run_at=utcnow()))
    db.session.execute(update(JobLock).where(JobLock.name == name).values(last_run_at=utcnow()))


def start_sending(item: CampaignUpdate) -> None:
    """Draft → sending, once (a guarded update; flush only). The caller hands
    it to the workers with ``queue_sending`` in the same transaction."""
    _change_draft(item, state=UpdateState.sending)
    _heartbeat(item.id)
    campaign = db.session.get_one(Campaign, item.campaign_id)
    recipients = sum(recipients_by_language(campaign).values())
    record("update_send", "update", item.id, recipients=recipients)


def queue_sending(update_id: int) -> None:
    """Hand a sending update to the workers: its send task goes into the
    caller's transaction (flush only), and the outbox relays it once that
    commits."""
    enqueue(SEND_UPDATE.name, update_id)


def decide_update_batch(update_id: int, batch: int = BATCH) -> tuple[list[int], bool]:
    """Decide the next batch of an update's emails and commit; returns the new
    email ids and whether the update is done (then it is marked sent)."""
    item = db.session.execute(
        select(CampaignUpdate)
        .where(CampaignUpdate.id == update_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).scalar_one_or_none()
    if item is None or item.state is not UpdateState.sending:
        db.session.rollback()
        return [], True
    signature_ids = db.session.execute(
        recipients_query(item.campaign_id)
        .where(Signature.id > item.cursor)
        .order_by(Signature.id)
        .limit(batch)
    ).scalars().all()
    if not signature_ids:
        item.state = UpdateState.sent
        item.sent_at = utcnow()
        db.session.execute(delete(JobLock).where(JobLock.name == _heartbeat_name(update_id)))
        record("update_sent", "update", item.id, recipients=item.recipients)
        db.session.commit()
        return [], True
    now = utcnow()
    email_ids = db.session.execute(
        insert_ignore(EmailLog, ["dedupe_key"])
        .values(
            [
                {
                    "dedupe_key": f"update:{update_id}:{signature_id}",
                    "kind": EmailKind.update,
                    "signature_id": signature_id,
                    "update_id": update_id,
                    "status": EmailStatus.queued,
                    "attempts": 0,
                    "next_attempt_at": now,
                    "created_at": now,
                }
                for signature_id in signature_ids
            ]
        )
        .returning(EmailLog.id)
    ).scalars().all()
    item.cursor = signature_ids[-1]
    item.recipients += len(email_ids)
    _heartbeat(update_id)
    db.session.commit()
    return sorted(email_ids), False


def _undelivered(update_id: int) -> list[int]:
    """Emails of this update decided by an earlier run and due now."""
    ids = db.session.execute(
        select(EmailLog.id).where(
            EmailLog.update_id == update_id,
            EmailLog.status.in_([EmailStatus.queued, EmailStatus.sending]),
            EmailLog.next_attempt_at <= utcnow(),
        )
    ).scalars().all()
    db.session.rollback()
    return list(ids)


def send_updates(update_ids: list[int]) -> int:
    """Task body: send updates to their signers, batch by batch; returns how
    many emails were sent."""
    # In-process, the caller is already the worker: no hand-over.
    budget = None if current_app.config["TASKS_EAGER"] else SEND_BUDGET_SECONDS
    return sum(send_update(update_id, budget_seconds=budget) for update_id in update_ids)


def send_update(update_id: int, batch: int = BATCH, budget_seconds: float | None = None) -> int:
    """Send what an interrupted run left, then decide and send the rest batch
    by batch; returns how many emails were sent.

    With ``budget_seconds``, a long update hands its remainder to a fresh task
    (through the outbox) once the budget is spent, so no task outlives the
    broker's visibility timeout (which would deliver it to a second worker
    while it runs)."""
    deadline = None if budget_seconds is None else time.monotonic() + budget_seconds
    leftovers = _undelivered(update_id)
    sent = deliver_emails(leftovers) if leftovers else 0
    while True:
        email_ids, done = decide_update_batch(update_id, batch)
        if email_ids:
            sent += deliver_emails(email_ids)
        if done:
            return sent
        if deadline is not None and time.monotonic() > deadline:
            queue_sending(update_id)
            db.session.commit()
            return sent


def resume_stale_updates() -> list[int]:
    """Sweep: hand back to the workers the sending updates nobody has moved on
    lately (and none is on its way to), their heartbeat renewed in the same
    transaction (committed); returns their ids."""
    sending = db.session.execute(
        select(CampaignUpdate.id).where(
            CampaignUpdate.state == UpdateState.sending,
            ~waiting(SEND_UPDATE.name, CampaignUpdate.id),
        )
    ).scalars().all()
    if not sending:
        db.session.rollback()
        return []
    beats = {
        name: at
        for name, at in db.session.execute(
            select(JobLock.name, JobLock.last_run_at).where(
                JobLock.name.in_([_heartbeat_name(i) for i in sending])
            )
        )
    }
    cutoff = utcnow() - STALE_AFTER
    stale = []
    for update_id in sending:
        beat = beats.get(_heartbeat_name(update_id))
        if beat is None or beat < cutoff:
            _heartbeat(update_id)
            queue_sending(update_id)
            stale.append(update_id)
    db.session.commit()
    return stale
