"""receipts printed on collection sheets

Revision ID: 0022_sheet_receipts
Revises: 0021_ledger_nodes
Create Date: 2026-12-06 06:00:00

``paper_sheets.receipt_seed``: 32 random bytes per sheet from which each of
its lines' receipt codes is derived (``ledger/receipts.sheet_receipt``), so
that every print of a sheet carries the same codes and an import of a line
stores the hash of the code its signer holds. The upgrade gives each sheet
already issued a seed of its own; the downgrade drops the column (sheets
printed before it then have receipts nobody can be counted under).
"""

import secrets

import sqlalchemy as sa
from alembic import op

revision = "0022_sheet_receipts"
down_revision = "0021_ledger_nodes"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("paper_sheets") as batch:
        batch.add_column(sa.Column("receipt_seed", sa.LargeBinary(length=32), nullable=True))
    sheets = sa.table("paper_sheets", sa.column("id"), sa.column("receipt_seed"))
    connection = op.get_bind()
    ids = [row.id for row in connection.execute(sa.select(sheets.c.id))]
    if ids:
        connection.execute(
            sheets.update()
            .where(sheets.c.id == sa.bindparam("sheet_id"))
            .values(receipt_seed=sa.bindparam("seed")),
            [{"sheet_id": i, "seed": secrets.token_bytes(32)} for i in ids],
        )
    with op.batch_alter_table("paper_sheets") as batch:
        batch.alter_column("receipt_seed", existing_type=sa.LargeBinary(length=32), nullable=False)


def downgrade():
    with op.batch_alter_table("paper_sheets") as batch:
        batch.drop_column("receipt_seed")
