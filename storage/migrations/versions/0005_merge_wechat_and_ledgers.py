"""Merge the WeChat (0004w) and ledger (0004l) branches, which were written side by side.

Revision ID: 0005
Revises: 0004w, 0004l
"""

revision = "0005"
down_revision = ("0004w", "0004l")
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
