"""institution phone numbers, emergency alerts, the reasons an overridden order was flagged for

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('institution', schema=None) as batch_op:
        batch_op.add_column(sa.Column('phone', sa.String(length=40), nullable=True))
    with op.batch_alter_table('care_order', schema=None) as batch_op:
        batch_op.add_column(sa.Column('emergency_reasons', sa.String(length=200), nullable=True))
    op.create_table('emergency_alert',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('post_code', sa.String(length=32), nullable=False),
    sa.Column('village_code', sa.String(length=32), nullable=False),
    sa.Column('filed_by_staff_id', sa.Integer(), nullable=False),
    sa.Column('resident_id', sa.Integer(), nullable=True),
    sa.Column('resident_name_enc', sa.String(length=300), nullable=True),
    sa.Column('reasons', sa.String(length=200), nullable=False),
    sa.Column('callback_phone_enc', sa.String(length=200), nullable=True),
    sa.Column('level', sa.String(length=16), nullable=False),
    sa.Column('alerted', sa.Text(), server_default='[]', nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('acknowledged_at', sa.DateTime(), nullable=True),
    sa.Column('acknowledged_by_staff_id', sa.Integer(), nullable=True),
    sa.Column('escalated_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['acknowledged_by_staff_id'], ['staff.id'], ),
    sa.ForeignKeyConstraint(['filed_by_staff_id'], ['staff.id'], ),
    sa.ForeignKeyConstraint(['post_code'], ['institution.code'], ),
    sa.ForeignKeyConstraint(['resident_id'], ['resident.id'], ),
    sa.ForeignKeyConstraint(['village_code'], ['place.code'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('emergency_alert', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_emergency_alert_created_at'), ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_emergency_alert_filed_by_staff_id'), ['filed_by_staff_id'],
                              unique=False)
        batch_op.create_index(batch_op.f('ix_emergency_alert_post_code'), ['post_code'], unique=False)
        batch_op.create_index(batch_op.f('ix_emergency_alert_resident_id'), ['resident_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('emergency_alert', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_emergency_alert_resident_id'))
        batch_op.drop_index(batch_op.f('ix_emergency_alert_post_code'))
        batch_op.drop_index(batch_op.f('ix_emergency_alert_filed_by_staff_id'))
        batch_op.drop_index(batch_op.f('ix_emergency_alert_created_at'))
    op.drop_table('emergency_alert')
    with op.batch_alter_table('care_order', schema=None) as batch_op:
        batch_op.drop_column('emergency_reasons')
    with op.batch_alter_table('institution', schema=None) as batch_op:
        batch_op.drop_column('phone')
