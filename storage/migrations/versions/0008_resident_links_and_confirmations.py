"""resident link codes (one-time, 7 days, hashed) and confirmations that wait for a second person

Link codes were derived from the resident id until now and never stored: none of them is carried over, so every
code handed out before this revision is refused (the village doctor issues a new one on demand).

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('resident_link',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code_hash', sa.String(length=64), nullable=False),
    sa.Column('resident_id', sa.Integer(), nullable=False),
    sa.Column('issued_by_staff_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('expires_at', sa.DateTime(), nullable=False),
    sa.Column('used_at', sa.DateTime(), nullable=True),
    sa.Column('used_by_account_id', sa.Integer(), nullable=True),
    sa.Column('revoked_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['issued_by_staff_id'], ['staff.id'], ),
    sa.ForeignKeyConstraint(['resident_id'], ['resident.id'], ),
    sa.ForeignKeyConstraint(['used_by_account_id'], ['chat_account.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('code_hash')
    )
    with op.batch_alter_table('resident_link', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_resident_link_resident_id'), ['resident_id'], unique=False)
    op.create_table('confirmation',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('resident_id', sa.Integer(), nullable=True),
    sa.Column('staff_id', sa.Integer(), nullable=True),
    sa.Column('invite_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('decided_at', sa.DateTime(), nullable=True),
    sa.Column('decided_by_staff_id', sa.Integer(), nullable=True),
    sa.Column('outcome', sa.String(length=16), nullable=True),
    sa.ForeignKeyConstraint(['account_id'], ['chat_account.id'], ),
    sa.ForeignKeyConstraint(['decided_by_staff_id'], ['staff.id'], ),
    sa.ForeignKeyConstraint(['invite_id'], ['invite.id'], ),
    sa.ForeignKeyConstraint(['resident_id'], ['resident.id'], ),
    sa.ForeignKeyConstraint(['staff_id'], ['staff.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('confirmation', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_confirmation_account_id'), ['account_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_confirmation_kind'), ['kind'], unique=False)
        batch_op.create_index(batch_op.f('ix_confirmation_resident_id'), ['resident_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('confirmation', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_confirmation_resident_id'))
        batch_op.drop_index(batch_op.f('ix_confirmation_kind'))
        batch_op.drop_index(batch_op.f('ix_confirmation_account_id'))
    op.drop_table('confirmation')
    with op.batch_alter_table('resident_link', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_resident_link_resident_id'))
    op.drop_table('resident_link')
