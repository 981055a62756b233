"""the ledger head a delivery was made with

Revision ID: 0020_delivery_ledger
Revises: 0019_paper_counts
Create Date: 2026-12-05 22:45:00

``campaign_deliveries.ledger_head`` is the number of the campaign's signed
ledger head the organizers handed over with the delivery (null: none, or a
delivery recorded before heads existed). The downgrade drops the column.
"""

import sqlalchemy as sa
from alembic import op

revision = "0020_delivery_ledger"
down_revision = "0019_paper_counts"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("campaign_deliveries", schema=None) as batch_op:
        batch_op.add_column(sa.Column("ledger_head", sa.Integer(), nullable=True))


def downgrade():
    with op.batch_alter_table("campaign_deliveries", schema=None) as batch_op:
        batch_op.drop_column("ledger_head")
