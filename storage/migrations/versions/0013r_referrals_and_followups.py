"""referral_slot, referral, followup_task: two-way referral (issue 20) — slots reserved for grassroots referrals,
each referral up and its states, the follow-up tasks a discharge leaves with the village post

Revision ID: 0013r
Revises: 0013m
"""

import sqlalchemy as sa
from alembic import op

revision = '0013r'
down_revision = '0013m'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('referral_slot',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('hospital_code', sa.String(length=32), nullable=False),
    sa.Column('specialty', sa.String(length=16), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('half_day', sa.String(length=2), nullable=False),
    sa.Column('start_time', sa.String(length=5), nullable=False),
    sa.Column('place', sa.String(length=100), nullable=False),
    sa.Column('capacity', sa.Integer(), nullable=False),
    sa.Column('booked', sa.Integer(), nullable=False),
    sa.Column('beds', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('created_by_staff_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['created_by_staff_id'], ['staff.id'], ),
    sa.ForeignKeyConstraint(['hospital_code'], ['institution.code'], ),
    sa.ForeignKeyConstraint(['specialty'], ['specialty.code'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('hospital_code', 'specialty', 'day', 'half_day', 'start_time', name='uq_referral_slot')
    )
    with op.batch_alter_table('referral_slot', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_referral_slot_day'), ['day'], unique=False)
        batch_op.create_index(batch_op.f('ix_referral_slot_hospital_code'), ['hospital_code'], unique=False)

    op.create_table('followup_task',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('resident_id', sa.Integer(), nullable=True),
    sa.Column('post_code', sa.String(length=32), nullable=False),
    sa.Column('order_id', sa.Integer(), nullable=True),
    sa.Column('source', sa.String(length=16), nullable=False),
    sa.Column('source_id', sa.Integer(), nullable=True),
    sa.Column('what', sa.String(length=60), nullable=False),
    sa.Column('due_day', sa.Date(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('result', sa.String(length=200), nullable=True),
    sa.Column('done_at', sa.DateTime(), nullable=True),
    sa.Column('done_by_staff_id', sa.Integer(), nullable=True),
    sa.Column('reminded_at', sa.DateTime(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('created_by_staff_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['created_by_staff_id'], ['staff.id'], ),
    sa.ForeignKeyConstraint(['done_by_staff_id'], ['staff.id'], ),
    sa.ForeignKeyConstraint(['order_id'], ['care_order.id'], ),
    sa.ForeignKeyConstraint(['post_code'], ['institution.code'], ),
    sa.ForeignKeyConstraint(['resident_id'], ['resident.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('followup_task', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_followup_task_due_day'), ['due_day'], unique=False)
        batch_op.create_index(batch_op.f('ix_followup_task_order_id'), ['order_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_followup_task_post_code'), ['post_code'], unique=False)
        batch_op.create_index(batch_op.f('ix_followup_task_resident_id'), ['resident_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_followup_task_status'), ['status'], unique=False)

    op.create_table('referral',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('order_id', sa.Integer(), nullable=False),
    sa.Column('resident_id', sa.Integer(), nullable=True),
    sa.Column('hospital_code', sa.String(length=32), nullable=False),
    sa.Column('specialty', sa.String(length=16), nullable=False),
    sa.Column('urgency', sa.String(length=16), nullable=False),
    sa.Column('post_code', sa.String(length=32), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('slot_id', sa.Integer(), nullable=True),
    sa.Column('note', sa.String(length=500), nullable=True),
    sa.Column('plan', sa.String(length=500), nullable=True),
    sa.Column('booked_at', sa.DateTime(), nullable=True),
    sa.Column('reminder_due_at', sa.DateTime(), nullable=True),
    sa.Column('reminded_at', sa.DateTime(), nullable=True),
    sa.Column('discharged_at', sa.DateTime(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['hospital_code'], ['institution.code'], ),
    sa.ForeignKeyConstraint(['order_id'], ['care_order.id'], ),
    sa.ForeignKeyConstraint(['post_code'], ['institution.code'], ),
    sa.ForeignKeyConstraint(['resident_id'], ['resident.id'], ),
    sa.ForeignKeyConstraint(['slot_id'], ['referral_slot.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('order_id')
    )
    with op.batch_alter_table('referral', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_referral_created_at'), ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_referral_hospital_code'), ['hospital_code'], unique=False)
        batch_op.create_index(batch_op.f('ix_referral_post_code'), ['post_code'], unique=False)
        batch_op.create_index(batch_op.f('ix_referral_reminder_due_at'), ['reminder_due_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_referral_resident_id'), ['resident_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_referral_slot_id'), ['slot_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_referral_status'), ['status'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('referral', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_referral_status'))
        batch_op.drop_index(batch_op.f('ix_referral_slot_id'))
        batch_op.drop_index(batch_op.f('ix_referral_resident_id'))
        batch_op.drop_index(batch_op.f('ix_referral_reminder_due_at'))
        batch_op.drop_index(batch_op.f('ix_referral_post_code'))
        batch_op.drop_index(batch_op.f('ix_referral_hospital_code'))
        batch_op.drop_index(batch_op.f('ix_referral_created_at'))

    op.drop_table('referral')
    with op.batch_alter_table('followup_task', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_followup_task_status'))
        batch_op.drop_index(batch_op.f('ix_followup_task_resident_id'))
        batch_op.drop_index(batch_op.f('ix_followup_task_post_code'))
        batch_op.drop_index(batch_op.f('ix_followup_task_order_id'))
        batch_op.drop_index(batch_op.f('ix_followup_task_due_day'))

    op.drop_table('followup_task')
    with op.batch_alter_table('referral_slot', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_referral_slot_hospital_code'))
        batch_op.drop_index(batch_op.f('ix_referral_slot_day'))

    op.drop_table('referral_slot')
