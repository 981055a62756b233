"""Bulk invalidation, in the manner of the UK Parliament petitions site: an
organizer describes signatures by conditions, previews how many match, and a
worker invalidates them in batches, one transaction each, recording its
progress so that it can be cancelled and, restarted, goes on from where it was.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from fnmatch import fnmatchcase
from typing import Any

from flask import current_app
from sqlalchemy import ColumnElement, func, select, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import load_only

from ..accounts.audit import record
from ..counting.services import update_signature_counts
from ..extensions import db
from ..jobs import INVALIDATE_SIGNATURES
from ..kernel.normalize import match_name
from ..models import (
    ACTIVE_JOBS,
    LIVE,
    Invalidation,
    JobState,
    Kiosk,
    Signature,
    TrendingFlag,
    User,
)
from ..models.types import utcnow
from ..outbox import enqueue, waiting
from ..privacy.crypto import DecryptionError, hash_email_domain
from ..privacy.personal import read_personal_data
from ..signing.lifecycle import invalidate
from .trending import DOMAIN, IP

CONDITIONS = (
    "since", "until", "email_domain_hash", "ip_hash", "country", "name_pattern", "kiosk",
    "collector",
)  # fmt: skip
# Also understood: "email_domain" (hashed when read), as the model documents it.
# The console stores only the hash: a domain can say who signed.
_ALL_CONDITIONS = (*CONDITIONS, "email_domain")
# A pending invalidation whose task message was lost is handed over again after this.
STALE_AFTER = timedelta(minutes=2)
# Conditions on a signer's own data: with an exact count, narrowing a name
# letter by letter (or probing a domain) tells whether one person signed.
PERSONAL_CONDITIONS = ("name_pattern", "email_domain")
# Hash conditions an organizer may give only as a trending burst of the campaign.
FLAG_CONDITIONS = {"ip_hash": IP, "email_domain_hash": DOMAIN}
# Below admin, a preview of 1 to SMALL_COUNT - 1 signatures says only "fewer than".
SMALL_COUNT = 5


class NoConditions(ValueError):
    """Without a condition every signature would be invalidated: refused."""


class ConditionNotAllowed(ValueError):
    """A condition that only an admin may set (``reason`` "personal"), or a
    hash that is not a trending burst of the campaign (``reason`` "hash")."""

    def __init__(self, reason: str, condition: str) -> None:
        super().__init__(f"{condition}: {reason}")
        self.reason, self.condition = reason, condition


@dataclass(frozen=True)
class Preview:
    """How many signatures an invalidation would take now. ``exact`` is False
    when a name pattern was not applied (too many names to decrypt in a
    request): ``count`` is then the candidates before the name match."""

    count: int
    exact: bool
    # True when the count is from 1 to SMALL_COUNT - 1 and the reader is below
    # admin: ``count`` then holds SMALL_COUNT, never the real figure.
    fewer_than: bool = False


def check_conditions(conditions: Mapping[str, str]) -> dict[str, str]:
    """The conditions that are set; NoConditions if none is."""
    unknown = set(conditions) - set(_ALL_CONDITIONS)
    if unknown:
        raise ValueError(f"unknown conditions {sorted(unknown)}")
    given = {key: value for key, value in conditions.items() if value}
    if not given:
        raise NoConditions
    return given


def _clauses(campaign_id: int | None, conditions: Mapping[str, str]) -> list[ColumnElement[bool]]:
    """Everything but the name pattern, which is matched on the decrypted name."""
    clauses: list[ColumnElement[bool]] = [Signature.state.in_(LIVE)]
    if campaign_id is not None:
        clauses.append(Signature.campaign_id == campaign_id)
    if since := conditions.get("since"):
        clauses.append(Signature.created_at >= datetime.fromisoformat(since))
    if until := conditions.get("until"):
        clauses.append(Signature.created_at < datetime.fromisoformat(until))
    if domain_hash := conditions.get("email_domain_hash"):
        clauses.append(Signature.email_domain_hash == bytes.fromhex(domain_hash))
    if domain := conditions.get("email_domain"):
        clauses.append(Signature.email_domain_hash == hash_email_domain(domain))
    if ip_hash := conditions.get("ip_hash"):
        clauses.append(Signature.ip_hash == bytes.fromhex(ip_hash))
    if country := conditions.get("country"):
        clauses.append(Signature.country == country)
    # Signed in person: at one stand (the kiosk's public uuid), or at any
    # stand of one collector (their account's id).
    if kiosk := conditions.get("kiosk"):
        stand = select(Kiosk.id).where(Kiosk.uuid == uuid.UUID(kiosk))
        clauses.append(Signature.kiosk_id.in_(stand))
    if collector := conditions.get("collector"):
        stands = select(Kiosk.id).where(Kiosk.collector_id == int(collector))
        clauses.append(Signature.kiosk_id.in_(stands))
    return clauses


def name_matcher(pattern: str) -> Callable[[str], bool]:
    """Case-insensitive (and Arabic-variant-insensitive) match of a name: a
    glob on the whole name when the pattern has ``*``, ``?`` or ``[``, else a
    substring."""
    folded = match_name(pattern)
    if any(ch in folded for ch in "*?["):
        return lambda name: fnmatchcase(match_name(name), folded)
    return lambda name: folded in match_name(name)


def _names_matching(signatures: list[Signature], pattern: str) -> list[int]:
    matches = name_matcher(pattern)
    found = []
    for signature in signatures:
        try:
            name = read_personal_data(signature)["name"]
        except (LookupError, DecryptionError):
            continue  # erased or unreadable: nothing to match
        if matches(name):
            found.append(signature.id)
    return found


def _candidates(
    campaign_id: int | None, conditions: Mapping[str, str], after: int, limit: int
) -> list[Signature]:
    columns = [Signature.id, Signature.personal_data] if conditions.get("name_pattern") else []
    return list(
        db.session.execute(
            select(Signature)
            .options(load_only(Signature.id, *columns))
            .where(*_clauses(campaign_id, conditions), Signature.id > after)
            .order_by(Signature.id)
            .limit(limit)
        ).scalars()
    )


def preview_invalidation(campaign_id: int | None, conditions: Mapping[str, str]) -> Preview:
    """How many live signatures match now (read only)."""
    conditions = check_conditions(conditions)
    candidates = db.session.execute(
        select(func.count()).select_from(Signature).where(*_clauses(campaign_id, conditions))
    ).scalar_one()
    pattern = conditions.get("name_pattern")
    if not pattern:
        return Preview(candidates, exact=True)
    limit = current_app.config["INVALIDATION_PREVIEW_NAME_LIMIT"]
    if candidates > limit:
        return Preview(candidates, exact=False)
    matched, after = 0, 0
    while batch := _candidates(
        campaign_id, conditions, after, current_app.config["INVALIDATION_BATCH_SIZE"]
    ):
        matched += len(_names_matching(batch, pattern))
        after = batch[-1].id
    return Preview(matched, exact=True)


def _floor_hour(moment: datetime) -> datetime:
    return moment.replace(minute=0, second=0, microsecond=0)


def snap_to_hours(conditions: Mapping[str, str]) -> dict[str, str]:
    """The window widened to whole hours (start floored, end ceiled): minute
    windows would single out one signature by its time."""
    snapped = dict(conditions)
    if since := conditions.get("since"):
        snapped["since"] = _floor_hour(datetime.fromisoformat(since)).isoformat()
    if until := conditions.get("until"):
        end = datetime.fromisoformat(until)
        ceiled = _floor_hour(end)
        if ceiled != end:
            ceiled += timedelta(hours=1)
        snapped["until"] = ceiled.isoformat()
    return snapped


def organizer_conditions(campaign_id: int, conditions: Mapping[str, str]) -> dict[str, str]:
    """The conditions an organizer may use on their campaign: the window in
    whole hours, the country, and hashes of the campaign's trending bursts.
    Raises ConditionNotAllowed otherwise, before anything is read of the
    signatures, so that the refusal says nothing about them."""
    for key in PERSONAL_CONDITIONS:
        if conditions.get(key):
            raise ConditionNotAllowed("personal", key)
    for key, kind in FLAG_CONDITIONS.items():
        value = conditions.get(key)
        if value and not _is_trending(campaign_id, kind, value):
            raise ConditionNotAllowed("hash", key)
    return snap_to_hours(conditions)


def _is_trending(campaign_id: int, kind: str, key_hash: str) -> bool:
    return (
        db.session.execute(
            select(TrendingFlag.id)
            .where(
                TrendingFlag.campaign_id == campaign_id,
                TrendingFlag.kind == kind,
                TrendingFlag.key_hash == key_hash.lower(),
            )
            .limit(1)
        ).scalar()
        is not None
    )


def suppress_small(preview: Preview) -> Preview:
    """What a reader below admin is told: a count from 1 to SMALL_COUNT - 1
    becomes "fewer than SMALL_COUNT" (0 and larger counts stay exact)."""
    if 0 < preview.count < SMALL_COUNT:
        return Preview(SMALL_COUNT, exact=preview.exact, fewer_than=True)
    return preview


def audited_preview(
    campaign_id: int | None, conditions: Mapping[str, str], *, admin: bool
) -> Preview:
    """A preview for the console (flush only): recorded in the audit log with
    its conditions and the count found, and suppressed below admin."""
    conditions = check_conditions(conditions)
    preview = preview_invalidation(campaign_id, conditions)
    record(
        "invalidation_previewed",
        "campaign",
        campaign_id,
        campaign_id=campaign_id,
        conditions=dict(conditions),
        count=preview.count,
        exact=preview.exact,
    )
    return preview if admin else suppress_small(preview)


def create_invalidation(
    campaign_id: int | None, conditions: Mapping[str, str], reason: str, user: User
) -> Invalidation:
    """Record an invalidation to run (flush only); hand it to the workers with
    ``start_invalidation`` in the same transaction."""
    conditions = check_conditions(conditions)
    invalidation = Invalidation(
        campaign_id=campaign_id,
        conditions=conditions,
        reason=reason.strip()[:500],
        state=JobState.pending,
        matched=0,
        invalidated=0,
        cursor=0,
        created_by=user.id,
        created_at=utcnow(),
    )
    db.session.add(invalidation)
    db.session.flush()
    # With their values: a name pattern or a domain is an admin's question
    # about signers, and the audit log is for admins only.
    record(
        "invalidation_created",
        "invalidation",
        invalidation.id,
        campaign_id=campaign_id,
        conditions=dict(conditions),
        reason=invalidation.reason,
    )
    return invalidation


def start_invalidation(invalidation_id: int) -> None:
    """Hand an invalidation to the workers: its task goes into the caller's
    transaction (flush only), and the outbox relays it once that commits. A
    run that fails is marked failed."""
    enqueue(INVALIDATE_SIGNATURES.name, invalidation_id)


def cancel_invalidation(invalidation: Invalidation) -> bool:
    """Stop a pending or running invalidation before its next batch (flush
    only); False if it had already finished."""
    won = db.session.execute(
        update(Invalidation)
        .where(Invalidation.id == invalidation.id, Invalidation.state.in_(ACTIVE_JOBS))
        .values(state=JobState.cancelled, finished_at=utcnow())
        .returning(Invalidation.id)
        .execution_options(synchronize_session=False)
    ).scalar()
    if won is None:
        return False
    record("invalidation_cancelled", "invalidation", invalidation.id)
    return True


def _lock(invalidation_id: int) -> Invalidation | None:
    query = select(Invalidation).where(Invalidation.id == invalidation_id)
    if db.session.get_bind().dialect.name == "postgresql":
        # Batches of two runs (a redelivered task) take turns; a cancel waits
        # for the batch in hand to commit.
        query = query.with_for_update()
    return db.session.execute(query).scalar_one_or_none()


def invalidate_batch(invalidation_id: int, batch_size: int) -> bool:
    """Run one batch in one transaction (commits); returns whether there may
    be more to do. Does nothing unless the invalidation is pending or running."""
    invalidation = _lock(invalidation_id)
    if invalidation is None or invalidation.state not in ACTIVE_JOBS:
        db.session.rollback()
        return False
    now = utcnow()
    if invalidation.state is JobState.pending:
        invalidation.state, invalidation.started_at = JobState.running, now
    conditions = invalidation.conditions
    batch = _candidates(invalidation.campaign_id, conditions, invalidation.cursor, batch_size)
    pattern = conditions.get("name_pattern")
    ids = _names_matching(batch, pattern) if pattern else [s.id for s in batch]
    invalidated = invalidate(ids, invalidation.id, now) if ids else []
    if batch:
        invalidation.cursor = batch[-1].id
    invalidation.matched += len(ids)
    invalidation.invalidated += len(invalidated)
    more = len(batch) == batch_size
    if not more:
        invalidation.state, invalidation.finished_at = JobState.completed, now
    db.session.commit()
    return more


def run_invalidation(invalidation_id: int, batch_size: int | None = None) -> JobState | None:
    """Task body: batches until done or cancelled, then fold the changes into
    the counts. Idempotent: a finished invalidation is left as it is, a
    restarted one goes on from its cursor."""
    size = batch_size or current_app.config["INVALIDATION_BATCH_SIZE"]
    try:
        while invalidate_batch(invalidation_id, size):
            pass
    except OperationalError:
        db.session.rollback()
        raise  # a database hiccup: the task is retried and resumes from the cursor
    except Exception:
        db.session.rollback()
        db.session.execute(
            update(Invalidation)
            .where(Invalidation.id == invalidation_id, Invalidation.state.in_(ACTIVE_JOBS))
            .values(state=JobState.failed, finished_at=utcnow())
        )
        db.session.commit()
        raise
    update_signature_counts()
    db.session.expire_all()
    invalidation = db.session.get(Invalidation, invalidation_id)
    return invalidation.state if invalidation else None


def requeue_pending_invalidations() -> int:
    """Sweep: hand back to the workers the invalidations that never started
    and are not on their way (their task message was lost); commits."""
    stale = (
        db.session.execute(
            select(Invalidation.id).where(
                Invalidation.state == JobState.pending,
                Invalidation.created_at < utcnow() - STALE_AFTER,
                ~waiting(INVALIDATE_SIGNATURES.name, Invalidation.id),
            )
        )
        .scalars()
        .all()
    )
    for invalidation_id in stale:
        start_invalidation(invalidation_id)
    db.session.commit()
    return len(stale)


def describe_conditions(conditions: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(condition, value) pairs for display, in a fixed order."""
    return [(key, str(conditions[key])) for key in _ALL_CONDITIONS if conditions.get(key)]
