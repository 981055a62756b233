"""campaign image: re-encoded variants in the database, alt text per language

Revision ID: 0007
Revises: 0005
Create Date: 2026-12-10 10:00:00

An organizer's upload is re-encoded (AVIF and WebP at a few widths, without
metadata) and only those variants are kept, in ``campaign_images``: every web
node can serve them and a database backup holds them. What the image shows
is written per language next to the campaign's other texts
(``campaign_texts.image_alt``, NULL where it is not written). The downgrade
drops both, images included.
"""
import sqlalchemy as sa
from alembic import op

revision = '0007'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('campaign_images',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('campaign_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('media_type', sa.String(length=16), nullable=False),
    sa.Column('width', sa.Integer(), nullable=False),
    sa.Column('height', sa.Integer(), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('data', sa.LargeBinary(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("media_type IN ('image/avif', 'image/webp')", name=op.f('ck_campaign_images_media_type')),
    sa.CheckConstraint('width > 0 AND height > 0', name=op.f('ck_campaign_images_size_positive')),
    sa.ForeignKeyConstraint(['campaign_id'], ['campaigns.id'], name=op.f('fk_campaign_images_campaign_id_campaigns'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_campaign_images')),
    sa.UniqueConstraint('campaign_id', 'media_type', 'width', name=op.f('uq_campaign_images_campaign_id')),
    sa.UniqueConstraint('name', 'campaign_id', name=op.f('uq_campaign_images_name'))
    )
    with op.batch_alter_table('campaign_texts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('image_alt', sa.String(length=300), nullable=True))


def downgrade():
    with op.batch_alter_table('campaign_texts', schema=None) as batch_op:
        batch_op.drop_column('image_alt')
    op.drop_table('campaign_images')
