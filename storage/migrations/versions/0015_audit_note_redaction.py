"""Audit events stay append-only; an erasure may now blank the free-text note of a decision as well as its reason.

A decision's note (the hospital's 上转安排, a remote consultation's arrangement) is kept in the event's ``detail``
as ``note``. It may say what the resident suffers from, so a resident's erasure must take it too: the one change
the trigger allows besides the reason becoming the marker is ``detail`` becoming the same JSON with its ``note``
replaced by the marker (computed the same way by the erasure's UPDATE and by the trigger).

Revision ID: 0015
Revises: 0014g
"""

from alembic import op

revision = "0015"
down_revision = "0014g"
branch_labels = None
depends_on = None

MARKER = "（已删除）"
COLUMNS = ("id", "at", "actor_staff_id", "actor_role", "action", "entity", "entity_id", "from_status", "to_status")
SAME = " AND ".join(f"NEW.{c} IS OLD.{c}" for c in COLUMNS)
PG_SAME = " AND ".join(f"NEW.{c} IS NOT DISTINCT FROM OLD.{c}" for c in COLUMNS)
# The note blanked, as storage.repositories.residents writes it, and only where there was one.
DETAIL = (f"(NEW.detail IS OLD.detail OR (json_type(OLD.detail, '$.note') IS NOT NULL"
          f" AND NEW.detail IS json_set(OLD.detail, '$.note', '{MARKER}')))")
PG_DETAIL = (f"(NEW.detail IS NOT DISTINCT FROM OLD.detail OR (OLD.detail::jsonb ? 'note' AND NEW.detail = "
             f"jsonb_set(OLD.detail::jsonb, '{{note}}', to_jsonb('{MARKER}'::text))::text))")


def _trigger(same: str, pg_same: str, detail: str, pg_detail: str) -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"""CREATE OR REPLACE FUNCTION audit_event_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
              IF TG_OP = 'UPDATE' AND NEW.reason = '{MARKER}' AND {pg_same} AND {pg_detail} THEN
                RETURN NEW;
              END IF;
              RAISE EXCEPTION 'audit_event is append-only';
            END $$""")
    else:
        op.execute("DROP TRIGGER audit_event_no_update")
        op.execute(f"""CREATE TRIGGER audit_event_no_update BEFORE UPDATE ON audit_event
            WHEN NOT (NEW.reason IS '{MARKER}' AND {same} AND {detail})
            BEGIN SELECT RAISE(ABORT, 'audit_event is append-only'); END""")


def upgrade() -> None:
    _trigger(SAME, PG_SAME, DETAIL, PG_DETAIL)


def downgrade() -> None:  # back to 0006's rule: the reason only
    _trigger(SAME, PG_SAME, "NEW.detail IS OLD.detail", "NEW.detail IS NOT DISTINCT FROM OLD.detail")
