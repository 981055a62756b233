"""a campaign's reach: source codes in share links and embeds, per-source counts

Revision ID: 0014_sources
Revises: 0016_kiosk
Create Date: 2026-12-05 21:30:00

``source_codes`` holds each organization's random codes per campaign (with a
channel label, revocable); ``signatures.source_code_id`` the code a signature
came through (NULL: none, or one not taken); ``source_counts`` the count
job's figures per campaign, code, day and country. The downgrade drops them.
"""
import sqlalchemy as sa
from alembic import op

revision = '0014_sources'
down_revision = '0016_kiosk'
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade():
    op.create_table('source_codes',
    sa.Column('id', _ID, nullable=False),
    sa.Column('campaign_id', _ID, nullable=False),
    sa.Column('organization_id', _ID, nullable=False),
    sa.Column('code', sa.String(length=16), nullable=False),
    sa.Column('label', sa.String(length=60), nullable=False),
    sa.Column('created_by', _ID, nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['campaign_id'], ['campaigns.id'], name=op.f('fk_source_codes_campaign_id_campaigns'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name=op.f('fk_source_codes_organization_id_organizations')),
    sa.ForeignKeyConstraint(['created_by'], ['users.id'], name=op.f('fk_source_codes_created_by_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_source_codes')),
    sa.UniqueConstraint('code', name=op.f('uq_source_codes_code'))
    )
    with op.batch_alter_table('source_codes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_source_codes_campaign_id'), ['campaign_id'], unique=False)
    op.create_table('source_counts',
    sa.Column('campaign_id', _ID, nullable=False),
    sa.Column('source_code_id', sa.Integer(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('country', sa.String(length=2), nullable=False),
    sa.Column('signers', sa.BigInteger(), nullable=False),
    sa.Column('total', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['campaign_id'], ['campaigns.id'], name=op.f('fk_source_counts_campaign_id_campaigns'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('campaign_id', 'source_code_id', 'day', 'country', name=op.f('pk_source_counts'))
    )
    with op.batch_alter_table('signatures', schema=None) as batch_op:
        batch_op.add_column(sa.Column('source_code_id', _ID, nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_signatures_source_code_id_source_codes'), 'source_codes', ['source_code_id'], ['id'])


def downgrade():
    with op.batch_alter_table('signatures', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_signatures_source_code_id_source_codes'), type_='foreignkey')
        batch_op.drop_column('source_code_id')
    op.drop_table('source_counts')
    with op.batch_alter_table('source_codes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_source_codes_campaign_id'))
    op.drop_table('source_codes')
