"""The circuit and order services called directly, as the command line and the dashboard call them."""

from __future__ import annotations

import pytest

from domain.circuits import CircuitStatus
from domain.errors import DomainError
from domain.orders import Action, OrderStatus
from domain.staff import Role
from handlers.services import Actor, queue
from handlers.services.circuits import add_order, cancel_circuit, schedule_order
from handlers.services.orders import decide
from tests.circuits.circuit_helpers import add_account, make_circuit, scheduled_order
from tests.conftest import FIXED_NOW


def reviewer(uow) -> Actor:
    st = uow.staff.by_code("S0002")  # 明溪县总医院's hospital reviewer
    return Actor(st, Role.HOSPITAL_REVIEWER, uow.reference.jurisdiction(), {"via": "test"})


def test_scheduling_an_order_tells_its_doctor_and_resident_and_a_second_time_tells_nobody(seeded_uow):
    with seeded_uow() as uow:
        c = make_circuit(uow)
        o = scheduled_order(uow, None, FIXED_NOW)
        add_account(uow, "telegram", "9001", FIXED_NOW, staff="S0006")
        add_account(uow, "telegram", "9002", FIXED_NOW, resident_id=o.resident_id)
        first = schedule_order(uow, reviewer(uow), FIXED_NOW, o.id, c)
        again = add_order(uow, reviewer(uow), FIXED_NOW, c.id, o.id)
        assert first.decided.done and first.decided.order.status is OrderStatus.SCHEDULED
        assert [(n.account.platform_user_id, n.personal) for n in first.notices] == [("9001", False), ("9002", True)]
        assert again.decided.refused == "already_decided" and again.notices == []
        assert queue(uow, first.notices, FIXED_NOW) == 2
        assert queue(uow, first.notices, FIXED_NOW) == 0  # the same event, the same recipients: queued once
        refusals = [e for e in uow.audit.for_entity("order", o.entity_id) if e.action == "refused"]
        assert refusals and refusals[-1].reason == "already_decided" and refusals[-1].detail["via"] == "test"


def test_a_decision_on_a_card_that_changed_since_is_refused(seeded_uow):
    with seeded_uow() as uow:
        c = make_circuit(uow)
        o = scheduled_order(uow, None, FIXED_NOW)
        d = decide(uow, reviewer(uow), FIXED_NOW, o.id, Action.SCHEDULE, shown=o.version - 1, circuit_id=c.id)
        assert d.refused == "order_changed" and uow.orders.get(o.id).status is OrderStatus.AWAITING_CIRCUIT


def test_a_cancelled_circuit_cannot_be_cancelled_again(seeded_uow):
    with seeded_uow() as uow:
        c = make_circuit(uow)
        o = scheduled_order(uow, c, FIXED_NOW)
        done = cancel_circuit(uow, reviewer(uow), FIXED_NOW, c.id)
        assert done.circuit.status is CircuitStatus.CANCELLED and done.order_ids == [o.id]
        assert uow.circuits.get(c.id).status is CircuitStatus.CANCELLED
        with pytest.raises(DomainError) as e:
            cancel_circuit(uow, reviewer(uow), FIXED_NOW, c.id)
        assert e.value.key == "plan.not_planned"
