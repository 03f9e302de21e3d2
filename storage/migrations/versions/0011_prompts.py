"""prompts: the choices put to each chat account, read when a reply is typed instead of pressed (every platform)

The Official Account kept its own list of the numbered choices shown last (``wechat_user.choices``); the core's
prompts replace it there (the columns stay: the local console keeps its screen in them). A number typed to an
Official Account list shown before this revision is read as plain text.

Revision ID: 0011
Revises: 0010s
"""

import sqlalchemy as sa
from alembic import op

revision = '0011'
down_revision = '0010s'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('chat_prompt',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('chat_account_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('expires_at', sa.DateTime(), nullable=False),
    sa.Column('answered_at', sa.DateTime(), nullable=True),
    sa.Column('topic', sa.String(length=16), nullable=True),
    sa.Column('again', sa.String(length=32), nullable=True),
    sa.Column('proactive', sa.Boolean(), nullable=False),
    sa.Column('choices', sa.Text(), server_default='[]', nullable=False),
    sa.ForeignKeyConstraint(['chat_account_id'], ['chat_account.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('chat_prompt', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_chat_prompt_chat_account_id'), ['chat_account_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_chat_prompt_expires_at'), ['expires_at'], unique=False)
        batch_op.create_index('ix_chat_prompt_open', ['chat_account_id', 'id'], unique=False,
                              sqlite_where=sa.text('answered_at IS NULL'),
                              postgresql_where=sa.text('answered_at IS NULL'))


def downgrade() -> None:
    with op.batch_alter_table('chat_prompt', schema=None) as batch_op:
        batch_op.drop_index('ix_chat_prompt_open')
        batch_op.drop_index(batch_op.f('ix_chat_prompt_expires_at'))
        batch_op.drop_index(batch_op.f('ix_chat_prompt_chat_account_id'))
    op.drop_table('chat_prompt')
