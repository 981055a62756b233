"""The public ledger of counts: changes waiting for the next batch, the
entries (the leaves of each campaign's Merkle tree) and the signed tree heads.

Nothing here names a signature or a person: an entry holds the hash of a
receipt code that only its signer knows (or of a random code nobody knows),
the change, a reason category, the units and the day of its batch."""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import (
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    SmallInteger,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from .signature import SignatureState
from .types import BigId, StrEnumType, UTCDateTime, enum_check


class LedgerChange(enum.Enum):
    # Counted in the public count (+1 signer, +units).
    counted = "counted"
    # Taken back by the signer from their private link.
    withdrawn = "withdrawn"
    # No longer counted for another reason (``LedgerReason``).
    invalidated = "invalidated"


class LedgerReason(enum.Enum):
    """Why a counted signature stopped counting, as a category only."""

    # An organizer's bulk invalidation.
    organizer = "organizer"
    # Held for review, or rejected after it.
    review = "review"
    # Found fraudulent.
    fraud = "fraud"
    other = "other"


class LedgerEvent(db.Model):  # type: ignore[name-defined,misc]
    """A change of the public count not yet in the ledger: written by the
    count job in the transaction that changes the count, appended (shuffled,
    in a batch) by ``publish_ledger``."""

    __tablename__ = "ledger_events"
    __table_args__ = (
        CheckConstraint(enum_check("change", LedgerChange), name="change"),
        Index("ix_ledger_events_campaign", "campaign_id", "id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    receipt_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    change: Mapped[LedgerChange] = mapped_column(StrEnumType(LedgerChange))
    reason: Mapped[str | None] = mapped_column(String(16))
    units: Mapped[int] = mapped_column(Integer)


class LedgerEntry(db.Model):  # type: ignore[name-defined,misc]
    """One leaf of a campaign's tree, at ``position`` (0-based), never changed."""

    __tablename__ = "ledger_entries"
    __table_args__ = (
        CheckConstraint(enum_check("change", LedgerChange), name="change"),
        CheckConstraint("position >= 0", name="position"),
        CheckConstraint("units > 0", name="units_positive"),
        Index("ix_ledger_entries_receipt", "campaign_id", "receipt_hash"),
    )

    campaign_id: Mapped[int] = mapped_column(
        ForeignKey("campaigns.id", ondelete="CASCADE"), primary_key=True
    )
    position: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=False)
    receipt_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    change: Mapped[LedgerChange] = mapped_column(StrEnumType(LedgerChange))
    reason: Mapped[str | None] = mapped_column(String(16))
    units: Mapped[int] = mapped_column(Integer)
    day: Mapped[date] = mapped_column(Date)
    leaf_hash: Mapped[bytes] = mapped_column(LargeBinary(32))


class LedgerNode(db.Model):  # type: ignore[name-defined,misc]
    """A perfect subtree of a campaign's tree, stored when it completes: the
    hash of leaves ``node_index * 2**level`` to ``(node_index + 1) * 2**level - 1``,
    for levels from ``merkle.STORED_LEVEL`` up. Like the entries, never
    changed; proofs read O(log n) of them instead of every leaf."""

    __tablename__ = "ledger_nodes"
    __table_args__ = (CheckConstraint("level > 0", name="level_positive"),)

    campaign_id: Mapped[int] = mapped_column(
        ForeignKey("campaigns.id", ondelete="CASCADE"), primary_key=True
    )
    level: Mapped[int] = mapped_column(SmallInteger, primary_key=True, autoincrement=False)
    node_index: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=False)
    hash: Mapped[bytes] = mapped_column(LargeBinary(32))


class LedgerHead(db.Model):  # type: ignore[name-defined,misc]
    """A signed tree head: the tree of the campaign's first ``tree_size``
    entries, its root, the counts it adds up to, when it was signed, and the
    Ed25519 signature over all of it (``ledger.heads.signed_message``)."""

    __tablename__ = "ledger_heads"
    __table_args__ = (
        UniqueConstraint("campaign_id", "number", name="uq_ledger_heads_number"),
        UniqueConstraint("campaign_id", "tree_size", name="uq_ledger_heads_tree_size"),
        CheckConstraint("tree_size > 0", name="tree_size_positive"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    # 1, 2, 3 … per campaign.
    number: Mapped[int] = mapped_column(Integer)
    tree_size: Mapped[int] = mapped_column(BigId)
    root_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    signers: Mapped[int] = mapped_column(Integer)
    total: Mapped[int] = mapped_column(BigId)
    signed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    signature: Mapped[bytes] = mapped_column(LargeBinary(64))
    # The roots of the perfect subtrees the tree is made of (merkle.py): the
    # next head appends its batch to these, not to the whole tree.
    frontier: Mapped[bytes] = mapped_column(LargeBinary)


def change_of(state: SignatureState) -> tuple[LedgerChange, LedgerReason | None]:
    """The ledger's name for a signature entering (validated) or leaving the
    count in ``state``."""
    if state is SignatureState.validated:
        return LedgerChange.counted, None
    if state is SignatureState.withdrawn:
        return LedgerChange.withdrawn, None
    reasons = {
        SignatureState.invalidated: LedgerReason.organizer,
        SignatureState.held: LedgerReason.review,
        SignatureState.fraudulent: LedgerReason.fraud,
    }
    return LedgerChange.invalidated, reasons.get(state, LedgerReason.other)
