"""Emergency alerts: a suspected emergency reported by a village doctor, and who must answer it.

The alert goes to the township center's reviewers; if none can be reached, or none acknowledges within
``ESCALATE_AFTER``, to the reviewers of the hospitals that support the center. Only someone holding the alerted
role at an alerted institution may acknowledge it, once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from domain.staff import Role, Staff

ESCALATE_AFTER = timedelta(minutes=10)


class AlertLevel(StrEnum):
    """Who was alerted last: the township center, the supporting hospital, or nobody."""

    TOWNSHIP = "township"
    HOSPITAL = "hospital"
    NONE = "none"

    @property
    def role(self) -> Role | None:
        """The role alerted at this level."""
        return {AlertLevel.TOWNSHIP: Role.TOWNSHIP_REVIEWER, AlertLevel.HOSPITAL: Role.HOSPITAL_REVIEWER}.get(self)


@dataclass(frozen=True, slots=True)
class Alerted:
    """One person alerted: at which institution, in which role."""

    institution_code: str
    role: Role
    staff_id: int


@dataclass(slots=True)
class EmergencyAlert:
    """One suspected emergency and what became of the alert."""

    post_code: str
    village_code: str
    filed_by_staff_id: int
    resident_name: str
    reasons: str
    callback_phone: str | None
    created_at: datetime
    level: AlertLevel = AlertLevel.NONE
    alerted: tuple[Alerted, ...] = ()
    resident_id: int | None = None
    acknowledged_at: datetime | None = None
    acknowledged_by_staff_id: int | None = None
    escalated_at: datetime | None = None
    id: int | None = None

    def may_acknowledge(self, staff: Staff) -> bool:
        """True if ``staff`` holds an alerted role at an alerted institution (and is active)."""
        return staff.active and any(
            a.institution_code == staff.institution_code and a.role in staff.roles for a in self.alerted
        )

    def due_for_escalation(self, now: datetime) -> bool:
        """Unanswered at the township level for ``ESCALATE_AFTER``, and not raised yet."""
        return (
            self.level is AlertLevel.TOWNSHIP
            and self.acknowledged_at is None
            and self.escalated_at is None
            and now - self.created_at >= ESCALATE_AFTER
        )
