"""The append-only audit log."""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa
from sqlmodel import col, select

from domain.orders import (
    AuditEvent,
)
from domain.privacy import mask_free_text
from storage.repositories.base import Repository
from storage.tables import (
    AuditRow,
    OrderRow,
)

_AUDIT_INSERT = AuditRow.__table__.insert()  # type: ignore[attr-defined]


class AuditRepository(Repository):
    """The append-only audit log.

    Events are written in one batch when the unit of work commits (a list of fifteen residents' orders is
    fifteen access events), and before anything reads or redacts the log in the same unit of work.
    """

    def __init__(self, uow: Any):
        super().__init__(uow)
        self._pending: list[dict[str, Any]] = []

    def write(self) -> None:
        """Insert the events appended so far."""
        if self._pending:
            rows, self._pending = self._pending, []
            self.c.execute(_AUDIT_INSERT, rows)

    def discard(self) -> None:
        """After a rollback: the events of the discarded work go with it."""
        self._pending.clear()

    def append(self, e: AuditEvent) -> None:
        """Add one event (it is written with the rest of the transaction)."""
        self._pending.append(
            {
                "at": e.at,
                "actor_staff_id": e.actor_staff_id,
                "actor_role": e.actor_role,
                "action": e.action,
                "entity": e.entity,
                "entity_id": e.entity_id,
                "from_status": e.from_status,
                "to_status": e.to_status,
                "reason": mask_free_text(e.reason),
                "detail": json.dumps(_masked_detail(e.detail), ensure_ascii=False, default=str),
            }
        )

    def for_entity(self, entity: str, entity_id: str) -> list[AuditEvent]:
        """Every event about one record, oldest first."""
        self.write()
        self.s.flush()
        rows = self.s.exec(
            select(AuditRow)
            .where(col(AuditRow.entity) == entity, col(AuditRow.entity_id) == entity_id)
            .order_by(col(AuditRow.id))
        )
        return [_event(r) for r in rows]

    def for_resident(self, resident_id: int) -> list[AuditEvent]:
        """Every event about a resident or their orders, oldest first (who read or changed what)."""
        self.write()
        self.s.flush()
        numbers = select(OrderRow.number).where(col(OrderRow.resident_id) == resident_id)
        q = select(AuditRow).where(
            sa.or_(
                sa.and_(col(AuditRow.entity) == "resident", col(AuditRow.entity_id) == str(resident_id)),
                sa.and_(col(AuditRow.entity) == "order", col(AuditRow.entity_id).in_(numbers)),
            )
        )
        return [_event(r) for r in self.s.exec(q.order_by(col(AuditRow.id)))]

    def recent(self, limit: int = 50, action: str | None = None) -> list[AuditEvent]:
        """The latest events, newest first."""
        self.write()
        self.s.flush()
        q = select(AuditRow)
        if action:
            q = q.where(col(AuditRow.action) == action)
        return [_event(r) for r in self.s.exec(q.order_by(col(AuditRow.id).desc()).limit(limit))]


def _masked_detail(detail: dict[str, object]) -> dict[str, object]:
    """An audit event's detail as stored: a free-text note in it is masked like the order's own fields."""
    note = detail.get("note")
    return {**detail, "note": mask_free_text(note)} if isinstance(note, str) and note else detail


def _event(r: AuditRow) -> AuditEvent:
    return AuditEvent(
        r.actor_staff_id,
        r.actor_role,
        r.action,
        r.entity,
        r.entity_id,
        r.from_status,
        r.to_status,
        r.reason,
        r.at,
        json.loads(r.detail),
    )
