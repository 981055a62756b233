"""console users' time zone

Revision ID: 0018_console_tz
Revises: 0015_sheets
Create Date: 2026-12-05 21:30:00

Each console account chooses the time zone the console shows dates and times
in (stored times stay UTC). Existing accounts get Asia/Damascus, the zone of
the union's organizers (the same offset as Istanbul); the downgrade drops it.
"""
import sqlalchemy as sa
from alembic import op

revision = '0018_console_tz'
down_revision = '0015_sheets'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column(
        'users',
        sa.Column(
            'time_zone', sa.String(length=64), server_default='Asia/Damascus', nullable=False
        ),
    )


def downgrade():
    op.drop_column('users', 'time_zone')
