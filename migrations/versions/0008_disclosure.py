"""two people to open personal data: disclosure requests

Revision ID: 0008_disclosure
Revises: 0007
Create Date: 2026-12-05 04:00:00

Exporting signatures with personal data, showing names in moderation and the
delivery document with full names each take a request with a reason, approved
by a second admin; the one-time grant that follows is kept as its SHA-256
hash only (``grant_hash``). The downgrade drops the table and its history.
"""
import sqlalchemy as sa
from alembic import op

revision = '0008_disclosure'
down_revision = '0007'
branch_labels = None
depends_on = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade():
    op.create_table('disclosure_requests',
    sa.Column('id', BIG_ID, nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('campaign_id', BIG_ID, nullable=True),
    sa.Column('requester_id', BIG_ID, nullable=False),
    sa.Column('reason', sa.String(length=500), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('decided_by_id', BIG_ID, nullable=True),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('grant_hash', sa.LargeBinary(length=32), nullable=True),
    sa.Column('grant_expires_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('used_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("kind IN ('export_personal', 'reveal_names', 'delivery_names')", name=op.f('ck_disclosure_requests_kind')),
    sa.CheckConstraint("state IN ('requested', 'approved', 'refused', 'used', 'expired')", name=op.f('ck_disclosure_requests_state')),
    sa.CheckConstraint('decided_by_id IS NULL OR decided_by_id <> requester_id', name=op.f('ck_disclosure_requests_two_people')),
    sa.ForeignKeyConstraint(['campaign_id'], ['campaigns.id'], name=op.f('fk_disclosure_requests_campaign_id_campaigns')),
    sa.ForeignKeyConstraint(['decided_by_id'], ['users.id'], name=op.f('fk_disclosure_requests_decided_by_id_users')),
    sa.ForeignKeyConstraint(['requester_id'], ['users.id'], name=op.f('fk_disclosure_requests_requester_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_disclosure_requests'))
    )
    op.create_index(op.f('ix_disclosure_requests_campaign_id'), 'disclosure_requests', ['campaign_id'], unique=False)
    op.create_index(op.f('ix_disclosure_requests_requester_id'), 'disclosure_requests', ['requester_id'], unique=False)


def downgrade():
    op.drop_index(op.f('ix_disclosure_requests_requester_id'), table_name='disclosure_requests')
    op.drop_index(op.f('ix_disclosure_requests_campaign_id'), table_name='disclosure_requests')
    op.drop_table('disclosure_requests')
