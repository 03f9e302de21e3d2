"""Audit events stay append-only, but a free-text reason may be redacted (PIPL erasure on /forget).

Every column but ``reason`` must stay as it was, and ``reason`` may only become the redaction marker.

Revision ID: 0006
Revises: 0005
"""

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

MARKER = "（已删除）"
SAME = " AND ".join(
    f"NEW.{c} IS OLD.{c}"
    for c in ("id", "at", "actor_staff_id", "actor_role", "action", "entity", "entity_id", "from_status",
              "to_status", "detail")
)
PG_SAME = " AND ".join(
    f"NEW.{c} IS NOT DISTINCT FROM OLD.{c}"
    for c in ("id", "at", "actor_staff_id", "actor_role", "action", "entity", "entity_id", "from_status",
              "to_status", "detail")
)


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"""CREATE OR REPLACE FUNCTION audit_event_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
              IF TG_OP = 'UPDATE' AND NEW.reason = '{MARKER}' AND {PG_SAME} THEN
                RETURN NEW;
              END IF;
              RAISE EXCEPTION 'audit_event is append-only';
            END $$""")
    else:
        op.execute("DROP TRIGGER audit_event_no_update")
        op.execute(f"""CREATE TRIGGER audit_event_no_update BEFORE UPDATE ON audit_event
            WHEN NOT (NEW.reason IS '{MARKER}' AND {SAME})
            BEGIN SELECT RAISE(ABORT, 'audit_event is append-only'); END""")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("""CREATE OR REPLACE FUNCTION audit_event_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN RAISE EXCEPTION 'audit_event is append-only'; END $$""")
    else:
        op.execute("DROP TRIGGER audit_event_no_update")
        op.execute("""CREATE TRIGGER audit_event_no_update BEFORE UPDATE ON audit_event
            BEGIN SELECT RAISE(ABORT, 'audit_event is append-only'); END""")
