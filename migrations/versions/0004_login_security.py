"""login security: one use per TOTP step, the pending secret server-side,
growing login delays

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-04 20:40:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('totp_last_step', sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column('totp_pending', sa.LargeBinary(), nullable=True))

    # A failure's time now drives the delay before the next attempt.
    with op.batch_alter_table('login_throttle', schema=None) as batch_op:
        batch_op.alter_column('window_start', new_column_name='last_failure_at')


def downgrade():
    with op.batch_alter_table('login_throttle', schema=None) as batch_op:
        batch_op.alter_column('last_failure_at', new_column_name='window_start')

    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('totp_pending')
        batch_op.drop_column('totp_last_step')
