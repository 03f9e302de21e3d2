"""Circuit visits (巡诊): experts at a place on a date and half-day."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from enum import StrEnum

from domain.errors import IllegalTransition


class HalfDay(StrEnum):
    """Morning or afternoon session."""

    AM = "am"
    PM = "pm"


class CircuitLevel(StrEnum):
    """Who leads the circuit and how far down it goes."""

    COUNTY = "county"
    TOWNSHIP = "township"
    VILLAGE = "village"
    MOBILE = "mobile"  # the mobile hospital visiting a remote village


class CircuitStatus(StrEnum):
    """Lifecycle of a circuit."""

    PLANNED = "planned"
    DONE = "done"
    CANCELLED = "cancelled"


class CircuitAction(StrEnum):
    """Everything that can happen to a circuit once it is planned; each is one explicit transition."""

    MOVE = "move"  # another day, half-day or place: still planned
    CANCEL = "cancel"
    COMPLETE = "complete"


C = CircuitStatus
# The whole state machine: action -> (states it may start from, state it leads to).
CIRCUIT_TRANSITIONS: dict[CircuitAction, tuple[frozenset[CircuitStatus], CircuitStatus]] = {
    CircuitAction.MOVE: (frozenset({C.PLANNED}), C.PLANNED),
    CircuitAction.CANCEL: (frozenset({C.PLANNED}), C.CANCELLED),
    CircuitAction.COMPLETE: (frozenset({C.PLANNED}), C.DONE),
}


class IllegalCircuitTransition(IllegalTransition):
    """A circuit was asked to move to a state it cannot reach from where it is."""


@dataclass(slots=True)
class Circuit:
    """One visit by one or more experts from a supporting hospital."""

    hospital_code: str
    place_code: str
    day: date
    half_day: HalfDay
    level: CircuitLevel
    expert_ids: frozenset[int]
    status: CircuitStatus = CircuitStatus.PLANNED
    id: int | None = None

    def has_expert(self, staff_id: int | None) -> bool:
        """True if ``staff_id`` is one of the experts on this circuit."""
        return staff_id is not None and staff_id in self.expert_ids

    def can(self, action: CircuitAction) -> bool:
        """True if ``action`` is legal from the current status."""
        sources, _ = CIRCUIT_TRANSITIONS[action]
        return self.status in sources

    def _after(self, action: CircuitAction) -> CircuitStatus:
        sources, target = CIRCUIT_TRANSITIONS[action]
        if self.status not in sources:
            raise IllegalCircuitTransition("circuit.illegal_transition", id=self.id, action=action.value,
                                           status=self.status.value)
        return target

    def moved(self, day: date, half_day: HalfDay, place_code: str) -> Circuit:
        """The same circuit at another slot (a new value: the old one is still needed for the update notice)."""
        return replace(self, day=day, half_day=half_day, place_code=place_code,
                       status=self._after(CircuitAction.MOVE))

    def cancelled(self) -> Circuit:
        """The same circuit, cancelled (a new value, as for ``moved``)."""
        return replace(self, status=self._after(CircuitAction.CANCEL))

    def completed(self) -> Circuit:
        """The same circuit, held (a new value, as for ``moved``)."""
        return replace(self, status=self._after(CircuitAction.COMPLETE))


def month_day(d: date) -> str:
    """A date as every message writes it: "1月5日" (never "01月05日")."""
    return f"{d.month}月{d.day}日"


def year_month_day(d: date) -> str:
    """A date with its year, written the same way: "2026年1月5日"."""
    return f"{d.year}年{month_day(d)}"
