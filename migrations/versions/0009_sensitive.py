"""sensitive campaigns: low-trace mail

Revision ID: 0009_sensitive
Revises: 0008_disclosure
Create Date: 2026-12-05 04:00:00

An organizer marks a campaign as sensitive: every email about it then has a
neutral sender name and subject and names neither the campaign nor the union
(docs/threat-model.md, "Low-trace mail"). Existing campaigns are not
sensitive; the downgrade drops the flag.
"""
import sqlalchemy as sa
from alembic import op

revision = '0009_sensitive'
down_revision = '0008_disclosure'
branch_labels = None
depends_on = None


# Plain ALTER TABLE on both engines (SQLite has had DROP COLUMN since 3.35):
# a batch rebuild of ``campaigns`` would drop a table that signatures point at.


def upgrade():
    op.add_column(
        'campaigns',
        sa.Column('sensitive', sa.Boolean(), server_default=sa.false(), nullable=False),
    )


def downgrade():
    op.drop_column('campaigns', 'sensitive')
