"""a signer may withdraw their signature; the email with the link to manage it

Revision ID: 0010_withdraw
Revises: 0012_networks
Create Date: 2026-12-05 04:00:00

Only check constraints change: signatures may be ``withdrawn`` (a state of
their own, reached from the signer's private link), and ``email_log`` may
hold ``manage_link`` emails. The downgrade refuses while a row uses either
value: it would not fit the old constraints, and turning a withdrawal back
into a live signature would count it again.
"""
import sqlalchemy as sa
from alembic import op

revision = '0010_withdraw'
down_revision = '0012_networks'
branch_labels = None
depends_on = None

STATES_BEFORE = ('pending', 'validated', 'fraudulent', 'invalidated', 'held')
KINDS_BEFORE = ('confirm', 'already_signed', 'update', 'notice')


def _check(column, values):
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def _replace(table, name, condition):
    with op.batch_alter_table(table, schema=None) as batch_op:
        batch_op.drop_constraint(op.f(name), type_='check')
        batch_op.create_check_constraint(op.f(name), condition)


def upgrade():
    _replace('signatures', 'ck_signatures_state', _check('state', (*STATES_BEFORE, 'withdrawn')))
    _replace('email_log', 'ck_email_log_kind', _check('kind', (*KINDS_BEFORE, 'manage_link')))


def downgrade():
    connection = op.get_bind()
    used = connection.execute(
        sa.text(
            "SELECT (SELECT count(*) FROM signatures WHERE state = 'withdrawn')"
            " + (SELECT count(*) FROM email_log WHERE kind = 'manage_link')"
        )
    ).scalar()
    if used:
        raise RuntimeError(
            f"{used} withdrawn signatures or manage-link emails exist: not downgrading"
        )
    _replace('email_log', 'ck_email_log_kind', _check('kind', KINDS_BEFORE))
    _replace('signatures', 'ck_signatures_state', _check('state', STATES_BEFORE))
