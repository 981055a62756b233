"""The ledger follows the public count: every flip of a signature's counted
flag becomes an entry, appended in a shuffled batch by the periodic job,
under a head signed with the union's key; old heads stay consistent with
new ones; a receipt finds its entries."""

from __future__ import annotations

from datetime import UTC, datetime

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from flask import Flask
from sqlalchemy import func, select, update

from campaigns.counting.services import campaign_count, recount_signatures, update_signature_counts
from campaigns.extensions import db
from campaigns.ledger import merkle
from campaigns.ledger.entries import entry_bytes, head_message
from campaigns.ledger.receipts import new_receipt, receipt_hash
from campaigns.ledger.services import (
    consistency_between,
    entries,
    head_by_number,
    latest_head,
    public_key,
    publish_ledger,
    receipt_inclusions,
)
from campaigns.models import CampaignKind, LedgerEntry, LedgerEvent, Signature, SignatureState
from tests.factories import create_campaign, create_signature


def _check_head(campaign_id: int, slug: str) -> None:
    head = latest_head(campaign_id)
    assert head is not None
    rows = entries(campaign_id, 0, head.tree_size)
    leaves = [
        merkle.leaf_hash(entry_bytes(e.receipt_hash, e.change.value, e.reason, e.units, e.day))
        for e in rows
    ]
    assert merkle.root_of(leaves) == head.root_hash
    Ed25519PublicKey.from_public_bytes(public_key()).verify(
        head.signature,
        head_message(
            slug,
            head.number,
            head.tree_size,
            head.root_hash,
            head.signers,
            head.total,
            head.signed_at,
        ),
    )
    signers = sum(1 if e.change.value == "counted" else -1 for e in rows)
    total = sum(e.units if e.change.value == "counted" else -e.units for e in rows)
    count = campaign_count(campaign_id)
    assert (head.signers, head.total) == (signers, total) == (count.signers, count.total)


def test_counted_withdrawn_and_invalidated_signatures_are_entries(app: Flask) -> None:
    campaign = create_campaign()
    code, hashed = new_receipt()
    mine = create_signature(campaign, SignatureState.validated, receipt_hash=hashed)
    others = [create_signature(campaign, SignatureState.validated) for _ in range(6)]
    create_signature(campaign, SignatureState.pending)
    update_signature_counts()
    # Nothing public until the job runs: the request and the count job only queue.
    assert latest_head(campaign.id) is None
    assert db.session.scalar(select(func.count()).select_from(LedgerEvent)) == 7
    assert publish_ledger() == 7
    first = latest_head(campaign.id)
    assert first is not None and (first.number, first.tree_size, first.signers) == (1, 7, 7)
    _check_head(campaign.id, campaign.slug)
    assert db.session.scalar(select(func.count()).select_from(LedgerEvent)) == 0

    # Paper and older signatures got a random receipt hash, each its own.
    hashes = {s.receipt_hash for s in db.session.scalars(select(Signature))} - {None}
    assert len(hashes) == 7

    db.session.execute(
        update(Signature).where(Signature.id == others[0].id).values(state=SignatureState.withdrawn)
    )
    db.session.execute(
        update(Signature)
        .where(Signature.id == others[1].id)
        .values(state=SignatureState.invalidated)
    )
    db.session.commit()
    update_signature_counts()
    assert publish_ledger() == 2
    second = latest_head(campaign.id)
    assert second is not None and (second.number, second.tree_size, second.signers) == (2, 9, 5)
    _check_head(campaign.id, campaign.slug)
    changes = sorted((e.change.value, e.reason) for e in entries(campaign.id, 7, 2))
    assert changes == [("invalidated", "organizer"), ("withdrawn", None)]

    proof = consistency_between(campaign.id, first, second)
    assert merkle.verify_consistency(7, 9, first.root_hash, second.root_hash, proof)

    (found,) = receipt_inclusions(campaign.id, receipt_hash(code.lower().replace("-", " ")))
    assert found.head.number == 2
    assert merkle.verify_inclusion(
        found.entry.leaf_hash, found.entry.position, 9, found.proof, second.root_hash
    )
    assert found.entry.receipt_hash == mine.receipt_hash
    assert receipt_inclusions(campaign.id, receipt_hash(new_receipt()[0])) == []


def test_nothing_waiting_signs_nothing(app: Flask) -> None:
    campaign = create_campaign()
    create_signature(campaign, SignatureState.validated)
    update_signature_counts()
    publish_ledger()
    assert publish_ledger() == 0
    head = head_by_number(campaign.id, 1)
    assert head is not None and latest_head(campaign.id) == head


def test_a_batch_is_shuffled_and_dated_by_day(app: Flask) -> None:
    campaign = create_campaign()
    for _ in range(40):
        create_signature(campaign, SignatureState.validated)
    update_signature_counts()
    ids_in_order = [
        e.receipt_hash for e in db.session.scalars(select(LedgerEvent).order_by(LedgerEvent.id))
    ]
    publish_ledger(datetime(2026, 12, 5, 21, 17, 43, 123456, tzinfo=UTC))
    rows = entries(campaign.id, 0, 40)
    assert [e.receipt_hash for e in rows] != ids_in_order
    assert sorted(e.receipt_hash for e in rows) == sorted(ids_in_order)
    assert {e.day.isoformat() for e in rows} == {"2026-12-05"}
    head = latest_head(campaign.id)
    assert head is not None and head.signed_at == datetime(2026, 12, 5, 21, 17, 43, tzinfo=UTC)


def test_a_recount_tells_the_ledger(app: Flask) -> None:
    campaign = create_campaign()
    signatures = [create_signature(campaign, SignatureState.validated) for _ in range(3)]
    update_signature_counts()
    db.session.execute(
        update(Signature).where(Signature.id == signatures[0].id).values(state=SignatureState.held)
    )
    db.session.commit()
    recount_signatures(db.session.get(type(campaign), campaign.id))
    publish_ledger()
    _check_head(campaign.id, campaign.slug)
    assert db.session.scalar(select(func.count()).select_from(LedgerEntry)) == 4


def test_pledges_count_their_units(app: Flask) -> None:
    campaign = create_campaign(kind=CampaignKind.pledge)
    create_signature(campaign, SignatureState.validated, amount=7)
    create_signature(campaign, SignatureState.validated, amount=3)
    update_signature_counts()
    publish_ledger()
    head = latest_head(campaign.id)
    assert head is not None and (head.signers, head.total) == (2, 10)
    _check_head(campaign.id, campaign.slug)
