"""Circuit visits and their experts."""

from __future__ import annotations

from datetime import date

from sqlmodel import col, select

from domain.circuits import Circuit, CircuitLevel, CircuitStatus, HalfDay
from storage.repositories.base import Repository
from storage.tables import (
    CircuitExpertRow,
    CircuitRow,
)


class CircuitRepository(Repository):
    """Circuit visits and their experts."""

    def add(self, c: Circuit) -> int:
        """Store a new circuit and return its id."""
        row = CircuitRow(
            hospital_code=c.hospital_code,
            place_code=c.place_code,
            day=c.day,
            half_day=c.half_day.value,
            level=c.level.value,
            status=c.status.value,
        )
        self.s.add(row)
        self.s.flush()
        assert row.id is not None
        self.s.add_all(CircuitExpertRow(circuit_id=row.id, staff_id=e) for e in c.expert_ids)
        c.id = row.id
        return row.id

    def get(self, circuit_id: int) -> Circuit | None:
        """One circuit, or None."""
        row = self.s.get(CircuitRow, circuit_id)
        if row is None:
            return None
        experts = frozenset(
            self.s.exec(select(col(CircuitExpertRow.staff_id)).where(col(CircuitExpertRow.circuit_id) == circuit_id))
        )
        return Circuit(
            row.hospital_code,
            row.place_code,
            row.day,
            HalfDay(row.half_day),
            CircuitLevel(row.level),
            experts,
            CircuitStatus(row.status),
            row.id,
        )

    def for_expert(self, staff_id: int, from_day: date) -> list[Circuit]:
        """Circuits this expert is on, from ``from_day``, soonest first."""
        ids = self.s.exec(
            select(col(CircuitRow.id))
            .join(CircuitExpertRow, col(CircuitExpertRow.circuit_id) == col(CircuitRow.id))
            .where(col(CircuitExpertRow.staff_id) == staff_id, col(CircuitRow.day) >= from_day)
            .order_by(col(CircuitRow.day), col(CircuitRow.half_day))
        )
        return [c for i in ids if i is not None and (c := self.get(i)) is not None]
