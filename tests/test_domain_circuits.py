"""The circuit state machine: every legal transition, every illegal one, and what a move keeps."""

from __future__ import annotations

from datetime import date

import pytest

from domain.circuits import (
    CIRCUIT_TRANSITIONS,
    Circuit,
    CircuitAction,
    CircuitLevel,
    CircuitStatus,
    HalfDay,
    IllegalCircuitTransition,
)
from domain.errors import IllegalTransition

DAY = date(2026, 12, 4)


def circuit(status: CircuitStatus = CircuitStatus.PLANNED) -> Circuit:
    return Circuit("CH350421", "350421101", DAY, HalfDay.AM, CircuitLevel.TOWNSHIP, frozenset({3}), status, 7)


def act(c: Circuit, action: CircuitAction) -> Circuit:
    if action is CircuitAction.MOVE:
        return c.moved(date(2026, 12, 8), HalfDay.PM, "350421101002")
    if action is CircuitAction.CANCEL:
        return c.cancelled()
    return c.completed()


def test_every_status_is_reachable_and_only_a_planned_circuit_changes():
    targets = {target for _, target in CIRCUIT_TRANSITIONS.values()}
    assert targets | {CircuitStatus.PLANNED} == set(CircuitStatus)
    assert all(sources == {CircuitStatus.PLANNED} for sources, _ in CIRCUIT_TRANSITIONS.values())


@pytest.mark.parametrize("action", list(CircuitAction))
def test_a_planned_circuit_may_be_moved_cancelled_or_completed(action):
    before = circuit()
    after = act(before, action)
    assert after.status is CIRCUIT_TRANSITIONS[action][1]
    assert before.status is CircuitStatus.PLANNED  # the old value stays as it was, for the change notice
    assert (after.id, after.hospital_code, after.expert_ids) == (before.id, before.hospital_code, before.expert_ids)


@pytest.mark.parametrize("status", [CircuitStatus.CANCELLED, CircuitStatus.DONE])
@pytest.mark.parametrize("action", list(CircuitAction))
def test_a_cancelled_or_held_circuit_cannot_change_any_more(status, action):
    c = circuit(status)
    assert not c.can(action)
    with pytest.raises(IllegalCircuitTransition) as e:
        act(c, action)
    assert isinstance(e.value, IllegalTransition)
    assert e.value.key == "circuit.illegal_transition"
    assert e.value.params == {"id": 7, "action": action.value, "status": status.value}


def test_a_move_changes_only_the_slot():
    after = circuit().moved(date(2026, 12, 8), HalfDay.PM, "350421101002")
    assert (after.day, after.half_day, after.place_code) == (date(2026, 12, 8), HalfDay.PM, "350421101002")
    assert after.level is CircuitLevel.TOWNSHIP and after.status is CircuitStatus.PLANNED
