"""button.prompt_id: the prompt that offered a button, so a press marks that prompt answered by its key

Revision ID: 0013
Revises: 0012
"""

import json

import sqlalchemy as sa
from alembic import op

revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('button', schema=None) as batch_op:
        batch_op.add_column(sa.Column('prompt_id', sa.Integer(), nullable=True))
    # The prompts still open name their buttons only in their choices (JSON [[token, keys], ...]): tag those buttons,
    # so a press after the upgrade still marks its prompt answered. Open prompts are few (expired ones are purged).
    conn = op.get_bind()
    prompts = conn.execute(sa.text("SELECT id, choices FROM chat_prompt WHERE answered_at IS NULL")).all()
    for prompt_id, choices in prompts:
        tokens = [c[0] for c in json.loads(choices or "[]") if c]
        if tokens:
            conn.execute(sa.text("UPDATE button SET prompt_id = :pid WHERE token IN :tokens")
                         .bindparams(sa.bindparam("tokens", expanding=True)), {"pid": prompt_id, "tokens": tokens})


def downgrade() -> None:
    with op.batch_alter_table('button', schema=None) as batch_op:
        batch_op.drop_column('prompt_id')
