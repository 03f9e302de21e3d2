"""Emergency alerts: stored with who was alerted; acknowledged and escalated exactly once.

Acknowledging and escalating are conditional UPDATEs (``… WHERE acknowledged_at IS NULL``), so of two presses,
or two workers sweeping at once, exactly one wins: on PostgreSQL the second waits on the row lock and then finds
the condition false; on SQLite every write transaction is serialised by ``BEGIN IMMEDIATE``. The sweep's
candidates are read with ``FOR UPDATE SKIP LOCKED`` on PostgreSQL, as the outbox claims its rows.
"""

from __future__ import annotations

import json
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import col, select

from domain.alerts import ESCALATE_AFTER, Alerted, AlertLevel, EmergencyAlert
from domain.staff import Role
from storage.repositories.base import Repository
from storage.tables import EmergencyAlertRow

_NAME = "emergency_alert.resident_name"
_PHONE = "emergency_alert.callback_phone"


def _waiting():
    """Conditions of an alert still waiting at the township level."""
    return (
        col(EmergencyAlertRow.level) == AlertLevel.TOWNSHIP.value,
        col(EmergencyAlertRow.acknowledged_at).is_(None),
        col(EmergencyAlertRow.escalated_at).is_(None),
    )


class EmergencyAlertRepository(Repository):
    """Store, read, acknowledge and escalate emergency alerts."""

    def add(self, a: EmergencyAlert) -> int:
        """Store a new alert and return its id."""
        c = self.uow.cipher
        row = EmergencyAlertRow(
            post_code=a.post_code, village_code=a.village_code, filed_by_staff_id=a.filed_by_staff_id,
            resident_id=a.resident_id, resident_name_enc=c.encrypt(a.resident_name, context=_NAME),
            reasons=a.reasons[:200], callback_phone_enc=c.encrypt(a.callback_phone, context=_PHONE),
            level=a.level.value, alerted=_alerted_json(a.alerted), created_at=a.created_at,
        )
        self.s.add(row)
        self.s.flush()
        assert row.id is not None
        a.id = row.id
        return row.id

    def get(self, alert_id: int) -> EmergencyAlert | None:
        """One alert, or None."""
        row = self.s.get(EmergencyAlertRow, alert_id, populate_existing=True)
        return self._load(row) if row else None

    def set_level(self, alert_id: int, level: AlertLevel, alerted: tuple[Alerted, ...]) -> None:
        """Record who is alerted now (after an escalation)."""
        self.s.execute(
            sa.update(EmergencyAlertRow).where(col(EmergencyAlertRow.id) == alert_id)
            .values(level=level.value, alerted=_alerted_json(alerted))
        )

    def acknowledge(self, alert_id: int, staff_id: int, now: datetime) -> bool:
        """Record the acknowledgement; False if it was acknowledged already."""
        res = self.s.execute(
            sa.update(EmergencyAlertRow)
            .where(col(EmergencyAlertRow.id) == alert_id, col(EmergencyAlertRow.acknowledged_at).is_(None))
            .values(acknowledged_at=now, acknowledged_by_staff_id=staff_id)
            .returning(col(EmergencyAlertRow.id))
        )
        return res.first() is not None

    def due_for_escalation(self, now: datetime, limit: int = 100) -> list[int]:
        """Alerts unanswered at the township level for ``ESCALATE_AFTER`` (skipping those another worker holds)."""
        q = (
            select(col(EmergencyAlertRow.id))
            .where(*_waiting(), col(EmergencyAlertRow.created_at) <= now - ESCALATE_AFTER)
            .order_by(col(EmergencyAlertRow.id))
            .limit(limit)
        )
        if self._pg:
            q = q.with_for_update(skip_locked=True)
        return [i for i in self.s.execute(q).scalars() if i is not None]

    def claim_escalation(self, alert_id: int, now: datetime) -> bool:
        """Mark the alert escalated, if it still waits; False if it was answered or raised meanwhile."""
        res = self.s.execute(
            sa.update(EmergencyAlertRow)
            .where(col(EmergencyAlertRow.id) == alert_id, *_waiting())
            .values(escalated_at=now)
            .returning(col(EmergencyAlertRow.id))
        )
        return res.first() is not None

    def next_escalation_at(self) -> datetime | None:
        """When the oldest waiting alert falls due for escalation, or None."""
        first = self.s.execute(select(sa.func.min(col(EmergencyAlertRow.created_at))).where(*_waiting())).scalar()
        if first is None:
            return None
        if first.tzinfo is None:  # an aggregate comes back without the column's type
            from datetime import UTC

            first = first.replace(tzinfo=UTC)
        return first + ESCALATE_AFTER

    def forget_resident(self, resident_id: int) -> None:
        """Erase a resident's name from their alerts (withdrawal of consent)."""
        self.s.execute(
            sa.update(EmergencyAlertRow).where(col(EmergencyAlertRow.resident_id) == resident_id)
            .values(resident_name_enc=None)
        )

    def _load(self, r: EmergencyAlertRow) -> EmergencyAlert:
        c = self.uow.cipher
        return EmergencyAlert(
            post_code=r.post_code, village_code=r.village_code, filed_by_staff_id=r.filed_by_staff_id,
            resident_name=c.decrypt(r.resident_name_enc, context=_NAME) or "", reasons=r.reasons,
            callback_phone=c.decrypt(r.callback_phone_enc, context=_PHONE), created_at=r.created_at,
            level=AlertLevel(r.level), alerted=tuple(
                Alerted(x["institution"], Role(x["role"]), int(x["staff"])) for x in json.loads(r.alerted or "[]")
            ),
            resident_id=r.resident_id, acknowledged_at=r.acknowledged_at,
            acknowledged_by_staff_id=r.acknowledged_by_staff_id, escalated_at=r.escalated_at, id=r.id,
        )


def _alerted_json(alerted: tuple[Alerted, ...]) -> str:
    return json.dumps([{"institution": a.institution_code, "role": a.role.value, "staff": a.staff_id}
                       for a in alerted])
