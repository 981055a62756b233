"""signing in person at a stand: kiosks, and their signatures

Revision ID: 0016_kiosk
Revises: 0017_ledger
Create Date: 2026-12-05 21:30:00

``kiosks`` holds each stand a collector opened for a campaign. A signature
may be ``in_person`` (a new value of its source), with the kiosk it was
signed at and the key its device gave the entry: one unique index over the
two absorbs an entry sent twice. ``campaign_counts.in_person_signers`` is
the count job's figure of them. The downgrade refuses while an in-person
signature exists: it would not fit the old source constraint.
"""
import sqlalchemy as sa
from alembic import op

revision = '0016_kiosk'
down_revision = '0017_ledger'
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
SOURCES_BEFORE = ('web', 'paper', 'demo')


def _check(values):
    return f"source IN ({', '.join(repr(v) for v in values)})"


def upgrade():
    op.create_table('kiosks',
    sa.Column('id', _ID, nullable=False),
    sa.Column('uuid', sa.Uuid(), nullable=False),
    sa.Column('campaign_id', _ID, nullable=False),
    sa.Column('collector_id', _ID, nullable=False),
    sa.Column('stand', sa.String(length=120), nullable=False),
    sa.Column('opened_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['campaign_id'], ['campaigns.id'], name=op.f('fk_kiosks_campaign_id_campaigns')),
    sa.ForeignKeyConstraint(['collector_id'], ['users.id'], name=op.f('fk_kiosks_collector_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_kiosks')),
    sa.UniqueConstraint('uuid', name=op.f('uq_kiosks_uuid'))
    )
    with op.batch_alter_table('kiosks', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_kiosks_campaign_id'), ['campaign_id'], unique=False)
    with op.batch_alter_table('signatures', schema=None) as batch_op:
        batch_op.add_column(sa.Column('kiosk_id', _ID, nullable=True))
        batch_op.add_column(sa.Column('entry_key', sa.Uuid(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_signatures_kiosk_id_kiosks'), 'kiosks', ['kiosk_id'], ['id'])
        batch_op.create_index('uq_signatures_kiosk_entry', ['kiosk_id', 'entry_key'], unique=True)
        batch_op.drop_constraint(op.f('ck_signatures_source'), type_='check')
        batch_op.create_check_constraint(op.f('ck_signatures_source'), _check((*SOURCES_BEFORE, 'in_person')))
    with op.batch_alter_table('campaign_counts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('in_person_signers', sa.BigInteger(), server_default='0', nullable=False))


def downgrade():
    in_person = op.get_bind().execute(
        sa.text("SELECT count(*) FROM signatures WHERE source = 'in_person'")
    ).scalar()
    if in_person:
        raise RuntimeError(
            f"{in_person} signatures were signed in person: they would not fit the old "
            "constraint; keep this revision"
        )
    with op.batch_alter_table('campaign_counts', schema=None) as batch_op:
        batch_op.drop_column('in_person_signers')
    with op.batch_alter_table('signatures', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_signatures_source'), type_='check')
        batch_op.create_check_constraint(op.f('ck_signatures_source'), _check(SOURCES_BEFORE))
        batch_op.drop_index('uq_signatures_kiosk_entry')
        batch_op.drop_constraint(batch_op.f('fk_signatures_kiosk_id_kiosks'), type_='foreignkey')
        batch_op.drop_column('entry_key')
        batch_op.drop_column('kiosk_id')
    with op.batch_alter_table('kiosks', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_kiosks_campaign_id'))
    op.drop_table('kiosks')
