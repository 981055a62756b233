"""from signatures to change: targets, thresholds, responses, deliveries

Revision ID: 0013_targets
Revises: 0010_withdraw
Create Date: 2026-12-05 04:40:00

``campaign_texts.target`` holds, per language, who the campaign asks
("The member states of the UN General Assembly"); NULL where it is not
written. ``campaign_thresholds`` holds the commitments made at a count,
``campaign_responses`` the addressee's answers (with an optional PDF kept in
the row), ``campaign_deliveries`` each delivery of the petition (with an optional
photo, re-encoded, in the row). The
downgrade drops them all.
"""
import sqlalchemy as sa
from alembic import op

revision = '0013_targets'
down_revision = '0010_withdraw'
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade():
    with op.batch_alter_table('campaign_texts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('target', sa.String(length=300), nullable=True))
    op.create_table('campaign_thresholds',
    sa.Column('id', _ID, nullable=False),
    sa.Column('campaign_id', _ID, nullable=False),
    sa.Column('count', sa.Integer(), nullable=False),
    sa.Column('texts', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('count > 0', name=op.f('ck_campaign_thresholds_count_positive')),
    sa.ForeignKeyConstraint(['campaign_id'], ['campaigns.id'], name=op.f('fk_campaign_thresholds_campaign_id_campaigns'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_campaign_thresholds')),
    sa.UniqueConstraint('campaign_id', 'count', name=op.f('uq_campaign_thresholds_campaign_id'))
    )
    op.create_table('campaign_responses',
    sa.Column('id', _ID, nullable=False),
    sa.Column('public_id', sa.String(length=32), nullable=False),
    sa.Column('campaign_id', _ID, nullable=False),
    sa.Column('responded_on', sa.Date(), nullable=False),
    sa.Column('texts', sa.JSON(), nullable=False),
    sa.Column('pdf', sa.LargeBinary(), nullable=True),
    sa.Column('pdf_size', sa.Integer(), nullable=True),
    sa.Column('update_id', _ID, nullable=True),
    sa.Column('created_by', _ID, nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('pdf_size IS NULL OR pdf_size > 0', name=op.f('ck_campaign_responses_pdf_size_positive')),
    sa.ForeignKeyConstraint(['campaign_id'], ['campaigns.id'], name=op.f('fk_campaign_responses_campaign_id_campaigns'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['update_id'], ['campaign_updates.id'], name=op.f('fk_campaign_responses_update_id_campaign_updates')),
    sa.ForeignKeyConstraint(['created_by'], ['users.id'], name=op.f('fk_campaign_responses_created_by_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_campaign_responses')),
    sa.UniqueConstraint('public_id', name=op.f('uq_campaign_responses_public_id'))
    )
    op.create_table('campaign_deliveries',
    sa.Column('id', _ID, nullable=False),
    sa.Column('campaign_id', _ID, nullable=False),
    sa.Column('delivered_on', sa.Date(), nullable=False),
    sa.Column('method', sa.String(length=16), nullable=False),
    sa.Column('texts', sa.JSON(), nullable=False),
    sa.Column('chain_head', sa.String(length=64), nullable=True),
    sa.Column('photo_name', sa.String(length=64), nullable=True),
    sa.Column('photo_width', sa.Integer(), nullable=True),
    sa.Column('photo_height', sa.Integer(), nullable=True),
    sa.Column('photo', sa.LargeBinary(), nullable=True),
    sa.Column('update_id', _ID, nullable=True),
    sa.Column('created_by', _ID, nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("method IN ('in_person', 'email', 'post')", name=op.f('ck_campaign_deliveries_method')),
    sa.CheckConstraint('chain_head IS NULL OR length(chain_head) = 64', name=op.f('ck_campaign_deliveries_chain_head_length')),
    sa.ForeignKeyConstraint(['campaign_id'], ['campaigns.id'], name=op.f('fk_campaign_deliveries_campaign_id_campaigns'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['update_id'], ['campaign_updates.id'], name=op.f('fk_campaign_deliveries_update_id_campaign_updates')),
    sa.ForeignKeyConstraint(['created_by'], ['users.id'], name=op.f('fk_campaign_deliveries_created_by_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_campaign_deliveries')),
    sa.UniqueConstraint('photo_name', name=op.f('uq_campaign_deliveries_photo_name'))
    )


def downgrade():
    op.drop_table('campaign_deliveries')
    op.drop_table('campaign_responses')
    op.drop_table('campaign_thresholds')
    with op.batch_alter_table('campaign_texts', schema=None) as batch_op:
        batch_op.drop_column('target')
