"""wechat_held: messages for an Official Account follower outside the 48-hour window, held until they next write

Revision ID: 0012
Revises: 0011
"""

import sqlalchemy as sa
from alembic import op

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('wechat_held',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('platform', sa.String(length=16), nullable=False),
    sa.Column('user_id', sa.String(length=64), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('wechat_held', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_wechat_held_user_id'), ['user_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_wechat_held_created_at'), ['created_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('wechat_held', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_wechat_held_created_at'))
        batch_op.drop_index(batch_op.f('ix_wechat_held_user_id'))
    op.drop_table('wechat_held')
