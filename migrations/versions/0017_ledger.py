"""the public ledger of counts: receipts, entries, signed tree heads

Revision ID: 0017_ledger
Revises: 0013_targets
Create Date: 2026-12-05 21:30:00

``signatures.receipt_hash`` holds the SHA-256 of the signer's receipt code.
``ledger_events`` holds count changes waiting for the next batch,
``ledger_entries`` the leaves of each campaign's Merkle tree and
``ledger_heads`` the signed tree heads. The upgrade starts each campaign's
ledger with the signatures counted so far: each is given a random receipt
hash (nobody holds its code) and an event, appended by the first batch. The
downgrade drops it all.
"""
import hashlib
import secrets

import sqlalchemy as sa
from alembic import op

revision = '0017_ledger'
down_revision = '0013_targets'
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
_CHANGE = "change IN ('counted', 'withdrawn', 'invalidated')"


def upgrade():
    with op.batch_alter_table('signatures', schema=None) as batch_op:
        batch_op.add_column(sa.Column('receipt_hash', sa.LargeBinary(length=32), nullable=True))
    op.create_table('ledger_events',
    sa.Column('id', _ID, nullable=False),
    sa.Column('campaign_id', _ID, nullable=False),
    sa.Column('receipt_hash', sa.LargeBinary(length=32), nullable=False),
    sa.Column('change', sa.String(length=16), nullable=False),
    sa.Column('reason', sa.String(length=16), nullable=True),
    sa.Column('units', sa.Integer(), nullable=False),
    sa.CheckConstraint(_CHANGE, name=op.f('ck_ledger_events_change')),
    sa.ForeignKeyConstraint(['campaign_id'], ['campaigns.id'], name=op.f('fk_ledger_events_campaign_id_campaigns'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ledger_events'))
    )
    op.create_index('ix_ledger_events_campaign', 'ledger_events', ['campaign_id', 'id'], unique=False)
    op.create_table('ledger_entries',
    sa.Column('campaign_id', _ID, nullable=False),
    sa.Column('position', _ID, autoincrement=False, nullable=False),
    sa.Column('receipt_hash', sa.LargeBinary(length=32), nullable=False),
    sa.Column('change', sa.String(length=16), nullable=False),
    sa.Column('reason', sa.String(length=16), nullable=True),
    sa.Column('units', sa.Integer(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('leaf_hash', sa.LargeBinary(length=32), nullable=False),
    sa.CheckConstraint(_CHANGE, name=op.f('ck_ledger_entries_change')),
    sa.CheckConstraint('position >= 0', name=op.f('ck_ledger_entries_position')),
    sa.CheckConstraint('units > 0', name=op.f('ck_ledger_entries_units_positive')),
    sa.ForeignKeyConstraint(['campaign_id'], ['campaigns.id'], name=op.f('fk_ledger_entries_campaign_id_campaigns'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('campaign_id', 'position', name=op.f('pk_ledger_entries'))
    )
    op.create_index('ix_ledger_entries_receipt', 'ledger_entries', ['campaign_id', 'receipt_hash'], unique=False)
    op.create_table('ledger_heads',
    sa.Column('id', _ID, nullable=False),
    sa.Column('campaign_id', _ID, nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('tree_size', _ID, nullable=False),
    sa.Column('root_hash', sa.LargeBinary(length=32), nullable=False),
    sa.Column('signers', sa.Integer(), nullable=False),
    sa.Column('total', _ID, nullable=False),
    sa.Column('signed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('signature', sa.LargeBinary(length=64), nullable=False),
    sa.Column('frontier', sa.LargeBinary(), nullable=False),
    sa.CheckConstraint('tree_size > 0', name=op.f('ck_ledger_heads_tree_size_positive')),
    sa.ForeignKeyConstraint(['campaign_id'], ['campaigns.id'], name=op.f('fk_ledger_heads_campaign_id_campaigns'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ledger_heads')),
    sa.UniqueConstraint('campaign_id', 'number', name='uq_ledger_heads_number'),
    sa.UniqueConstraint('campaign_id', 'tree_size', name='uq_ledger_heads_tree_size')
    )
    _start_the_ledgers()


def _start_the_ledgers():
    """One counted event per signature counted so far, each under a random
    receipt hash (its code was never shown to anyone)."""
    bind = op.get_bind()
    signatures = sa.table('signatures', sa.column('id'), sa.column('campaign_id'),
                          sa.column('amount'), sa.column('counted'), sa.column('receipt_hash'))
    events = sa.table('ledger_events', sa.column('campaign_id'), sa.column('receipt_hash'),
                      sa.column('change'), sa.column('units'))
    rows = bind.execute(
        sa.select(signatures.c.id, signatures.c.campaign_id, signatures.c.amount)
        .where(signatures.c.counted.is_(True)).order_by(signatures.c.id)
    ).all()
    for start in range(0, len(rows), 1000):
        chunk = rows[start:start + 1000]
        hashes = [hashlib.sha256(secrets.token_bytes(32)).digest() for _ in chunk]
        bind.execute(
            signatures.update().where(signatures.c.id == sa.bindparam('sid'))
            .values(receipt_hash=sa.bindparam('rh')),
            [{'sid': row.id, 'rh': h} for row, h in zip(chunk, hashes)],
        )
        bind.execute(events.insert(), [
            {'campaign_id': row.campaign_id, 'receipt_hash': h, 'change': 'counted',
             'units': row.amount or 1}
            for row, h in zip(chunk, hashes)
        ])


def downgrade():
    op.drop_table('ledger_heads')
    op.drop_index('ix_ledger_entries_receipt', table_name='ledger_entries')
    op.drop_table('ledger_entries')
    op.drop_index('ix_ledger_events_campaign', table_name='ledger_events')
    op.drop_table('ledger_events')
    with op.batch_alter_table('signatures', schema=None) as batch_op:
        batch_op.drop_column('receipt_hash')
