"""button.prompt_id: the prompt that offered a button, so a press marks that prompt answered by its key

Revision ID: 0013
Revises: 0012
"""

import sqlalchemy as sa
from alembic import op

revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('button', schema=None) as batch_op:
        batch_op.add_column(sa.Column('prompt_id', sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('button', schema=None) as batch_op:
        batch_op.drop_column('prompt_id')
