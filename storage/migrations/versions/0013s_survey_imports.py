"""survey_import: survey sheets imported in bulk, waiting for the village doctor's confirmation (rows encrypted)

Revision ID: 0013s
Revises: 0013r
"""

import sqlalchemy as sa
from alembic import op

revision = '0013s'
down_revision = '0013r'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('survey_import',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('staff_id', sa.Integer(), nullable=False),
    sa.Column('post_code', sa.String(length=32), nullable=False),
    sa.Column('village_code', sa.String(length=32), nullable=False),
    sa.Column('file_name', sa.String(length=200), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('rows_enc', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['staff_id'], ['staff.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('survey_import', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_survey_import_staff_id'), ['staff_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_survey_import_village_code'), ['village_code'], unique=False)
        batch_op.create_index(batch_op.f('ix_survey_import_created_at'), ['created_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('survey_import', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_survey_import_created_at'))
        batch_op.drop_index(batch_op.f('ix_survey_import_village_code'))
        batch_op.drop_index(batch_op.f('ix_survey_import_staff_id'))
    op.drop_table('survey_import')
