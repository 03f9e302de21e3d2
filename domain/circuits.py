"""Circuit visits (巡诊): experts at a place on a date and half-day."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum


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
