"""campaign targets: who a campaign is addressed to, per language

Revision ID: 0013_targets
Revises: 0007
Create Date: 2026-12-05 04:40:00

``campaign_texts.target`` holds, per language, who the campaign asks
("The member states of the UN General Assembly"); NULL where it is not
written. The downgrade drops it.
"""
import sqlalchemy as sa
from alembic import op

revision = '0013_targets'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('campaign_texts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('target', sa.String(length=300), nullable=True))


def downgrade():
    with op.batch_alter_table('campaign_texts', schema=None) as batch_op:
        batch_op.drop_column('target')
