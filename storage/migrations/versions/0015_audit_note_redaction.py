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
BLANKED = (f"(json_type(OLD.detail, '$.note') IS NOT NULL"
           f" AND NEW.detail IS json_set(OLD.detail, '$.note', '{MARKER}'))")
PG_BLANKED = (f"(OLD.detail::jsonb ? 'note' AND NEW.detail = "
              f"jsonb_set(OLD.detail::jsonb, '{{note}}', to_jsonb('{MARKER}'::text))::text)")
# Allowed: the reason becomes the marker (the detail as it was, or its note blanked), or an event that had no reason
# keeps none and only its note is blanked (so the trail never shows a reason deleted where none was given).
ALLOWED = (f"{SAME} AND ((NEW.reason IS '{MARKER}' AND (NEW.detail IS OLD.detail OR {BLANKED}))"
           f" OR (OLD.reason IS NULL AND NEW.reason IS NULL AND {BLANKED}))")
PG_ALLOWED = (f"{PG_SAME} AND ((NEW.reason IS NOT DISTINCT FROM '{MARKER}' AND "
              f"(NEW.detail IS NOT DISTINCT FROM OLD.detail OR {PG_BLANKED}))"
              f" OR (OLD.reason IS NULL AND NEW.reason IS NULL AND {PG_BLANKED}))")


def _trigger(allowed: str, pg_allowed: str) -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"""CREATE OR REPLACE FUNCTION audit_event_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
              IF TG_OP = 'UPDATE' AND {pg_allowed} THEN
                RETURN NEW;
              END IF;
              RAISE EXCEPTION 'audit_event is append-only';
            END $$""")
    else:
        op.execute("DROP TRIGGER audit_event_no_update")
        op.execute(f"""CREATE TRIGGER audit_event_no_update BEFORE UPDATE ON audit_event
            WHEN NOT ({allowed})
            BEGIN SELECT RAISE(ABORT, 'audit_event is append-only'); END""")


def upgrade() -> None:
    _trigger(ALLOWED, PG_ALLOWED)


def downgrade() -> None:  # back to 0006's rule: the reason only
    _trigger(f"NEW.reason IS '{MARKER}' AND {SAME} AND NEW.detail IS OLD.detail",
             f"NEW.reason = '{MARKER}' AND {PG_SAME} AND NEW.detail IS NOT DISTINCT FROM OLD.detail")
