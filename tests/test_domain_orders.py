"""The order state machine: every legal transition, every illegal one."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from domain.errors import DomainError, IllegalTransition
from domain.orders import (
    OPEN_STATUSES,
    TRANSITIONS,
    Action,
    Disposition,
    Order,
    OrderStatus,
    order_number,
)
from domain.staff import Role

NOW = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
S = OrderStatus

# How to reach each status from a fresh order (a path of legal actions).
PATHS: dict[OrderStatus, list[Action]] = {
    S.SUBMITTED: [],
    S.RETURNED: [Action.TOWNSHIP_RETURN],
    S.TOWNSHIP_APPROVED: [Action.TOWNSHIP_APPROVE],
    S.REJECTED: [Action.TOWNSHIP_REJECT],
    S.MERGED: [Action.TOWNSHIP_MERGE],
    S.AWAITING_CIRCUIT: [Action.TOWNSHIP_APPROVE, Action.DISPOSE_CIRCUIT],
    S.REMOTE_CONSULT: [Action.TOWNSHIP_APPROVE, Action.DISPOSE_REMOTE],
    S.REFERRED_UP: [Action.TOWNSHIP_APPROVE, Action.DISPOSE_REFER_UP],
    S.HANDLED_LOCALLY: [Action.TOWNSHIP_APPROVE, Action.DISPOSE_LOCAL],
    S.SCHEDULED: [Action.TOWNSHIP_APPROVE, Action.DISPOSE_CIRCUIT, Action.SCHEDULE],
    S.SERVED: [Action.TOWNSHIP_APPROVE, Action.DISPOSE_CIRCUIT, Action.SCHEDULE, Action.MARK_SERVED],
    S.NO_SHOW: [Action.TOWNSHIP_APPROVE, Action.DISPOSE_CIRCUIT, Action.SCHEDULE, Action.MARK_NO_SHOW],
    S.CANCELLED: [Action.CANCEL],
}

ARGS = {"reason": "原因", "circuit_id": 7, "merged_into_id": 99, "expert_id": 5}


def fresh() -> Order:
    o = Order.file(
        resident_id=1,
        post_code="VP1",
        village_code="V1",
        filed_by_staff_id=1,
        need_text="腰杆疼得直不起来",
        now=NOW,
        suggested_specialty="04.03",
    )
    o.id = 42
    o.number = "XZ-20261123-0001"
    return o


def reach(status: OrderStatus) -> Order:
    o = fresh()
    for a in PATHS[status]:
        o.apply(a, actor_staff_id=2, actor_role=Role.TOWNSHIP_REVIEWER, now=NOW, **ARGS)
    assert o.status is status
    return o


def test_every_status_is_reachable():
    assert set(PATHS) == set(OrderStatus)


LEGAL = [(a, src) for a, (sources, _) in TRANSITIONS.items() for src in sorted(sources)]
ILLEGAL = [(a, src) for a, (sources, _) in TRANSITIONS.items() for src in OrderStatus if src not in sources]


@pytest.mark.parametrize(("action", "source"), LEGAL, ids=lambda v: str(v))
def test_legal_transition_moves_and_is_audited(action, source):
    o = reach(source)
    event = o.apply(action, actor_staff_id=3, actor_role=Role.HOSPITAL_REVIEWER, now=NOW, **ARGS)
    assert o.status is TRANSITIONS[action][1]
    assert (event.from_status, event.to_status, event.action) == (source.value, o.status.value, action.value)
    assert event.actor_staff_id == 3 and event.actor_role == "hospital_reviewer" and event.at == NOW
    assert event.entity_id == "XZ-20261123-0001"
    assert o.events[-1] is event


@pytest.mark.parametrize(("action", "source"), ILLEGAL, ids=lambda v: str(v))
def test_illegal_transition_raises_and_changes_nothing(action, source):
    o = reach(source)
    events_before = len(o.events)
    with pytest.raises(IllegalTransition) as err:
        o.apply(action, actor_staff_id=3, actor_role=Role.HOSPITAL_REVIEWER, now=NOW, **ARGS)
    assert err.value.key == "order.illegal_transition"
    assert o.status is source and len(o.events) == events_before


def test_final_states_cannot_be_cancelled():
    for status in set(OrderStatus) - OPEN_STATUSES:
        with pytest.raises(IllegalTransition):
            reach(status).apply(
                Action.CANCEL, actor_staff_id=1, actor_role=Role.VILLAGE_DOCTOR, now=NOW, reason="不需要了"
            )


@pytest.mark.parametrize("action", [Action.TOWNSHIP_RETURN, Action.TOWNSHIP_REJECT, Action.CANCEL])
def test_reject_return_and_cancel_need_a_reason(action):
    o = fresh()
    with pytest.raises(DomainError, match=r"order\.reason\.empty"):
        o.apply(action, actor_staff_id=2, actor_role=Role.TOWNSHIP_REVIEWER, now=NOW, reason="  ")
    assert o.status is S.SUBMITTED


def test_return_keeps_the_question_and_resubmission_the_answer():
    o = fresh()
    o.apply(Action.TOWNSHIP_RETURN, actor_staff_id=2, actor_role=Role.TOWNSHIP_REVIEWER, now=NOW, reason="疼了多久？")
    o.apply(Action.RESUBMIT, actor_staff_id=1, actor_role=Role.VILLAGE_DOCTOR, now=NOW, reason="三个月")
    assert (o.status, o.question, o.answer) == (S.SUBMITTED, "疼了多久？", "三个月")


def test_hospital_disposition_records_the_expert():
    o = reach(S.TOWNSHIP_APPROVED)
    o.apply(Action.DISPOSE_CIRCUIT, actor_staff_id=9, actor_role=Role.HOSPITAL_REVIEWER, now=NOW, expert_id=12)
    assert (o.disposition, o.assigned_expert_id) == (Disposition.CIRCUIT, 12)


def test_unscheduling_returns_the_order_to_the_waiting_list():
    o = reach(S.SCHEDULED)
    o.apply(Action.UNSCHEDULE, actor_staff_id=9, actor_role=Role.HOSPITAL_REVIEWER, now=NOW)
    assert (o.status, o.circuit_id) == (S.AWAITING_CIRCUIT, None)


def test_an_order_cannot_be_merged_into_itself():
    o = fresh()
    with pytest.raises(DomainError, match="merge_into_self"):
        o.apply(Action.TOWNSHIP_MERGE, actor_staff_id=2, actor_role=Role.TOWNSHIP_REVIEWER, now=NOW, merged_into_id=42)


def test_need_text_is_checked():
    with pytest.raises(DomainError, match=r"order\.need\.empty"):
        Order.file(resident_id=1, post_code="P", village_code="V", filed_by_staff_id=1, need_text="", now=NOW)
    with pytest.raises(DomainError, match=r"order\.need\.too_long"):
        Order.file(resident_id=1, post_code="P", village_code="V", filed_by_staff_id=1, need_text="疼" * 5000, now=NOW)


def test_need_can_be_edited_only_before_the_township_decides():
    o = fresh()
    o.edit_need("腰疼三个月", actor_staff_id=1, now=NOW, specialty="04.03")
    assert o.need_text == "腰疼三个月"
    o = reach(S.TOWNSHIP_APPROVED)
    with pytest.raises(IllegalTransition, match="not_editable"):
        o.edit_need("改", actor_staff_id=1, now=NOW)


def test_order_numbers_are_human_readable():
    from datetime import date

    assert order_number(date(2026, 11, 23), 7) == "XZ-20261123-0007"
