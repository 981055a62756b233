"""Appending to the ledger and reading it.

``publish_ledger`` (a periodic job, never a request) takes the count job's
events, shuffles each campaign's batch, appends them as entries dated with
the batch's day, and signs a new tree head. Its cost is the batch's: the
head keeps the tree's frontier (``merkle.append_to_frontier``), and the
perfect subtrees of 256 leaves and up that the batch completes are stored
(``ledger_nodes``). A proof reads O(log n) of those and at most two blocks
of 256 leaf hashes (``merkle.StoredSubtrees``), whatever the ledger's size."""

from __future__ import annotations

import secrets
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from flask import current_app
from sqlalchemy import delete, insert, select

from ..counting.services import single_flight
from ..extensions import db
from ..models import Campaign, LedgerChange, LedgerEntry, LedgerEvent, LedgerHead, LedgerNode
from ..models.types import utcnow
from . import merkle
from .entries import (
    entry_bytes,
    head_message,
    head_time,
    key_id,
    public_key_bytes,
    signing_key,
)

# Events taken by one run; the rest wait for the next.
BATCH_LIMIT = 100_000


def publish_ledger(now: datetime | None = None) -> int:
    """Append the waiting events, shuffled per campaign, and sign a head for
    each campaign whose tree grew; returns how many entries were appended."""
    now = (now or utcnow()).replace(microsecond=0)
    with single_flight("publish_ledger") as held:
        if not held:
            return 0
        events = (
            db.session.execute(select(LedgerEvent).order_by(LedgerEvent.id).limit(BATCH_LIMIT))
            .scalars()
            .all()
        )
        batches: dict[int, list[LedgerEvent]] = defaultdict(list)
        for event in events:
            batches[event.campaign_id].append(event)
        for campaign_id, batch in batches.items():
            _append(campaign_id, batch, now)
        if events:
            db.session.execute(
                delete(LedgerEvent).where(LedgerEvent.id.in_([e.id for e in events]))
            )
        db.session.commit()
        return len(events)


def _append(campaign_id: int, batch: list[LedgerEvent], now: datetime) -> None:
    campaign = db.session.get(Campaign, campaign_id)
    if campaign is None:
        return
    last = latest_head(campaign_id)
    frontier = _split(last.frontier) if last else []
    size = last.tree_size if last else 0
    signers = last.signers if last else 0
    total = last.total if last else 0
    # The order within a batch says nothing of the order of confirmations.
    secrets.SystemRandom().shuffle(batch)
    day = now.date()
    rows = []
    completed: list[tuple[int, int, bytes]] = []
    for event in batch:
        change = LedgerChange(event.change)
        data = entry_bytes(event.receipt_hash, change.value, event.reason, event.units, day)
        leaf = merkle.leaf_hash(data)
        rows.append(
            {
                "campaign_id": campaign_id,
                "position": size,
                "receipt_hash": event.receipt_hash,
                "change": change,
                "reason": event.reason,
                "units": event.units,
                "day": day,
                "leaf_hash": leaf,
            }
        )
        merkle.append_to_frontier(frontier, size, leaf, completed)
        size += 1
        sign = 1 if change is LedgerChange.counted else -1
        signers += sign
        total += sign * event.units
    db.session.execute(insert(LedgerEntry), rows)
    if completed:
        db.session.execute(
            insert(LedgerNode),
            [
                {"campaign_id": campaign_id, "level": level, "node_index": index, "hash": digest}
                for level, index, digest in completed
            ],
        )
    number = (last.number if last else 0) + 1
    root = merkle.root_of_frontier(frontier)
    key = signing_key(current_app.config["LEDGER_SIGNING_KEY"])
    message = head_message(campaign.slug, number, size, root, signers, total, now)
    db.session.add(
        LedgerHead(
            campaign_id=campaign_id,
            number=number,
            tree_size=size,
            root_hash=root,
            signers=signers,
            total=total,
            signed_at=now,
            signature=key.sign(message),
            frontier=b"".join(frontier),
        )
    )


def _split(frontier: bytes) -> list[bytes]:
    size = merkle.HASH_SIZE
    return [frontier[i : i + size] for i in range(0, len(frontier), size)]


# --- reading ------------------------------------------------------------------


def latest_head(campaign_id: int) -> LedgerHead | None:
    return db.session.execute(
        select(LedgerHead)
        .where(LedgerHead.campaign_id == campaign_id)
        .order_by(LedgerHead.number.desc())
        .limit(1)
    ).scalar()


def head_by_number(campaign_id: int, number: int) -> LedgerHead | None:
    return db.session.execute(
        select(LedgerHead).where(LedgerHead.campaign_id == campaign_id, LedgerHead.number == number)
    ).scalar()


def heads(campaign_id: int, after: int = 0, limit: int = 1000) -> list[LedgerHead]:
    """The campaign's heads numbered above ``after``, oldest first."""
    return list(
        db.session.execute(
            select(LedgerHead)
            .where(LedgerHead.campaign_id == campaign_id, LedgerHead.number > after)
            .order_by(LedgerHead.number)
            .limit(limit)
        ).scalars()
    )


def entries(campaign_id: int, start: int, count: int) -> list[LedgerEntry]:
    """Entries at positions ``start`` … ``start + count - 1`` (those that exist)."""
    return list(
        db.session.execute(
            select(LedgerEntry)
            .where(
                LedgerEntry.campaign_id == campaign_id,
                LedgerEntry.position >= start,
                LedgerEntry.position < start + count,
            )
            .order_by(LedgerEntry.position)
        ).scalars()
    )


def stored_tree(campaign_id: int, size: int) -> merkle.StoredSubtrees:
    """The subtree roots of the campaign's tree of ``size`` leaves, from its
    stored nodes and, below them, blocks of 256 leaf hashes."""

    def node(level: int, index: int) -> bytes | None:
        found: bytes | None = db.session.execute(
            select(LedgerNode.hash).where(
                LedgerNode.campaign_id == campaign_id,
                LedgerNode.level == level,
                LedgerNode.node_index == index,
            )
        ).scalar()
        return found

    def block(start: int, end: int) -> list[bytes]:
        return list(
            db.session.execute(
                select(LedgerEntry.leaf_hash)
                .where(
                    LedgerEntry.campaign_id == campaign_id,
                    LedgerEntry.position >= start,
                    LedgerEntry.position < end,
                )
                .order_by(LedgerEntry.position)
            ).scalars()
        )

    return merkle.StoredSubtrees(size, node, block)


def consistency_between(campaign_id: int, first: LedgerHead, second: LedgerHead) -> list[bytes]:
    """The proof that ``first``'s tree is a prefix of ``second``'s."""
    if first.tree_size > second.tree_size:
        raise ValueError("the first head must be the older")
    tree = stored_tree(campaign_id, second.tree_size)
    return merkle.consistency_path(tree.root, second.tree_size, first.tree_size)


@dataclass(frozen=True)
class Inclusion:
    """One entry, the head it is checked against, and the audit path."""

    entry: LedgerEntry
    head: LedgerHead
    proof: list[bytes]


def receipt_inclusions(campaign_id: int, receipt_hash: bytes) -> list[Inclusion]:
    """The entries under ``receipt_hash`` (counted, then maybe withdrawn or
    invalidated), each with its proof against the latest head."""
    head = latest_head(campaign_id)
    if head is None:
        return []
    found = (
        db.session.execute(
            select(LedgerEntry)
            .where(
                LedgerEntry.campaign_id == campaign_id,
                LedgerEntry.receipt_hash == receipt_hash,
                LedgerEntry.position < head.tree_size,
            )
            .order_by(LedgerEntry.position)
        )
        .scalars()
        .all()
    )
    if not found:
        return []
    tree = stored_tree(campaign_id, head.tree_size)
    return [
        Inclusion(e, head, merkle.inclusion_path(tree.root, head.tree_size, e.position))
        for e in found
    ]


def inclusion_at(campaign_id: int, position: int, head: LedgerHead) -> list[bytes]:
    """The audit path of the entry at ``position`` in ``head``'s tree."""
    return merkle.inclusion_path(
        stored_tree(campaign_id, head.tree_size).root, head.tree_size, position
    )


# --- published forms ---------------------------------------------------------


def public_key() -> bytes:
    return public_key_bytes(signing_key(current_app.config["LEDGER_SIGNING_KEY"]))


def head_json(head: LedgerHead, slug: str) -> dict[str, object]:
    return {
        "campaign": slug,
        "number": head.number,
        "tree_size": head.tree_size,
        "root_hash": head.root_hash.hex(),
        "signers": head.signers,
        "total": head.total,
        "signed_at": head_time(head.signed_at),
        "signature": head.signature.hex(),
        "key_id": key_id(public_key()),
    }


def entry_json(entry: LedgerEntry) -> dict[str, object]:
    return {
        "position": entry.position,
        "receipt_hash": entry.receipt_hash.hex(),
        "change": entry.change.value,
        "reason": entry.reason,
        "units": entry.units,
        "day": entry.day.isoformat(),
    }


def hexes(hashes: Sequence[bytes]) -> list[str]:
    return [h.hex() for h in hashes]
