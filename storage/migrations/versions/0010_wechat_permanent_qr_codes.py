"""the Official Account's permanent QR codes, made once per scene

Revision ID: 0010
Revises: 0009
"""

import sqlalchemy as sa
from alembic import op

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('wechat_qr',
    sa.Column('app_id', sa.String(length=64), nullable=False),
    sa.Column('scene', sa.String(length=64), nullable=False),
    sa.Column('url', sa.String(length=512), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('app_id', 'scene')
    )


def downgrade() -> None:
    op.drop_table('wechat_qr')
