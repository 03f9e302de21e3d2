"""chat_account.prompt: the choices last put to a person in answer to their own message, kept on their account row

Revision ID: 0014
Revises: 0013s

A reply's choices were a chat_prompt row of their own, inserted on nearly every update and marked answered on the
next press: two statements and four index writes per update for a row that is read only while it is the newest.
It now rides on the account row, which the update writes anyway; an older one still open moves to chat_prompt
when a newer one replaces it, so a reply to it is still explained. Prompts already in chat_prompt stay there.
"""

import sqlalchemy as sa
from alembic import op

revision = '0014'
down_revision = '0013s'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('chat_account', schema=None) as batch_op:
        batch_op.add_column(sa.Column('prompt', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('prompt_until', sa.DateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('chat_account', schema=None) as batch_op:
        batch_op.drop_column('prompt_until')
        batch_op.drop_column('prompt')
