"""resident.erased_key: a keyed hash of an erased resident's name, village and birth year (never the name), so an
old survey sheet cannot register them again with a consent older than their withdrawal

Revision ID: 0014g
Revises: 0014
"""

import sqlalchemy as sa
from alembic import op

revision = '0014g'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('resident', schema=None) as batch_op:
        batch_op.add_column(sa.Column('erased_key', sa.String(length=64), nullable=True))
        batch_op.create_index(batch_op.f('ix_resident_erased_key'), ['erased_key'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('resident', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_resident_erased_key'))
        batch_op.drop_column('erased_key')
