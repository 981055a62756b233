"""signers on paper in the campaign counts

Revision ID: 0019_paper_counts
Revises: 0018_console_tz
Create Date: 2026-12-05 22:30:00

``campaign_counts.paper_signers`` is the count job's figure of signatures
given on a paper sheet, beside ``in_person_signers``. The upgrade fills it
for the campaigns already counted with the paper signatures the count holds
(``counted`` true: the count job moves a figure only when it flips that flag,
so the next fold adds or takes away from exactly this). The downgrade drops
the column.
"""
import sqlalchemy as sa
from alembic import op

revision = '0019_paper_counts'
down_revision = '0018_console_tz'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('campaign_counts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('paper_signers', sa.BigInteger(), server_default='0', nullable=False))
    op.get_bind().execute(
        sa.text(
            "UPDATE campaign_counts SET paper_signers = ("
            "SELECT count(*) FROM signatures"
            " WHERE signatures.campaign_id = campaign_counts.campaign_id"
            " AND signatures.source = 'paper' AND signatures.counted = :counted)"
        ).bindparams(sa.bindparam('counted', True, type_=sa.Boolean()))
    )


def downgrade():
    with op.batch_alter_table('campaign_counts', schema=None) as batch_op:
        batch_op.drop_column('paper_signers')
