"""Proofs from the stored subtrees: the same audit paths and consistency
proofs as the RFC's recursion over every leaf, at sizes that cross the
stored level's blocks (256, 512, 1024 leaves) in batches that end anywhere,
for a fraction of the reads; and the migration fills the nodes of a ledger
written before them."""

from __future__ import annotations

import importlib.util
import random
import secrets
from datetime import UTC, datetime, timedelta
from pathlib import Path

from flask import Flask
from sqlalchemy import delete, func, insert, select

from campaigns.extensions import db
from campaigns.ledger import merkle
from campaigns.ledger.services import (
    consistency_between,
    heads,
    inclusion_at,
    publish_ledger,
    stored_tree,
)
from campaigns.models import LedgerChange, LedgerEntry, LedgerEvent, LedgerNode
from tests.factories import create_campaign

# Batch sizes whose running sums cross 256, 512 and 1024 off the block edges.
BATCHES = [1, 2, 253, 1, 255, 3, 256, 9, 300, 1]


def _ledger(batches: list[int]) -> int:
    campaign = create_campaign()
    start = datetime(2026, 12, 6, 8, 0, tzinfo=UTC)
    for n, size in enumerate(batches):
        db.session.execute(
            insert(LedgerEvent),
            [
                {"campaign_id": campaign.id, "receipt_hash": secrets.token_bytes(32),
                 "change": LedgerChange.counted, "reason": None, "units": 1}
                for _ in range(size)
            ],
        )  # fmt: skip
        db.session.commit()
        assert publish_ledger(start + timedelta(minutes=n)) == size
    return campaign.id


def _all_leaves(campaign_id: int) -> list[bytes]:
    return list(
        db.session.scalars(
            select(LedgerEntry.leaf_hash)
            .where(LedgerEntry.campaign_id == campaign_id)
            .order_by(LedgerEntry.position)
        )
    )


def _expected_nodes(leaves: list[bytes]) -> dict[tuple[int, int], bytes]:
    nodes = {}
    level = merkle.STORED_LEVEL
    while (1 << level) <= len(leaves):
        width = 1 << level
        for index in range(len(leaves) // width):
            nodes[(level, index)] = merkle.root_of(leaves[index * width : (index + 1) * width])
        level += 1
    return nodes


def _stored_nodes(campaign_id: int) -> dict[tuple[int, int], bytes]:
    rows = db.session.execute(
        select(LedgerNode.level, LedgerNode.node_index, LedgerNode.hash).where(
            LedgerNode.campaign_id == campaign_id
        )
    )
    return {(level, index): digest for level, index, digest in rows}


def test_every_complete_subtree_of_256_and_up_is_stored(app: Flask) -> None:
    campaign_id = _ledger(BATCHES)
    leaves = _all_leaves(campaign_id)
    assert len(leaves) == sum(BATCHES) == 1081
    expected = _expected_nodes(leaves)
    # 4 blocks of 256, 2 of 512, 1 of 1024.
    assert len(expected) == 7
    assert _stored_nodes(campaign_id) == expected


def test_proofs_from_stored_nodes_are_the_rfcs(app: Flask) -> None:
    campaign_id = _ledger(BATCHES)
    leaves = _all_leaves(campaign_id)
    rng = random.Random(20261206)
    signed = heads(campaign_id)
    assert len(signed) == len(BATCHES)
    for head in signed:
        size = head.tree_size
        assert merkle.root_of(leaves[:size]) == head.root_hash
        for index in {0, size - 1, size // 2, *rng.sample(range(size), min(size, 12))}:
            proof = inclusion_at(campaign_id, index, head)
            assert proof == merkle.inclusion_proof(leaves[:size], index)
            assert merkle.verify_inclusion(leaves[index], index, size, proof, head.root_hash)
    for first in signed:
        for second in signed:
            if first.tree_size > second.tree_size:
                continue
            proof = consistency_between(campaign_id, first, second)
            assert proof == merkle.consistency_proof(leaves[: second.tree_size], first.tree_size)
            assert merkle.verify_consistency(
                first.tree_size, second.tree_size, first.root_hash, second.root_hash, proof
            )


def test_a_proof_reads_a_few_rows_not_the_tree(app: Flask) -> None:
    campaign_id = _ledger(BATCHES)
    size = sum(BATCHES)
    for index in (0, 300, 700, size - 1):
        tree = stored_tree(campaign_id, size)
        merkle.inclusion_path(tree.root, size, index)
        # The leaf's block, the last (partial) block, and a stored node per level above.
        assert tree.reads <= 2 + (size.bit_length() - merkle.STORED_LEVEL)
    tree = stored_tree(campaign_id, size)
    merkle.consistency_path(tree.root, size, 600)
    assert tree.reads <= 3 + (size.bit_length() - merkle.STORED_LEVEL)


def test_a_missing_node_is_computed_not_guessed(app: Flask) -> None:
    campaign_id = _ledger(BATCHES)
    leaves = _all_leaves(campaign_id)
    db.session.execute(delete(LedgerNode).where(LedgerNode.level == 9))
    tree = stored_tree(campaign_id, len(leaves))
    assert merkle.inclusion_path(tree.root, len(leaves), 5) == merkle.inclusion_proof(leaves, 5)


def test_the_migration_fills_the_nodes_of_an_earlier_ledger(app: Flask) -> None:
    campaign_id = _ledger(BATCHES)
    expected = _stored_nodes(campaign_id)
    db.session.execute(delete(LedgerNode))
    db.session.commit()
    path = Path(__file__).parents[2] / "migrations" / "versions" / "0021_ledger_nodes.py"
    spec = importlib.util.spec_from_file_location("ledger_nodes_migration", path)
    assert spec is not None and spec.loader is not None
    migration = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(migration)
    migration.READ = 100  # type: ignore[attr-defined]  # several pages of leaves
    with db.engine.begin() as connection:
        migration._fill(connection, LedgerNode.__table__, campaign_id)
    assert _stored_nodes(campaign_id) == expected
    assert db.session.scalar(select(func.count()).select_from(LedgerNode)) == 7
