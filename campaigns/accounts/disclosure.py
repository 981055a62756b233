"""The two-person rule for signers' personal data.

Exporting signatures with personal data, showing names in moderation and
making the delivery document with full names each take a request with a
reason (``request_disclosure``); an admin other than the requester approves
or refuses it (``decide_disclosure``); the requester then collects a one-time
grant (``issue_grant``): a random token shown once, of which only the SHA-256
hash is stored, valid ``DISCLOSURE_USE_SECONDS`` and taken by one guarded
update (``use_grant``). Every step is in the audit log, never with a signer's
data (nor the reason, which is the requester's free text).

``TWO_PERSON_DISCLOSURE`` off (a union with a single admin) lets the console
open personal data directly again; requests keep working."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import and_, select, update

from ..extensions import db
from ..kernel.normalize import clean_text
from ..models import Campaign, DisclosureKind, DisclosureRequest, DisclosureState, Role, User
from ..models.disclosure import REASON_MAX
from ..models.types import utcnow
from .audit import record
from .services import can_manage

# A grant: 32 random bytes, URL-safe (43 characters).
GRANT_BYTES = 32


class DisclosureError(Exception):
    """A step of the rule that may not be taken; ``reason`` names why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def two_person_rule() -> bool:
    """Whether opening personal data needs a second admin's approval."""
    return bool(current_app.config.get("TWO_PERSON_DISCLOSURE", True))


def grant_seconds() -> int:
    return int(current_app.config.get("DISCLOSURE_USE_SECONDS", 900))


def collect_seconds() -> int:
    """How long an approval waits for its requester to take the one-time link."""
    return int(current_app.config.get("DISCLOSURE_COLLECT_SECONDS", 86400))


def _approval_lapsed(item: DisclosureRequest, now: datetime) -> bool:
    """An approval whose one-time link was never taken in time: spent, like
    an expired link (an approval must not wait for weeks to be used)."""
    return (
        item.state is DisclosureState.approved
        and item.grant_hash is None
        and item.decided_at is not None
        and item.decided_at <= now - timedelta(seconds=collect_seconds())
    )


def may_request(user: User, kind: DisclosureKind, campaign: Campaign | None) -> bool:
    """Who may ask: those who could open the data without the rule. Admins
    for every kind; organizers for the delivery document of their campaigns."""
    if not user.active:
        return False
    if user.role is Role.admin:
        return campaign is not None or kind is DisclosureKind.reveal_names
    if kind is DisclosureKind.delivery_names and campaign is not None:
        return can_manage(user, campaign)
    return False


def grant_hash(token: str) -> bytes:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).digest()


def clean_reason(reason: str | None) -> str:
    """The reason as stored: cleaned (no control, bidi or invisible
    characters); an empty or too long one is refused."""
    text = clean_text(reason or "")
    if not text:
        raise DisclosureError("no_reason")
    if len(text) > REASON_MAX:
        raise DisclosureError("long_reason")
    return text


def request_disclosure(
    kind: DisclosureKind, campaign: Campaign | None, requester: User, reason: str | None
) -> DisclosureRequest:
    """Record a request (flush only)."""
    if not may_request(requester, kind, campaign):
        raise DisclosureError("not_allowed")
    item = DisclosureRequest(
        kind=kind,
        campaign_id=campaign.id if campaign else None,
        requester_id=requester.id,
        reason=clean_reason(reason),
        state=DisclosureState.requested,
        created_at=utcnow(),
    )
    db.session.add(item)
    db.session.flush()
    record(
        "disclosure_requested",
        "disclosure",
        item.id,
        kind=kind.value,
        campaign_id=item.campaign_id,
    )
    return item


def decide_disclosure(item: DisclosureRequest, decider: User, approve: bool) -> None:
    """Approve or refuse a waiting request: admins only, never the requester
    (the database refuses it too)."""
    if decider.role is not Role.admin or not decider.active:
        raise DisclosureError("not_admin")
    if item.requester_id == decider.id:
        raise DisclosureError("own_request")
    now = utcnow()
    state = DisclosureState.approved if approve else DisclosureState.refused
    won = db.session.execute(
        update(DisclosureRequest)
        .where(
            DisclosureRequest.id == item.id,
            DisclosureRequest.state == DisclosureState.requested,
            DisclosureRequest.requester_id != decider.id,
        )
        .values(state=state, decided_by_id=decider.id, decided_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount  # type: ignore[attr-defined]
    if not won:
        raise DisclosureError("not_waiting")
    db.session.refresh(item)
    record(
        "disclosure_approved" if approve else "disclosure_refused",
        "disclosure",
        item.id,
        kind=item.kind.value,
        campaign_id=item.campaign_id,
        requester_id=item.requester_id,
    )


def issue_grant(item: DisclosureRequest, requester: User) -> str:
    """The one-time grant of an approved request, made once for its
    requester: returns the token (shown once), stores its hash."""
    if item.requester_id != requester.id:
        raise DisclosureError("not_yours")
    token = secrets.token_urlsafe(GRANT_BYTES)
    now = utcnow()
    expires = now + timedelta(seconds=grant_seconds())
    if _approval_lapsed(item, now):
        raise DisclosureError("approval_expired")
    won = db.session.execute(
        update(DisclosureRequest)
        .where(
            DisclosureRequest.id == item.id,
            DisclosureRequest.requester_id == requester.id,
            DisclosureRequest.state == DisclosureState.approved,
            DisclosureRequest.grant_hash.is_(None),
            DisclosureRequest.decided_at > now - timedelta(seconds=collect_seconds()),
        )
        .values(grant_hash=grant_hash(token), grant_expires_at=expires)
        .execution_options(synchronize_session=False)
    ).rowcount  # type: ignore[attr-defined]
    if not won:
        raise DisclosureError("already_issued" if item.grant_hash else "not_approved")
    db.session.refresh(item)
    record(
        "disclosure_grant_issued",
        "disclosure",
        item.id,
        kind=item.kind.value,
        campaign_id=item.campaign_id,
    )
    return token


def use_grant(item: DisclosureRequest, user: User, token: str | None) -> None:
    """Take the grant: its requester, the right token, before it expires,
    once. The caller opens the data only when this returns; a refusal is
    audited and raises ``DisclosureError`` (``used``, ``expired``,
    ``wrong_token``, ``not_approved``, ``not_yours``)."""
    if item.requester_id != user.id:
        raise DisclosureError("not_yours")
    now = utcnow()
    digest = grant_hash(token or "")
    won = db.session.execute(
        update(DisclosureRequest)
        .where(
            DisclosureRequest.id == item.id,
            DisclosureRequest.requester_id == user.id,
            DisclosureRequest.state == DisclosureState.approved,
            DisclosureRequest.grant_hash == digest,
            DisclosureRequest.grant_expires_at > now,
        )
        .values(state=DisclosureState.used, used_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount  # type: ignore[attr-defined]
    db.session.refresh(item)
    if won:
        record(
            "disclosure_used",
            "disclosure",
            item.id,
            kind=item.kind.value,
            campaign_id=item.campaign_id,
        )
        return
    reason = _why_refused(item, digest, now)
    record(
        "disclosure_grant_refused",
        "disclosure",
        item.id,
        kind=item.kind.value,
        campaign_id=item.campaign_id,
        why=reason,
    )
    raise DisclosureError(reason)


def _why_refused(item: DisclosureRequest, digest: bytes, now: object) -> str:
    if item.state is DisclosureState.used:
        return "used"
    if item.state is DisclosureState.expired:
        return "expired"
    if item.state is not DisclosureState.approved or item.grant_hash is None:
        return "not_approved"
    if not secrets.compare_digest(item.grant_hash, digest):
        return "wrong_token"
    # The right token, too late: the request is spent.
    db.session.execute(
        update(DisclosureRequest)
        .where(
            and_(
                DisclosureRequest.id == item.id,
                DisclosureRequest.state == DisclosureState.approved,
            )
        )
        .values(state=DisclosureState.expired)
        .execution_options(synchronize_session=False)
    )
    db.session.refresh(item)
    return "expired"


def shown_state(item: DisclosureRequest) -> DisclosureState:
    """The state to show: an approved grant past its time, or an approval
    whose link was never taken in time, is expired."""
    now = utcnow()
    if _approval_lapsed(item, now) or (
        item.state is DisclosureState.approved
        and item.grant_expires_at is not None
        and item.grant_expires_at <= now
    ):
        return DisclosureState.expired
    return item.state


def waiting_for(decider: User) -> list[DisclosureRequest]:
    """Requests this admin may decide: waiting, and someone else's."""
    if decider.role is not Role.admin:
        return []
    query = (
        select(DisclosureRequest)
        .where(
            DisclosureRequest.state == DisclosureState.requested,
            DisclosureRequest.requester_id != decider.id,
        )
        .order_by(DisclosureRequest.id)
        .limit(100)
    )
    return list(db.session.execute(query).scalars())


def requests_of(requester: User, limit: int = 50) -> list[DisclosureRequest]:
    query = (
        select(DisclosureRequest)
        .where(DisclosureRequest.requester_id == requester.id)
        .order_by(DisclosureRequest.id.desc())
        .limit(limit)
    )
    return list(db.session.execute(query).scalars())


def recent_requests(limit: int = 50) -> list[DisclosureRequest]:
    query = select(DisclosureRequest).order_by(DisclosureRequest.id.desc()).limit(limit)
    return list(db.session.execute(query).scalars())
