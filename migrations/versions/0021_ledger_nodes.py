"""the ledger's stored subtrees

Revision ID: 0021_ledger_nodes
Revises: 0020_delivery_ledger
Create Date: 2026-12-06 01:30:00

``ledger_nodes`` holds each perfect subtree of 256 leaves and up of a
campaign's Merkle tree, written as it completes (``ledger/services.py``), so
that a proof reads O(log n) rows instead of every leaf. The upgrade fills it
in for the entries already there, with the RFC 9162 hashing written out here
(a migration does not import the app). The downgrade drops the table: proofs
then need the code of before, which read every leaf.
"""

import hashlib

import sqlalchemy as sa
from alembic import op

revision = "0021_ledger_nodes"
down_revision = "0020_delivery_ledger"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
STORED_LEVEL = 8
READ = 10_000


def upgrade():
    nodes = op.create_table(
        "ledger_nodes",
        sa.Column("campaign_id", _ID, nullable=False),
        sa.Column("level", sa.SmallInteger(), autoincrement=False, nullable=False),
        sa.Column("node_index", _ID, autoincrement=False, nullable=False),
        sa.Column("hash", sa.LargeBinary(length=32), nullable=False),
        sa.CheckConstraint("level > 0", name=op.f("ck_ledger_nodes_level_positive")),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["campaigns.id"],
            name=op.f("fk_ledger_nodes_campaign_id_campaigns"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("campaign_id", "level", "node_index", name=op.f("pk_ledger_nodes")),
    )
    bind = op.get_bind()
    campaigns = bind.execute(sa.text("SELECT DISTINCT campaign_id FROM ledger_entries")).scalars()
    for campaign_id in list(campaigns):
        _fill(bind, nodes, campaign_id)


def _fill(bind, nodes, campaign_id):
    """Replay the campaign's leaves through the frontier, keeping the
    subtrees of 256 leaves and up as they complete."""
    frontier, size, completed, after = [], 0, [], -1
    while True:
        leaves = bind.execute(
            sa.text(
                "SELECT position, leaf_hash FROM ledger_entries WHERE campaign_id = :c"
                " AND position > :after ORDER BY position LIMIT :n"
            ),
            {"c": campaign_id, "after": after, "n": READ},
        ).all()
        if not leaves:
            break
        for position, leaf in leaves:
            frontier.append(bytes(leaf))
            size += 1
            level, bits = 0, size
            while bits & 1 == 0:
                right = frontier.pop()
                frontier[-1] = hashlib.sha256(b"\x01" + frontier[-1] + right).digest()
                bits >>= 1
                level += 1
                if level >= STORED_LEVEL:
                    completed.append(
                        {"campaign_id": campaign_id, "level": level,
                         "node_index": bits - 1, "hash": frontier[-1]}
                    )  # fmt: skip
            after = position
        if completed:
            bind.execute(nodes.insert(), completed)
            completed = []


def downgrade():
    op.drop_table("ledger_nodes")
