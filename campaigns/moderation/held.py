"""Held signatures, reviewed a group at a time. Signatures over their
address's rate limits were confirmed by their signers and wait in state
``held``; an organizer sees them grouped twice: by the address they came from
and by their email domain (each group's keyed hash shown only as a short
opaque label, never the address or the domain), with the group's size, time
span and spread over the other kind (domains of a network, networks of a
domain), and one decision releases or rejects the whole group. Guarded
updates: a decision taken twice, or by two people at once, acts once. Flush
only: the request commits."""

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
NETWORK = "network"
DOMAIN = "domain"
KINDS = (NETWORK, DOMAIN)
# The column a kind groups by, and the one whose spread it shows.
COLUMNS = {
    NETWORK: (Signature.ip_hash, Signature.email_domain_hash),
    DOMAIN: (Signature.email_domain_hash, Signature.ip_hash),
}


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


def domain_label(campaign_id: int, domain_hash: bytes | None) -> str:
    """A short opaque name for the email domain a group shares: a hash of its
    keyed hash and of the campaign, so that labels of two campaigns cannot be
    matched to link their signers, nor to a network's label."""
    seed = b"held-domain:%d:" % campaign_id + (domain_hash or b"")
    return hashlib.sha256(seed).hexdigest()[:LABEL_LENGTH]


def _label(kind: str, campaign_id: int, key: bytes | None) -> str:
    return group_label(key) if kind == NETWORK else domain_label(campaign_id, key)


@dataclass(frozen=True)
class HeldGroup:
    campaign_id: int
    kind: str
    label: str
    size: int
    first: datetime
    last: datetime
    # Distinct values of the other kind among them (email domains of a
    # network, networks of a domain): one for all is a bot's sign, many a crowd's.
    spread: int
    reasons: tuple[str, ...]

    @property
    def reason_labels(self) -> list[str]:
        return [str(HOLD_LABELS[r]) for r in self.reasons if r in HOLD_LABELS]


def held_groups(campaign_ids: Iterable[int] | None, kind: str = NETWORK) -> list[HeldGroup]:
    """The held signatures of these campaigns (None: every campaign), one
    group per campaign and address (or email domain), largest first."""
    column, other = COLUMNS[kind]
    query = (
        select(
            Signature.campaign_id,
            column,
            func.count(),
            func.min(Signature.created_at),
            func.max(Signature.created_at),
            func.count(func.distinct(other)),
            func.min(Signature.hold_reason),
            func.max(Signature.hold_reason),
        )
        .where(Signature.state == SignatureState.held)
        .group_by(Signature.campaign_id, column)
    )
    if campaign_ids is not None:
        query = query.where(Signature.campaign_id.in_(list(campaign_ids)))
    groups = [
        HeldGroup(
            campaign_id=campaign_id,
            kind=kind,
            label=_label(kind, campaign_id, key),
            size=size,
            first=first,
            last=last,
            spread=spread,
            reasons=tuple(sorted({r for r in (low, high) if r})),
        )
        for campaign_id, key, size, first, last, spread, low, high in db.session.execute(query)
    ]
    return sorted(groups, key=lambda g: (-g.size, g.campaign_id, g.label))


def held_group(campaign: Campaign, label: str, kind: str = NETWORK) -> HeldGroup | None:
    """One campaign's group by its kind and label, or None when nothing of it
    is held."""
    if kind not in KINDS or not LABEL.match(label):
        return None
    return next((g for g in held_groups([campaign.id], kind) if g.label == label), None)


def _group_ids(campaign_id: int, label: str, kind: str) -> list[int]:
    column = COLUMNS[kind][0]
    rows = db.session.execute(
        select(Signature.id, column).where(
            Signature.campaign_id == campaign_id, Signature.state == SignatureState.held
        )
    ).all()
    return [id_ for id_, key in rows if _label(kind, campaign_id, key) == label]


# The audit action of a decision on a group of each kind.
ACTIONS = {
    (NETWORK, "release"): "held_group_released",
    (NETWORK, "reject"): "held_group_rejected",
    (DOMAIN, "release"): "held_domain_released",
    (DOMAIN, "reject"): "held_domain_rejected",
}


def decide_group(
    campaign: Campaign, label: str, decision: str, expected: int, kind: str = NETWORK
) -> int:
    """Release (held → validated, counted by the count job) or reject (held →
    invalidated) every held signature of the group, as one guarded UPDATE;
    audited with the group's label and the number decided, nothing about a
    signer. ``expected`` is the number the person confirmed: GroupChanged when
    the group holds another number now. Returns how many this call moved: 0
    when the group was decided already (by this person twice, or by another)."""
    if decision not in DECISIONS or kind not in KINDS:
        raise ValueError(decision)
    ids = _group_ids(campaign.id, label, kind)
    if not ids:
        return 0
    if len(ids) != expected:
        raise GroupChanged(len(ids))
    move = release_held if decision == "release" else reject_held
    moved = move(ids, campaign.id, utcnow())
    if moved:
        record(
            ACTIONS[kind, decision],
            "campaign",
            campaign.id,
            group=label,
            count=len(moved),
        )
    return len(moved)
