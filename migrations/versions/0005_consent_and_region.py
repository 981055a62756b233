"""consent that says what becomes public; the typed region sealed with the
personal data

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02 09:00:00

Each signature gets ``deliver_name`` (full name in the delivered petition) and
``consent_version`` (1: the old "name on the list" wording, 2: the new two
choices). Existing signatures are version 1 and ``deliver_name`` false: nobody
is put into the delivered petition without having agreed to it.

The clear ``region`` column goes: each row's typed region moves into its
encrypted ``personal_data`` blob (under the app's keyring: Flask-Migrate runs
this inside the app context). Rows are read in id order, a batch at a time.
A blob that cannot be opened stops the migration (nothing is lost: it runs in
one transaction on PostgreSQL, and the column is only dropped at the end).
The downgrade moves the region back out of the blob.
"""
import json

import sqlalchemy as sa
from alembic import op

from campaigns.privacy.crypto import decrypt, encrypt, keyring

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None

# Written out, not imported: the migration must keep meaning what it meant.
PURPOSE = b"signature.personal_data"
BATCH = 1000

signatures = sa.table(
    'signatures',
    sa.column('id', sa.BigInteger),
    sa.column('personal_data', sa.LargeBinary),
    sa.column('region', sa.String),
)


def _open(blob):
    return json.loads(decrypt(blob, PURPOSE, keyring()))


def _seal(data):
    payload = json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()
    return encrypt(payload, PURPOSE, keyring())


def _rows(connection, after):
    return connection.execute(
        sa.select(signatures.c.id, signatures.c.personal_data, signatures.c.region)
        .where(signatures.c.id > after)
        .order_by(signatures.c.id)
        .limit(BATCH)
    ).all()


def _rewrite(move):
    """Run ``move(row) -> dict of new values or None`` over every signature."""
    connection = op.get_bind()
    last = 0
    while True:
        rows = _rows(connection, last)
        if not rows:
            return
        updates = []
        for row in rows:
            values = move(row)
            if values is not None:
                updates.append({"row_id": row.id, **values})
        if updates:
            connection.execute(
                signatures.update()
                .where(signatures.c.id == sa.bindparam("row_id"))
                .values({name: sa.bindparam(name) for name in updates[0] if name != "row_id"}),
                updates,
            )
        last = rows[-1].id


def _seal_region(row):
    if row.personal_data is None:
        # Erased by retention: its region was blanked with the rest.
        return None
    data = _open(row.personal_data)
    data["region"] = row.region or ""
    return {"personal_data": _seal(data)}


def _unseal_region(row):
    if row.personal_data is None:
        return None  # the column is filled with "" first
    data = _open(row.personal_data)
    region = data.pop("region", "") or ""
    return {"personal_data": _seal(data), "region": region}


def upgrade():
    with op.batch_alter_table('signatures', schema=None) as batch_op:
        batch_op.add_column(sa.Column('deliver_name', sa.Boolean(), nullable=True))
        batch_op.add_column(sa.Column('consent_version', sa.SmallInteger(), nullable=True))
    op.execute("UPDATE signatures SET deliver_name = false, consent_version = 1")
    _rewrite(_seal_region)
    with op.batch_alter_table('signatures', schema=None) as batch_op:
        batch_op.alter_column('deliver_name', existing_type=sa.Boolean(), nullable=False)
        batch_op.alter_column('consent_version', existing_type=sa.SmallInteger(), nullable=False)
        batch_op.create_check_constraint(
            op.f('ck_signatures_consent_version'), 'consent_version IN (1, 2)'
        )
        batch_op.drop_column('region')


def downgrade():
    with op.batch_alter_table('signatures', schema=None) as batch_op:
        batch_op.add_column(sa.Column('region', sa.String(length=80), nullable=True))
    op.execute("UPDATE signatures SET region = ''")
    _rewrite(_unseal_region)
    with op.batch_alter_table('signatures', schema=None) as batch_op:
        batch_op.alter_column('region', existing_type=sa.String(length=80), nullable=False)
        batch_op.drop_constraint(op.f('ck_signatures_consent_version'), type_='check')
        batch_op.drop_column('consent_version')
        batch_op.drop_column('deliver_name')
