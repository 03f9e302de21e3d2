"""Permissions are domain rules: who may act on which order, including every negative case."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from domain.circuits import Circuit, CircuitLevel, HalfDay
from domain.errors import PermissionDenied
from domain.orders import Action, Order
from domain.permissions import Jurisdiction, authorize_filing, authorize_order_action, may_configure
from domain.places import Institution, InstitutionKind
from domain.staff import Role, Staff, TitleLevel
from domain.support import SupportNetwork, SupportRelation

TODAY = date(2026, 11, 23)
NOW = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
K = InstitutionKind

INSTITUTIONS = [
    Institution("P1", "福建省第二人民医院", K.PROVINCIAL_HOSPITAL, "350102"),
    Institution("H1", "三明市第一医院", K.CITY_HOSPITAL, "350400"),
    Institution("CH_MX", "明溪县总医院", K.COUNTY_HOSPITAL, "350421"),
    Institution("CH_NH", "宁化县总医院", K.COUNTY_HOSPITAL, "350424"),
    Institution("TC_XF", "雪峰镇卫生院", K.TOWNSHIP_CENTER, "T_XF"),
    Institution("TC_GY", "盖洋镇卫生院", K.TOWNSHIP_CENTER, "T_GY"),
    Institution("VP_A", "A村卫生所", K.VILLAGE_POST, "V_A"),
    Institution("VP_B", "B村卫生所", K.VILLAGE_POST, "V_B"),
    Institution("VP_C", "C村卫生所", K.VILLAGE_POST, "V_C"),
]
START = date(2023, 1, 1)
RELATIONS = [
    SupportRelation("P1", "CH_MX", START),
    SupportRelation("H1", "CH_MX", START, end=date(2025, 12, 31)),  # ended last year
    SupportRelation("CH_MX", "TC_XF", START),
    SupportRelation("CH_MX", "TC_GY", START),
    SupportRelation("TC_XF", "VP_A", START),
    SupportRelation("TC_XF", "VP_B", START),
    SupportRelation("TC_GY", "VP_C", START),
]
J = Jurisdiction.build(INSTITUTIONS, SupportNetwork(RELATIONS))


def person(pid: int, inst: str, *roles: Role) -> Staff:
    return Staff(
        code=f"S{pid}",
        name=f"人{pid}",
        institution_code=inst,
        title=TitleLevel.INTERMEDIATE,
        roles=frozenset(roles),
        id=pid,
    )


DOCTOR_A = person(1, "VP_A", Role.VILLAGE_DOCTOR)
DOCTOR_B = person(2, "VP_B", Role.VILLAGE_DOCTOR)
XF_REVIEWER = person(3, "TC_XF", Role.TOWNSHIP_REVIEWER)
GY_REVIEWER = person(4, "TC_GY", Role.TOWNSHIP_REVIEWER)
MX_REVIEWER = person(5, "CH_MX", Role.HOSPITAL_REVIEWER, Role.EXPERT)
NH_REVIEWER = person(6, "CH_NH", Role.HOSPITAL_REVIEWER)
P1_REVIEWER = person(7, "P1", Role.HOSPITAL_REVIEWER)
H1_REVIEWER = person(8, "H1", Role.HOSPITAL_REVIEWER)
EXPERT_ON = person(9, "CH_MX", Role.EXPERT)
EXPERT_OFF = person(10, "CH_MX", Role.EXPERT)
ADMIN = person(11, "CH_MX", Role.ADMIN, Role.HOSPITAL_REVIEWER)
ONLY_ADMIN = person(12, "CH_MX", Role.ADMIN)

CIRCUIT = Circuit("CH_MX", "T_XF", date(2026, 12, 3), HalfDay.AM, CircuitLevel.TOWNSHIP, frozenset({9}), id=70)


def order_at(post: str, circuit_id: int | None = None) -> Order:
    o = Order.file(resident_id=1, post_code=post, village_code="V", filed_by_staff_id=1, need_text="头晕", now=NOW)
    o.circuit_id = circuit_id
    return o


def allowed(actor, role, action, order, circuit=None) -> bool:
    try:
        authorize_order_action(actor, role, action, order, J, TODAY, circuit)
        return True
    except PermissionDenied:
        return False


def test_village_doctor_acts_only_on_orders_of_their_own_post():
    assert allowed(DOCTOR_A, Role.VILLAGE_DOCTOR, Action.CANCEL, order_at("VP_A"))
    assert not allowed(DOCTOR_B, Role.VILLAGE_DOCTOR, Action.CANCEL, order_at("VP_A"))
    authorize_filing(DOCTOR_A, "VP_A")
    with pytest.raises(PermissionDenied, match="not_your_post"):
        authorize_filing(DOCTOR_A, "VP_B")


def test_village_doctor_cannot_approve():
    assert not allowed(DOCTOR_A, Role.VILLAGE_DOCTOR, Action.TOWNSHIP_APPROVE, order_at("VP_A"))


def test_township_reviewer_acts_on_villages_under_their_township():
    assert allowed(XF_REVIEWER, Role.TOWNSHIP_REVIEWER, Action.TOWNSHIP_APPROVE, order_at("VP_A"))
    assert allowed(XF_REVIEWER, Role.TOWNSHIP_REVIEWER, Action.TOWNSHIP_APPROVE, order_at("VP_B"))


def test_township_cannot_approve_an_order_from_another_township():
    with pytest.raises(PermissionDenied, match="outside_township"):
        authorize_order_action(XF_REVIEWER, Role.TOWNSHIP_REVIEWER, Action.TOWNSHIP_APPROVE, order_at("VP_C"), J, TODAY)
    assert allowed(GY_REVIEWER, Role.TOWNSHIP_REVIEWER, Action.TOWNSHIP_APPROVE, order_at("VP_C"))


def test_township_reviewer_cannot_give_a_hospital_disposition():
    assert not allowed(XF_REVIEWER, Role.TOWNSHIP_REVIEWER, Action.DISPOSE_CIRCUIT, order_at("VP_A"))


def test_hospital_reviewer_acts_on_institutions_their_hospital_supports_down_the_chain():
    assert allowed(MX_REVIEWER, Role.HOSPITAL_REVIEWER, Action.DISPOSE_CIRCUIT, order_at("VP_C"))
    assert allowed(P1_REVIEWER, Role.HOSPITAL_REVIEWER, Action.DISPOSE_REMOTE, order_at("VP_A"))


def test_an_unsupported_hospital_cannot_dispose():
    with pytest.raises(PermissionDenied, match="not_supported"):
        authorize_order_action(NH_REVIEWER, Role.HOSPITAL_REVIEWER, Action.DISPOSE_CIRCUIT, order_at("VP_A"), J, TODAY)


def test_an_ended_support_relation_no_longer_grants_review():
    assert not allowed(H1_REVIEWER, Role.HOSPITAL_REVIEWER, Action.DISPOSE_LOCAL, order_at("VP_A"))
    assert J.network.supports("H1", "VP_A", date(2025, 6, 1))


def test_hospital_reviewer_cannot_do_the_township_review():
    assert not allowed(MX_REVIEWER, Role.HOSPITAL_REVIEWER, Action.TOWNSHIP_APPROVE, order_at("VP_A"))


HELD = Circuit("CH_MX", "T_XF", TODAY, HalfDay.AM, CircuitLevel.TOWNSHIP, frozenset({9}), id=70)  # held today


def test_expert_acts_only_on_circuits_they_are_assigned_to():
    # Issue 15: an outcome is recorded once the circuit has happened (CIRCUIT, dated later, is refused below).
    on_circuit = order_at("VP_A", circuit_id=70)
    assert allowed(EXPERT_ON, Role.EXPERT, Action.MARK_SERVED, on_circuit, HELD)
    with pytest.raises(PermissionDenied, match="not_on_circuit"):
        authorize_order_action(EXPERT_OFF, Role.EXPERT, Action.MARK_SERVED, on_circuit, J, TODAY, CIRCUIT)


def test_an_expert_cannot_record_an_outcome_on_a_circuit_dated_later():
    on_circuit = order_at("VP_A", circuit_id=70)
    for action in (Action.MARK_SERVED, Action.MARK_NO_SHOW):
        with pytest.raises(PermissionDenied, match="circuit_not_held"):
            authorize_order_action(EXPERT_ON, Role.EXPERT, action, on_circuit, J, TODAY, CIRCUIT)


def test_expert_cannot_act_on_an_order_of_another_circuit():
    other = order_at("VP_A", circuit_id=71)
    assert not allowed(EXPERT_ON, Role.EXPERT, Action.MARK_NO_SHOW, other, CIRCUIT)


def test_a_role_the_person_does_not_hold_is_refused():
    with pytest.raises(PermissionDenied, match="role_missing"):
        authorize_order_action(EXPERT_ON, Role.HOSPITAL_REVIEWER, Action.DISPOSE_CIRCUIT, order_at("VP_A"), J, TODAY)


def test_one_person_may_hold_several_roles():
    assert allowed(MX_REVIEWER, Role.HOSPITAL_REVIEWER, Action.DISPOSE_CIRCUIT, order_at("VP_A"))
    assert not allowed(MX_REVIEWER, Role.EXPERT, Action.MARK_SERVED, order_at("VP_A", 70), CIRCUIT)


def test_administrators_configure_but_do_not_approve():
    assert may_configure(ONLY_ADMIN)
    assert not may_configure(MX_REVIEWER)
    with pytest.raises(PermissionDenied, match="admin_cannot_review"):
        authorize_order_action(ONLY_ADMIN, Role.ADMIN, Action.DISPOSE_CIRCUIT, order_at("VP_A"), J, TODAY)


def test_a_deactivated_person_can_do_nothing():
    gone = person(13, "TC_XF", Role.TOWNSHIP_REVIEWER)
    gone.active = False
    assert not allowed(gone, Role.TOWNSHIP_REVIEWER, Action.TOWNSHIP_APPROVE, order_at("VP_A"))


def test_scheduling_needs_the_hospital_that_runs_the_circuit():
    o = order_at("VP_A")
    assert allowed(MX_REVIEWER, Role.HOSPITAL_REVIEWER, Action.SCHEDULE, o, CIRCUIT)
    # 福建省第二人民医院 supports the order's post but does not run this circuit.
    with pytest.raises(PermissionDenied, match="not_your_circuit"):
        authorize_order_action(P1_REVIEWER, Role.HOSPITAL_REVIEWER, Action.SCHEDULE, o, J, TODAY, CIRCUIT)
