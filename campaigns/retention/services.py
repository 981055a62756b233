"""Retention: the personal data of a campaign's signers is erased
``RETENTION_DAYS`` (see config.py) days after the campaign closes.

Erasing a signature clears everything that could lead back to the person —
the encrypted name/email/phone/typed city or region, the email fingerprint,
the client-address and email-domain hashes, the consents — and gives it a fresh UUID, so
that links in old emails (confirm, unsubscribe) lead nowhere. What the
aggregates are made of stays: state, counted flag, country, region code,
amount, dates. The count tables are not touched: the figures stay exactly as
they were, and a recount rebuilds the same figures.

A signer who withdraws has the same personal data erased at once
(``erase_withdrawn``); the fingerprint and UUID wait for the campaign's erasure.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import and_, delete, func, or_, select, update

from ..accounts.audit import record
from ..extensions import db
from ..models import (
    ACTIVE_JOBS,
    AuditEntry,
    Campaign,
    CampaignNotice,
    CampaignStatus,
    Invalidation,
    JobLock,
    PaperSheet,
    Signature,
    TrendingFlag,
)
from ..models.types import utcnow
from ..upsert import insert_ignore

BATCH = 1000
# Statuses after closing; a reopened campaign keeps its data until it closes again.
ENDED = (CampaignStatus.closed, CampaignStatus.archived)
# Conditions of a bulk invalidation that may point at a person.
PERSONAL_CONDITIONS = ("ip_hash", "email_domain_hash", "email_domain", "name_pattern")


class CampaignStillOpen(Exception):
    """Erasing an open campaign's signers needs ``force``."""


def retention_days() -> int:
    return int(current_app.config["RETENTION_DAYS"])


def last_closings(campaigns: list[Campaign]) -> dict[int, datetime]:
    """When each of these campaigns last closed (those not closed are left out).

    Campaigns have no column for it, so the latest of what is known: the audit
    log's last change of status to closed (console or schedule), the scheduled
    closing time once passed, and when the closing notice was decided. Taking
    the latest can only keep data longer, never erase it early."""
    ended = {c.id: c for c in campaigns if c.status in ENDED}
    if not ended:
        return {}
    moments: dict[int, list[datetime]] = {cid: [] for cid in ended}
    # Status changes are few; one read of them for all campaigns.
    for target_id, at, details in db.session.execute(
        select(AuditEntry.target_id, AuditEntry.created_at, AuditEntry.details).where(
            AuditEntry.action == "campaign_status",
            AuditEntry.target_type == "campaign",
            AuditEntry.target_id.in_([str(cid) for cid in ended]),
        )
    ):
        if target_id and (details or {}).get("after") == CampaignStatus.closed.value:
            moments[int(target_id)].append(at)
    for campaign_id, at in db.session.execute(
        select(CampaignNotice.campaign_id, CampaignNotice.created_at).where(
            CampaignNotice.campaign_id.in_(list(ended)), CampaignNotice.kind == "closed"
        )
    ):
        moments[campaign_id].append(at)
    now = utcnow()
    for campaign in ended.values():
        if campaign.closes_at is not None and campaign.closes_at <= now:
            moments[campaign.id].append(campaign.closes_at)
    return {cid: max(found) for cid, found in moments.items() if found}


def _marker(campaign_id: int) -> str:
    # A job_locks row whose last_run_at says when erasure last completed.
    return f"erased:{campaign_id}"


def _unerased(campaign_id: int, up_to: int | None = None) -> list[int]:
    query = select(Signature.id).where(
        Signature.campaign_id == campaign_id, Signature.erased_at.is_(None)
    )
    if up_to is not None:
        query = query.where(Signature.id <= up_to)
    return list(db.session.execute(query.order_by(Signature.id).limit(BATCH)).scalars())


def remaining(campaign: Campaign) -> int:
    """How many of the campaign's signatures still hold personal data."""
    return int(
        db.session.execute(
            select(func.count()).where(
                Signature.campaign_id == campaign.id, Signature.erased_at.is_(None)
            )
        ).scalar_one()
    )


# What leads back to the person, and the consents that would publish or
# contact them: cleared by every erasure, a withdrawal's included.
PERSONAL_VALUES: dict[str, Any] = {
    "personal_data": None,
    "ip_hash": None,
    "email_domain_hash": None,
    "show_name": False,
    "deliver_name": False,
    "contact_ok": False,
}


def _erase_batch(signature_ids: list[int]) -> None:
    now = utcnow()
    db.session.execute(
        update(Signature),
        [
            {
                "id": signature_id,
                **PERSONAL_VALUES,
                "uuid": uuid.uuid4(),
                "fingerprint": None,
                "erased_at": now,
            }
            for signature_id in signature_ids
        ],
    )


def erase_withdrawn(signature_id: int) -> None:
    """Erase a withdrawn signature's personal data at once (flush only).

    Kept until the campaign's own erasure, and only to keep counts honest:
    the email fingerprint (signing again with the same address is absorbed as
    a duplicate, so withdrawing and signing again cannot add a signer), the
    UUID (the signer's link still answers "withdrawn", so withdrawing twice
    is harmless), and what the count job subtracts from (state, counted flag,
    country, region code, amount, dates). ``erased_at`` stays empty: the
    retention job still clears the fingerprint and the UUID later."""
    db.session.execute(
        update(Signature)
        .where(Signature.id == signature_id)
        .values(**PERSONAL_VALUES)
        .execution_options(synchronize_session=False)
    )


def _without_personal(conditions: dict[str, Any]) -> dict[str, Any] | None:
    """The conditions with their personal values blanked; None if there were none."""
    if not any(conditions.get(key) for key in PERSONAL_CONDITIONS):
        return None
    return {key: "" if key in PERSONAL_CONDITIONS else value for key, value in conditions.items()}


def _erase_traces(campaign: Campaign) -> None:
    """Moderation records of the campaign that may point at a person: trending
    flags (hashes of a client or domain) go, and the personal conditions of
    its finished bulk invalidations, and of the audit entries of those and of
    its previews, are blanked."""
    db.session.execute(delete(TrendingFlag).where(TrendingFlag.campaign_id == campaign.id))
    invalidations = db.session.execute(
        select(Invalidation).where(
            Invalidation.campaign_id == campaign.id, Invalidation.state.not_in(ACTIVE_JOBS)
        )
    ).scalars().all()
    for invalidation in invalidations:
        blanked = _without_personal(dict(invalidation.conditions or {}))
        if blanked is not None:
            invalidation.conditions = blanked
    entries = db.session.execute(
        select(AuditEntry).where(
            or_(
                and_(
                    AuditEntry.action == "invalidation_previewed",
                    AuditEntry.target_type == "campaign",
                    AuditEntry.target_id == str(campaign.id),
                ),
                and_(
                    AuditEntry.action == "invalidation_created",
                    AuditEntry.target_type == "invalidation",
                    AuditEntry.target_id.in_([str(i.id) for i in invalidations]),
                ),
            )
        )
    ).scalars()
    for entry in entries:
        details: dict[str, Any] = dict(entry.details or {})
        blanked = _without_personal(dict(details.get("conditions") or {}))
        if blanked is not None:
            entry.details = {**details, "conditions": blanked}


def _erase_collectors(campaign: Campaign) -> None:
    """The collectors of the campaign's printed sheets: their name and phone
    go with the signers' data (the sheets and their row counts stay)."""
    db.session.execute(
        update(PaperSheet)
        .where(PaperSheet.campaign_id == campaign.id, PaperSheet.collector_data.is_not(None))
        .values(collector_data=None)
        .execution_options(synchronize_session=False)
    )


def check_erasable(campaign: Campaign, *, force: bool = False) -> None:
    """Raise CampaignStillOpen for an open campaign unless ``force``."""
    if campaign.status is CampaignStatus.open and not force:
        raise CampaignStillOpen(campaign.slug)


def erase_campaign(
    campaign: Campaign,
    *,
    force: bool = False,
    via: str = "schedule",
    budget_seconds: float | None = None,
    progress: Callable[[int], None] | None = None,
) -> tuple[int, bool]:
    """Erase the personal data of a campaign's signatures, batch by batch,
    each batch committed; returns (how many were erased, whether it is done).

    Refuses an open campaign unless ``force``. ``budget_seconds`` stops after
    the batch that exceeds it (the periodic job goes on at its next run);
    ``progress`` is called with each batch's size. Audited once per call."""
    check_erasable(campaign, force=force)
    deadline = None if budget_seconds is None else time.monotonic() + budget_seconds
    # Signatures arriving while an open campaign is erased are left for later.
    up_to = db.session.execute(
        select(func.max(Signature.id)).where(Signature.campaign_id == campaign.id)
    ).scalar()
    erased = 0
    done = False
    while True:
        ids = _unerased(campaign.id, up_to)
        if not ids:
            done = True
            break
        _erase_batch(ids)
        db.session.commit()
        erased += len(ids)
        if progress is not None:
            progress(len(ids))
        if deadline is not None and time.monotonic() > deadline:
            break
    if done:
        _erase_traces(campaign)
        _erase_collectors(campaign)
        name = _marker(campaign.id)
        db.session.execute(insert_ignore(JobLock, ["name"]).values(name=name))
        db.session.execute(
            update(JobLock).where(JobLock.name == name).values(last_run_at=utcnow())
        )
    if erased or done:
        record(
            "personal_data_erased",
            "campaign",
            campaign.id,
            signatures=erased,
            complete=done,
            via=via,
        )
    db.session.commit()
    return erased, done


def due_campaigns(now: datetime | None = None) -> list[Campaign]:
    """Closed campaigns past their retention time whose erasure has not
    completed since they last closed."""
    now = now or utcnow()
    limit = timedelta(days=retention_days())
    campaigns = db.session.execute(
        select(Campaign).where(Campaign.status.in_(ENDED)).order_by(Campaign.id)
    ).scalars().all()
    markers = {
        name: at
        for name, at in db.session.execute(
            select(JobLock.name, JobLock.last_run_at).where(JobLock.name.like("erased:%"))
        )
    }
    closings = last_closings(list(campaigns))
    due = []
    for campaign in campaigns:
        since = closings.get(campaign.id)
        if since is None or since + limit > now:
            continue
        completed = markers.get(_marker(campaign.id))
        if completed is not None and completed >= since:
            continue
        due.append(campaign)
    return due


def erase_expired_personal_data(budget_seconds: float = 5.0) -> int:
    """Periodic job: erase the signers of campaigns closed longer than the
    retention time, for about ``budget_seconds``; returns how many were erased.
    Its task (``workers/updates.py``) also forgets the confirmation codes'
    tries that no longer count."""
    deadline = time.monotonic() + budget_seconds
    erased = 0
    for campaign in due_campaigns():
        left = deadline - time.monotonic()
        if left <= 0:
            break
        n, _done = erase_campaign(campaign, via="schedule", budget_seconds=left)
        erased += n
    db.session.commit()
    return erased
