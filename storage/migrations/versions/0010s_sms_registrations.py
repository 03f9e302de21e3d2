"""SMS registrations (encrypted number, keyed hash, separate consent, opt-out) and the provider's receipts

Revision ID: 0010s
Revises: 0010
"""

import sqlalchemy as sa
from alembic import op

revision = '0010s'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('sms_registration',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('resident_id', sa.Integer(), nullable=False),
    sa.Column('village_code', sa.String(length=32), nullable=False),
    sa.Column('phone_enc', sa.String(length=200), nullable=False),
    sa.Column('phone_hash', sa.String(length=64), nullable=False),
    sa.Column('consent_version', sa.String(length=32), nullable=False),
    sa.Column('consent_at', sa.DateTime(), nullable=False),
    sa.Column('registered_by_staff_id', sa.Integer(), nullable=True),
    sa.Column('source', sa.String(length=16), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('opted_out_at', sa.DateTime(), nullable=True),
    sa.Column('opt_out_source', sa.String(length=32), nullable=True),
    sa.ForeignKeyConstraint(['registered_by_staff_id'], ['staff.id'], ),
    sa.ForeignKeyConstraint(['resident_id'], ['resident.id'], ),
    sa.ForeignKeyConstraint(['village_code'], ['place.code'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('resident_id')
    )
    with op.batch_alter_table('sms_registration', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sms_registration_opted_out_at'), ['opted_out_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_sms_registration_phone_hash'), ['phone_hash'], unique=False)
        batch_op.create_index(batch_op.f('ix_sms_registration_village_code'), ['village_code'], unique=False)
    op.create_table('sms_message',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('outbox_id', sa.Integer(), nullable=True),
    sa.Column('registration_id', sa.Integer(), nullable=True),
    sa.Column('announcement_id', sa.Integer(), nullable=True),
    sa.Column('provider', sa.String(length=16), nullable=False),
    sa.Column('provider_id', sa.String(length=64), nullable=False),
    sa.Column('submitted_at', sa.DateTime(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('report_code', sa.String(length=64), nullable=True),
    sa.Column('reported_at', sa.DateTime(), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('sms_message', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sms_message_outbox_id'), ['outbox_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_sms_message_provider_id'), ['provider_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_sms_message_registration_id'), ['registration_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('sms_message', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sms_message_registration_id'))
        batch_op.drop_index(batch_op.f('ix_sms_message_provider_id'))
        batch_op.drop_index(batch_op.f('ix_sms_message_outbox_id'))
    op.drop_table('sms_message')
    with op.batch_alter_table('sms_registration', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sms_registration_village_code'))
        batch_op.drop_index(batch_op.f('ix_sms_registration_phone_hash'))
        batch_op.drop_index(batch_op.f('ix_sms_registration_opted_out_at'))
    op.drop_table('sms_registration')
