"""remote_session: remote consultations (远程会诊) — expert, site, time, link or room, reminders and outcome

Revision ID: 0013m
Revises: 0013c
"""

import sqlalchemy as sa
from alembic import op

revision = '0013m'
down_revision = '0013c'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('remote_session',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('order_id', sa.Integer(), nullable=False),
    sa.Column('resident_id', sa.Integer(), nullable=True),
    sa.Column('hospital_code', sa.String(length=32), nullable=False),
    sa.Column('expert_id', sa.Integer(), nullable=False),
    sa.Column('site_code', sa.String(length=32), nullable=False),
    sa.Column('county_code', sa.String(length=32), nullable=False),
    sa.Column('starts_at', sa.DateTime(), nullable=False),
    sa.Column('room', sa.String(length=200), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('reason', sa.String(length=500), nullable=True),
    sa.Column('previous_id', sa.Integer(), nullable=True),
    sa.Column('moved_to_id', sa.Integer(), nullable=True),
    sa.Column('advice', sa.Text(), nullable=True),
    sa.Column('refer_up', sa.Boolean(), nullable=True),
    sa.Column('followup_plan', sa.Text(), nullable=True),
    sa.Column('outcome_at', sa.DateTime(), nullable=True),
    sa.Column('reminded', sa.String(length=8), nullable=True),
    sa.Column('created_by_staff_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['created_by_staff_id'], ['staff.id'], ),
    sa.ForeignKeyConstraint(['expert_id'], ['staff.id'], ),
    sa.ForeignKeyConstraint(['hospital_code'], ['institution.code'], ),
    sa.ForeignKeyConstraint(['moved_to_id'], ['remote_session.id'], ),
    sa.ForeignKeyConstraint(['order_id'], ['care_order.id'], ),
    sa.ForeignKeyConstraint(['previous_id'], ['remote_session.id'], ),
    sa.ForeignKeyConstraint(['resident_id'], ['resident.id'], ),
    sa.ForeignKeyConstraint(['site_code'], ['institution.code'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('remote_session', schema=None) as batch_op:
        batch_op.create_index('ix_remote_session_due', ['status', 'starts_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_remote_session_county_code'), ['county_code'], unique=False)
        batch_op.create_index(batch_op.f('ix_remote_session_expert_id'), ['expert_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_remote_session_hospital_code'), ['hospital_code'], unique=False)
        batch_op.create_index(batch_op.f('ix_remote_session_order_id'), ['order_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_remote_session_resident_id'), ['resident_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('remote_session', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_remote_session_resident_id'))
        batch_op.drop_index(batch_op.f('ix_remote_session_order_id'))
        batch_op.drop_index(batch_op.f('ix_remote_session_hospital_code'))
        batch_op.drop_index(batch_op.f('ix_remote_session_expert_id'))
        batch_op.drop_index(batch_op.f('ix_remote_session_county_code'))
        batch_op.drop_index('ix_remote_session_due')
    op.drop_table('remote_session')
