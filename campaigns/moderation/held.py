"""Held signatures, reviewed a network at a time. Signatures over their
address's rate limits were confirmed by their signers and wait in state
``held``; an organizer sees them grouped by the address they came from (its
keyed hash shown only as a short opaque label, never the address) with the
group's size, time span and spread of email domains, and one decision
releases or rejects the whole group. Guarded updates: a decision taken twice,
or by two people at once, acts once. Flush only: the request commits."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select

from ..accounts.audit import record
from ..extensions import db
from ..models import Campaign, Signature, SignatureState
from ..models.types import utcnow
from ..signing.lifecycle import HOLD_LABELS, reject_held, release_held

LABEL_LENGTH = 10
LABEL = re.compile(rf"^[0-9a-f]{{{LABEL_LENGTH}}}$")
DECISIONS = ("release", "reject")


class GroupChanged(Exception):
    """The group no longer holds the number of signatures the person saw:
    they must confirm the new number (``size``)."""

    def __init__(self, size: int) -> None:
        super().__init__(size)
        self.size = size


def group_label(ip_hash: bytes | None) -> str:
    """A short opaque name for the address a group came from: a hash of its
    keyed hash, so that nothing on the page can be matched to an address."""
    return hashlib.sha256(b"held-group:" + (ip_hash or b"")).hexdigest()[:LABEL_LENGTH]


@dataclass(frozen=True)
class HeldGroup:
    campaign_id: int
    label: str
    size: int
    first: datetime
    last: datetime
    # Distinct email domains among them: one domain for all is a bot's sign,
    # many is a crowd's.
    domains: int
    reasons: tuple[str, ...]

    @property
    def reason_labels(self) -> list[str]:
        return [str(HOLD_LABELS[r]) for r in self.reasons if r in HOLD_LABELS]


def held_groups(campaign_ids: Iterable[int] | None) -> list[HeldGroup]:
    """The held signatures of these campaigns (None: every campaign), one
    group per campaign and address, largest first."""
    query = (
        select(
            Signature.campaign_id,
            Signature.ip_hash,
            func.count(),
            func.min(Signature.created_at),
            func.max(Signature.created_at),
            func.count(func.distinct(Signature.email_domain_hash)),
            func.min(Signature.hold_reason),
            func.max(Signature.hold_reason),
        )
        .where(Signature.state == SignatureState.held)
        .group_by(Signature.campaign_id, Signature.ip_hash)
    )
    if campaign_ids is not None:
        query = query.where(Signature.campaign_id.in_(list(campaign_ids)))
    groups = [
        HeldGroup(
            campaign_id=campaign_id,
            label=group_label(ip_hash),
            size=size,
            first=first,
            last=last,
            domains=domains,
            reasons=tuple(sorted({r for r in (low, high) if r})),
        )
        for campaign_id, ip_hash, size, first, last, domains, low, high in db.session.execute(query)
    ]
    return sorted(groups, key=lambda g: (-g.size, g.campaign_id, g.label))


def held_group(campaign: Campaign, label: str) -> HeldGroup | None:
    """One campaign's group by its label, or None when nothing of it is held."""
    if not LABEL.match(label):
        return None
    return next((g for g in held_groups([campaign.id]) if g.label == label), None)


def _group_ids(campaign_id: int, label: str) -> list[int]:
    rows = db.session.execute(
        select(Signature.id, Signature.ip_hash).where(
            Signature.campaign_id == campaign_id, Signature.state == SignatureState.held
        )
    ).all()
    return [row.id for row in rows if group_label(row.ip_hash) == label]


def decide_group(campaign: Campaign, label: str, decision: str, expected: int) -> int:
    """Release (held → validated, counted by the count job) or reject (held →
    invalidated) every held signature of the group, as one guarded UPDATE;
    audited with the group's label and the number decided, nothing about a
    signer. ``expected`` is the number the person confirmed: GroupChanged when
    the group holds another number now. Returns how many this call moved: 0
    when the group was decided already (by this person twice, or by another)."""
    if decision not in DECISIONS:
        raise ValueError(decision)
    ids = _group_ids(campaign.id, label)
    if not ids:
        return 0
    if len(ids) != expected:
        raise GroupChanged(len(ids))
    move = release_held if decision == "release" else reject_held
    moved = move(ids, campaign.id, utcnow())
    if moved:
        record(
            "held_group_released" if decision == "release" else "held_group_rejected",
            "campaign",
            campaign.id,
            group=label,
            count=len(moved),
        )
    return len(moved)
