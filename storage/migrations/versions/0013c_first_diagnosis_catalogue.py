"""first-diagnosis catalogue: dated entries per health center, the target tier, the entry an order matched

Revision ID: 0013c
Revises: 0013
"""

import sqlalchemy as sa
from alembic import op

revision = '0013c'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('catalogue_entry',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('institution_code', sa.String(length=32), nullable=False),
    sa.Column('disease', sa.String(length=64), nullable=False),
    sa.Column('icd10', sa.String(length=16), nullable=True),
    sa.Column('added_on', sa.Date(), nullable=False),
    sa.Column('removed_on', sa.Date(), nullable=True),
    sa.Column('source', sa.String(length=16), nullable=False),
    sa.Column('added_by_staff_id', sa.Integer(), nullable=True),
    sa.Column('removed_by_staff_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['institution_code'], ['institution.code'], ),
    sa.ForeignKeyConstraint(['added_by_staff_id'], ['staff.id'], ),
    sa.ForeignKeyConstraint(['removed_by_staff_id'], ['staff.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('catalogue_entry', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_catalogue_entry_institution_code'), ['institution_code'], unique=False)
    op.create_table('catalogue_tier',
    sa.Column('institution_code', sa.String(length=32), nullable=False),
    sa.Column('tier', sa.String(length=16), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['institution_code'], ['institution.code'], ),
    sa.PrimaryKeyConstraint('institution_code')
    )
    op.create_table('order_catalogue_match',
    sa.Column('order_id', sa.Integer(), nullable=False),
    sa.Column('institution_code', sa.String(length=32), nullable=False),
    sa.Column('disease', sa.String(length=64), nullable=False),
    sa.Column('icd10', sa.String(length=16), nullable=True),
    sa.Column('words', sa.String(length=200), nullable=False),
    sa.Column('matched_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['institution_code'], ['institution.code'], ),
    sa.ForeignKeyConstraint(['order_id'], ['care_order.id'], ),
    sa.PrimaryKeyConstraint('order_id')
    )
    with op.batch_alter_table('order_catalogue_match', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_order_catalogue_match_institution_code'), ['institution_code'],
                              unique=False)


def downgrade() -> None:
    with op.batch_alter_table('order_catalogue_match', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_order_catalogue_match_institution_code'))
    op.drop_table('order_catalogue_match')
    op.drop_table('catalogue_tier')
    with op.batch_alter_table('catalogue_entry', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_catalogue_entry_institution_code'))
    op.drop_table('catalogue_entry')
