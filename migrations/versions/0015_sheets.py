"""printed collection sheets

Revision ID: 0015_sheets
Revises: 0014_sources
Create Date: 2026-12-05 21:30:00

``paper_sheets`` holds each printed sheet of a campaign: its serial number
(unique per campaign), the random code of its QR link, its language and
batch, its state (issued, returned, imported), the collector's name and phone
sealed together (``collector_data``, erased with the signers' data), and the
rows of imported files that named it, by outcome. The downgrade drops it.
"""
import sqlalchemy as sa
from alembic import op

revision = '0015_sheets'
down_revision = '0014_sources'
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade():
    op.create_table('paper_sheets',
    sa.Column('id', _ID, nullable=False),
    sa.Column('campaign_id', _ID, nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('language', sa.String(length=8), nullable=False),
    sa.Column('batch', sa.Integer(), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('collector_data', sa.LargeBinary(), nullable=True),
    sa.Column('issued_by', _ID, nullable=True),
    sa.Column('issued_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('returned_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('imported_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('rows_accepted', sa.Integer(), nullable=False),
    sa.Column('rows_duplicate', sa.Integer(), nullable=False),
    sa.Column('rows_rejected', sa.Integer(), nullable=False),
    sa.CheckConstraint("state IN ('issued', 'returned', 'imported')", name=op.f('ck_paper_sheets_state')),
    sa.CheckConstraint('number > 0', name=op.f('ck_paper_sheets_number_positive')),
    sa.ForeignKeyConstraint(['campaign_id'], ['campaigns.id'], name=op.f('fk_paper_sheets_campaign_id_campaigns'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['issued_by'], ['users.id'], name=op.f('fk_paper_sheets_issued_by_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_paper_sheets')),
    sa.UniqueConstraint('campaign_id', 'number', name=op.f('uq_paper_sheets_campaign_id')),
    sa.UniqueConstraint('code', name=op.f('uq_paper_sheets_code'))
    )


def downgrade():
    op.drop_table('paper_sheets')
