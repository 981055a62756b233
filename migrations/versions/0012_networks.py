"""fair to shared networks: held signatures, trusted networks, the Tor exit list

Revision ID: 0012_networks
Revises: 0009_sensitive
Create Date: 2026-12-05 04:00:00

Signatures over their address's rate limits are no longer marked fraudulent:
they are checked and emailed, and once confirmed they are ``held`` for an
organizer's decision. ``signatures`` gets ``hold_reason`` (why), ``network_id``
(the trusted network the address was in when signing; no foreign key, see the
model) and the state ``held`` in its check constraint; a partial index of
held, fraudulent and invalidated rows serves the review queue and the results
page's figures. Admins declare ``trusted_networks`` (CIDR ranges with their
own limits, and one row for Tor) and import ``tor_exits``. Existing rows are
unchanged. The downgrade turns held signatures into fraudulent ones (the
state they would have had) before the state goes.
"""
import sqlalchemy as sa
from alembic import op

revision = '0012_networks'
down_revision = '0009_sensitive'
branch_labels = None
depends_on = None

STATES = "'pending', 'validated', 'fraudulent', 'invalidated'"
REVIEW = "state IN ('held', 'fraudulent', 'invalidated')"


def upgrade():
    op.create_table('trusted_networks',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('cidr', sa.String(length=64), nullable=True),
    sa.Column('label', sa.String(length=100), nullable=False),
    sa.Column('burst_limit', sa.Integer(), nullable=False),
    sa.Column('sustained_limit', sa.Integer(), nullable=False),
    sa.Column('created_by', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("kind IN ('range', 'tor')", name=op.f('ck_trusted_networks_kind')),
    sa.CheckConstraint('burst_limit > 0 AND sustained_limit > 0', name=op.f('ck_trusted_networks_limits_positive')),
    sa.CheckConstraint("(kind = 'tor') = (cidr IS NULL)", name=op.f('ck_trusted_networks_cidr_for_ranges')),
    sa.ForeignKeyConstraint(['created_by'], ['users.id'], name=op.f('fk_trusted_networks_created_by_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_trusted_networks')),
    sa.UniqueConstraint('cidr', name=op.f('uq_trusted_networks_cidr'))
    )
    op.create_table('tor_exits',
    sa.Column('address', sa.String(length=45), nullable=False),
    sa.PrimaryKeyConstraint('address', name=op.f('pk_tor_exits'))
    )
    with op.batch_alter_table('signatures', schema=None) as batch_op:
        batch_op.add_column(sa.Column('hold_reason', sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column('network_id', sa.Integer(), nullable=True))
        batch_op.drop_constraint(op.f('ck_signatures_state'), type_='check')
        batch_op.create_check_constraint(op.f('ck_signatures_state'), f"state IN ({STATES}, 'held')")
        batch_op.create_index('ix_signatures_review', ['campaign_id', 'state', 'fraud_reason', 'ip_hash'], unique=False, postgresql_where=sa.text(REVIEW), sqlite_where=sa.text(REVIEW))


def downgrade():
    op.execute("UPDATE signatures SET state = 'fraudulent', fraud_reason = hold_reason WHERE state = 'held'")
    with op.batch_alter_table('signatures', schema=None) as batch_op:
        batch_op.drop_index('ix_signatures_review', postgresql_where=sa.text(REVIEW), sqlite_where=sa.text(REVIEW))
        batch_op.drop_constraint(op.f('ck_signatures_state'), type_='check')
        batch_op.create_check_constraint(op.f('ck_signatures_state'), f"state IN ({STATES})")
        batch_op.drop_column('network_id')
        batch_op.drop_column('hold_reason')
    op.drop_table('tor_exits')
    op.drop_table('trusted_networks')
